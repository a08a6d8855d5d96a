import Foundation

extension GuestImage {
    /// `tiny.json`: the recipe version, the Debian package versions and what each output file holds.
    public struct Manifest: Codable, Sendable, Equatable {
        /// The recipe name, `tiny`.
        public var recipe: String
        /// ``GuestImage/recipeVersion`` at build time.
        public var recipeVersion: Int
        /// The serial-console line prefix the guest prints when ready.
        public var bootMarker: String
        /// `uname -r` of the guest kernel, e.g. `6.1.0-56-amd64`.
        public var kernelRelease: String
        /// The command line the disk's bootloader passes; kernel + ramdisk boots should pass the same.
        public var kernelCommandLine: String
        /// The timestamp every file in the image carries (the kernel's mtime in its package).
        public var sourceDateEpoch: Int
        /// Debian package name to version, for every package unpacked into the image.
        public var packages: [String: String]
        /// The kernel modules the guest loads at boot, dependencies first.
        public var modules: [String]
        /// The output files.
        public var files: Files

        /// The three outputs of a build.
        public struct Files: Codable, Sendable, Equatable {
            /// `tiny.qcow2`.
            public var disk: File
            /// `tiny-vmlinuz`.
            public var kernel: File
            /// `tiny-initrd`.
            public var ramdisk: File

            /// Names the three outputs.
            public init(disk: File, kernel: File, ramdisk: File) {
                self.disk = disk
                self.kernel = kernel
                self.ramdisk = ramdisk
            }
        }

        /// One output file: its name in the cache directory, format, size in bytes and sha256 (hex).
        public struct File: Codable, Sendable, Equatable {
            /// The file name, relative to the manifest's directory.
            public var name: String
            /// `qcow2`, `bzImage` or `cpio.gz`: what Glance would call the disk or container format.
            public var format: String
            /// Size in bytes.
            public var size: Int64
            /// Lower-case hex sha256 of the file.
            public var sha256: String

            /// Describes one output file.
            public init(name: String, format: String, size: Int64, sha256: String) {
                self.name = name
                self.format = format
                self.size = size
                self.sha256 = sha256
            }
        }

        enum CodingKeys: String, CodingKey {
            case recipe
            case recipeVersion = "recipe_version"
            case bootMarker = "boot_marker"
            case kernelRelease = "kernel_release"
            case kernelCommandLine = "kernel_command_line"
            case sourceDateEpoch = "source_date_epoch"
            case packages
            case modules
            case files
        }

        /// Describes one build.
        public init(
            recipe: String, recipeVersion: Int, bootMarker: String, kernelRelease: String, kernelCommandLine: String,
            sourceDateEpoch: Int, packages: [String: String], modules: [String], files: Files
        ) {
            self.recipe = recipe
            self.recipeVersion = recipeVersion
            self.bootMarker = bootMarker
            self.kernelRelease = kernelRelease
            self.kernelCommandLine = kernelCommandLine
            self.sourceDateEpoch = sourceDateEpoch
            self.packages = packages
            self.modules = modules
            self.files = files
        }

        /// Parses `tiny.json`.
        public static func decode(_ data: Data) throws -> Manifest {
            try JSONDecoder().decode(Manifest.self, from: data)
        }

        /// `tiny.json` as written: sorted keys, indented, no escaped slashes, trailing newline.
        public func encoded() throws -> Data {
            try Self.encode(self)
        }

        /// A manifest as the cache keeps it: sorted keys, indented, no escaped slashes, a
        /// trailing newline (the tiny image's and the library's alike).
        static func encode(_ manifest: some Encodable) throws -> Data {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return try encoder.encode(manifest) + Data("\n".utf8)
        }
    }
}
