import Foundation
import QEMU
import UpdraftCore

extension QEMUDriver {
    /// Creates the root disk overlay (grown to the flavor's root disk) unless `rootOnVolume`,
    /// copies a kernel and ramdisk into the instance directory, builds the config drive, and
    /// returns the record to boot with (not yet written), `spec`'s volumes at their slots.
    func createDisks(for spec: InstanceSpec, files: InstanceFiles, rootOnVolume: Bool) async throws -> InstanceRecord {
        var base: (path: String, format: QEMU.MachineConfiguration.Disk.Format)?
        if !rootOnVolume {
            guard let image = spec.image else {
                throw HypervisorError.invalidState("instance \(spec.id) has neither an image nor a root volume to boot from")
            }
            let img = try QEMU.Img(binary: configuration.qemuImgBinary)
            let (cached, baseSize) = try await baseImage(image)
            let wanted = Int64(spec.rootGB) << 30
            try await img.createOverlay(
                base: cached.path, baseFormat: cached.format, path: files.disk, sizeBytes: wanted > baseSize ? wanted : nil)
            base = (cached.path, cached.format)
        }
        if let kernel = spec.image?.kernelPath {
            try FileManager.default.copyItem(atPath: kernel, toPath: files.kernel)
        }
        if let ramdisk = spec.image?.ramdiskPath {
            try FileManager.default.copyItem(atPath: ramdisk, toPath: files.ramdisk)
        }
        if spec.configDrive {
            try await buildConfigDrive(spec, files: files)
        }
        return InstanceRecord(
            id: spec.id, name: spec.metadata.name, vcpus: spec.vcpus, memoryMB: spec.memoryMB, rootGB: spec.rootGB,
            imageID: spec.image?.id, basePath: base?.path, baseFormat: base?.format.rawValue,
            hasKernel: spec.image?.kernelPath != nil, hasRamdisk: spec.image?.ramdiskPath != nil,
            commandLine: spec.image?.commandLine, hasConfigDrive: spec.configDrive, websocketPort: nil, nics: spec.nics,
            volumes: try slotted(spec.volumes, recorded: [], rootSlotFree: rootOnVolume),
            guestAgent: spec.guestAgent ? true : nil)
    }

    /// The cached base for `image`, from the image cache in `DATA/cache/base` that volumes made
    /// from images share (``QEMU/BaseImageCache``): converted once per image id, its declared
    /// format never probed, with its virtual size (read once). Every instance of the image shares
    /// it; nothing is copied per instance.
    func baseImage(_ image: InstanceSpec.BootImage) async throws -> (QEMU.BaseImageCache.Base, virtualSize: Int64) {
        let cache: QEMU.BaseImageCache
        if let made = baseCache {
            cache = made
        } else {
            cache = QEMU.BaseImageCache(
                directory: configuration.imageCacheDirectory, img: try QEMU.Img(binary: configuration.qemuImgBinary))
            baseCache = cache
        }
        do {
            let base = try await cache.base(imageID: image.id, path: image.path, diskFormat: image.diskFormat)
            return (base, try await cache.virtualSize(of: base))
        } catch QEMU.Error.invalidConfiguration(let why) {
            throw HypervisorError.failed(why)
        }
    }

    /// Writes the config drive tree into a scratch directory and packs it into `disk.config`.
    func buildConfigDrive(_ spec: InstanceSpec, files: InstanceFiles) async throws {
        let scratch = files.directory + "/config-drive"
        try? FileManager.default.removeItem(atPath: scratch)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for (name, data) in try InstanceMetadata(spec).openStackFiles() {
            let relativePath = "openstack/latest/" + name
            let url = URL(fileURLWithPath: scratch + "/" + relativePath)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        try await QEMU.ConfigDrive(binary: configuration.genisoimageBinary).build(from: scratch, to: files.configDrive)
    }
}
