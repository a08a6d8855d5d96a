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
            let cached = try await baseImage(image)
            let baseSize = try await img.info(path: cached.path, format: cached.format.rawValue).virtualSize
            let wanted = Int64(spec.rootGB) << 30
            try await img.createOverlay(
                base: cached.path, baseFormat: cached.format, path: files.disk, sizeBytes: wanted > baseSize ? wanted : nil)
            base = cached
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
            volumes: try slotted(spec.volumes, recorded: [], rootSlotFree: rootOnVolume))
    }

    /// The cached base for `image`: made once per image id by converting the image file
    /// (its declared format, never probed) to qcow2, or to raw for `raw` and `ami` images.
    /// Every instance of the image shares it; nothing is copied per instance.
    func baseImage(_ image: InstanceSpec.BootImage) async throws -> (path: String, format: QEMU.MachineConfiguration.Disk.Format)
    {
        let format: QEMU.MachineConfiguration.Disk.Format
        let sourceFormat: String
        switch image.diskFormat {
        case "qcow2":
            (format, sourceFormat) = (.qcow2, "qcow2")
        case "raw", "ami":
            (format, sourceFormat) = (.raw, "raw")
        default:
            throw HypervisorError.failed("image \(image.id) has disk format \(image.diskFormat); only qcow2, raw and ami boot")
        }
        guard Self.isSafeName(image.id) else {
            throw HypervisorError.failed("image id \(image.id) cannot name a cache file")
        }
        let path = configuration.imageCacheDirectory + "/" + image.id + "." + format.rawValue
        return try await locks.withLock("image:" + image.id) {
            if FileManager.default.fileExists(atPath: path) {
                return (path, format)
            }
            try FileManager.default.createDirectory(
                atPath: configuration.imageCacheDirectory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            let partial = path + ".partial"
            try? FileManager.default.removeItem(atPath: partial)
            try await QEMU.Img(binary: configuration.qemuImgBinary)
                .convert(from: image.path, fromFormat: sourceFormat, to: partial, format: format.rawValue)
            try FileManager.default.moveItem(atPath: partial, toPath: path)
            logger.info("cached base image", metadata: ["image": "\(image.id)", "path": "\(path)"])
            return (path, format)
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
