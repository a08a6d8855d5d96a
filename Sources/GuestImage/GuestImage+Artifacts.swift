import Foundation

extension GuestImage {
    /// The files one build produced, all in one cache directory.
    public struct Artifacts: Sendable, Equatable {
        /// The file name of the manifest next to the images.
        public static let manifestName = "tiny.json"

        /// The directory holding the files below.
        public let directory: URL
        /// What was built from which packages, with sizes and sha256 of every file.
        public let manifest: Manifest

        /// The bootable qcow2 disk (MBR, one FAT partition, extlinux, kernel and initramfs).
        public var disk: URL { directory.appendingPathComponent(manifest.files.disk.name) }
        /// The kernel alone, to register as an `aki` image for kernel + ramdisk boot.
        public var kernel: URL { directory.appendingPathComponent(manifest.files.kernel.name) }
        /// The initramfs alone, to register as an `ari` image; the same file the disk boots.
        public var ramdisk: URL { directory.appendingPathComponent(manifest.files.ramdisk.name) }
        /// The manifest file, `tiny.json`.
        public var manifestFile: URL { directory.appendingPathComponent(Self.manifestName) }

        /// Pairs a directory with the manifest found or written there.
        public init(directory: URL, manifest: Manifest) {
            self.directory = directory
            self.manifest = manifest
        }

        /// Self when the recipe version is current and every file exists with its recorded size.
        func validated(recipeVersion: Int = GuestImage.recipeVersion) -> Artifacts? {
            guard manifest.recipe == GuestImage.recipe, manifest.recipeVersion == recipeVersion else { return nil }
            let entries = [(disk, manifest.files.disk), (kernel, manifest.files.kernel), (ramdisk, manifest.files.ramdisk)]
            for (url, entry) in entries {
                let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
                guard let size = attributes?[.size] as? NSNumber, size.int64Value == entry.size else { return nil }
            }
            return self
        }
    }
}
