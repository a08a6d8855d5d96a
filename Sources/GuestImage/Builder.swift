import Foundation
import Logging

extension GuestImage {
    /// Builds the tiny image from Debian packages into a cache directory, reproducibly.
    ///
    /// Steps: fetch the packages with `apt-get download`, unpack them with `dpkg-deb -x`, stage an
    /// initramfs (busybox, dropbear and its libraries, the needed kernel modules, the boot scripts),
    /// write it as a sorted cpio with one timestamp, then a FAT partition with SYSLINUX inside an MBR
    /// disk converted to qcow2. Every timestamp is the kernel's mtime in its package.
    public struct Builder: Sendable {
        /// Where the build reads and writes.
        public struct Configuration: Sendable {
            /// Holds the outputs, `tiny.json` and the downloaded packages (`debs/`).
            public var cacheDirectory: URL
            /// Scratch space, emptied at the start of each build; default `<cacheDirectory>/work`.
            public var workDirectory: URL
            /// Remove the scratch space after a successful build. Default true.
            public var removeWorkDirectory = true

            /// A configuration with the scratch space inside the cache directory.
            public init(cacheDirectory: String, workDirectory: String? = nil) {
                self.cacheDirectory = URL(fileURLWithPath: cacheDirectory, isDirectory: true)
                self.workDirectory = URL(
                    fileURLWithPath: workDirectory ?? cacheDirectory + "/work", isDirectory: true)
            }
        }

        /// Where the build reads and writes.
        public let configuration: Configuration
        let logger: Logger

        /// A builder; nothing runs until ``build(force:)``.
        public init(configuration: Configuration, logger: Logger) {
            self.configuration = configuration
            self.logger = logger
        }

        /// Returns the cached artifacts of the current recipe version, or builds them.
        ///
        /// - Parameter force: build even when a current build is cached.
        /// - Throws: ``GuestImage/Error`` naming the missing tool's apt package, or the failing step.
        public func build(force: Bool = false) async throws -> Artifacts {
            let cacheDirectory = configuration.cacheDirectory
            if !force, let artifacts = GuestImage.cached(cacheDirectory: cacheDirectory.path) {
                logger.info("cached", metadata: ["disk": "\(artifacts.disk.path)"])
                return artifacts
            }
            let tools = try Toolbox.locate()
            let files = FileManager.default
            let work = configuration.workDirectory
            try? files.removeItem(at: work)
            try files.createDirectory(at: work, withIntermediateDirectories: true)
            try files.createDirectory(at: cacheDirectory, withIntermediateDirectories: true)
            // A half-written build must never look cached.
            try? files.removeItem(at: cacheDirectory.appendingPathComponent(Artifacts.manifestName))

            let packages = try await fetchPackages(tools, into: cacheDirectory.appendingPathComponent("debs"))
            let root = work.appendingPathComponent("root")
            try await unpack(packages, into: root, tools)
            let kernel = try kernelImage(in: root)
            let epoch = try Self.modificationTime(of: kernel.image)
            logger.info("unpacked", metadata: ["kernel": "\(kernel.release)", "epoch": "\(epoch)"])

            let staged = work.appendingPathComponent("initramfs")
            let modules = try await stageInitramfs(from: root, kernelRelease: kernel.release, at: staged, tools, epoch: epoch)
            let outputs = work.appendingPathComponent("out")
            try files.createDirectory(at: outputs, withIntermediateDirectories: true)
            let ramdisk = outputs.appendingPathComponent("tiny-initrd")
            try await writeRamdisk(from: staged, to: ramdisk, tools, epoch: epoch)
            let vmlinuz = outputs.appendingPathComponent("tiny-vmlinuz")
            try files.copyItem(at: kernel.image, to: vmlinuz)
            let disk = outputs.appendingPathComponent("tiny.qcow2")
            try await writeDisk(kernel: vmlinuz, ramdisk: ramdisk, to: disk, scratch: work, tools, epoch: epoch)

            var described: [Manifest.File] = []
            for (url, format) in [(disk, "qcow2"), (vmlinuz, "bzImage"), (ramdisk, "cpio.gz")] {
                described.append(try await describe(url, format: format, tools))
            }
            for url in [disk, vmlinuz, ramdisk] {
                let target = cacheDirectory.appendingPathComponent(url.lastPathComponent)
                try? files.removeItem(at: target)
                try files.moveItem(at: url, to: target)
            }
            let manifest = Manifest(
                recipe: GuestImage.recipe, recipeVersion: GuestImage.recipeVersion, bootMarker: GuestImage.bootMarker,
                kernelRelease: kernel.release, kernelCommandLine: Recipe.kernelCommandLine, sourceDateEpoch: epoch,
                packages: Dictionary(uniqueKeysWithValues: packages.map { ($0.name, $0.version) }), modules: modules,
                files: .init(disk: described[0], kernel: described[1], ramdisk: described[2]))
            try manifest.encoded().write(
                to: cacheDirectory.appendingPathComponent(Artifacts.manifestName), options: .atomic)
            if configuration.removeWorkDirectory {
                try? files.removeItem(at: work)
            }
            logger.info("built", metadata: ["disk": "\(cacheDirectory.path)/tiny.qcow2"])
            return Artifacts(directory: cacheDirectory, manifest: manifest)
        }

        /// The size and sha256 of one output.
        func describe(_ url: URL, format: String, _ tools: Toolbox) async throws -> Manifest.File {
            try await Self.describe(url, format: format, sha256sum: tools.sha256sum)
        }

        /// The size and sha256 of `url`, hashed by `sha256sum`.
        static func describe(_ url: URL, format: String, sha256sum: Program) async throws -> Manifest.File {
            let output = try await sha256sum.run(
                [url.lastPathComponent], in: url.deletingLastPathComponent(),
                environment: GuestImage.Program.environment(sourceDateEpoch: nil))
            let hash = String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
            let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber
            return Manifest.File(name: url.lastPathComponent, format: format, size: size?.int64Value ?? 0, sha256: hash)
        }

        /// Seconds since 1970 of a file's mtime.
        static func modificationTime(of url: URL) throws -> Int {
            let date = try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date
            return Int(date?.timeIntervalSince1970 ?? 0)
        }
    }
}
