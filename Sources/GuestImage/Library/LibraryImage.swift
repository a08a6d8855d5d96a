import Foundation

extension GuestImage {
    /// A built library image in the cache: `NAME.qcow2` and its manifest `NAME.json`.
    public struct LibraryImage: Sendable, Equatable {
        /// The directory holding both files.
        public let directory: URL
        public let manifest: Manifest

        /// The bootable qcow2 disk.
        public var disk: URL { directory.appendingPathComponent(manifest.file.name) }
        /// `NAME.json`.
        public var manifestFile: URL { directory.appendingPathComponent(manifest.recipe + ".json") }

        public init(directory: URL, manifest: Manifest) {
            self.directory = directory
            self.manifest = manifest
        }

        /// `NAME.json`: what was built from which recipe and packages, and what publishing it
        /// tells the image service.
        public struct Manifest: Codable, Sendable, Equatable {
            public var recipe: String
            /// The resolved recipe's version.
            public var recipeVersion: Int
            /// The resolved recipe it was built from: a site's edited recipe rebuilds.
            public var definition: LibraryRecipe
            public var description: String
            /// Glance properties for the published image.
            public var properties: [String: String]
            /// The image's `min_disk` (GiB) and `min_ram` (MiB).
            public var minDisk: Int
            public var minRAM: Int
            /// `uname -r` of the guest's kernel.
            public var kernelRelease: String
            public var kernelCommandLine: String
            /// Every file's modification time in the image is at most this.
            public var sourceDateEpoch: Int
            /// Debian package name to version, for every package installed.
            public var packages: [String: String]
            /// Seconds the build took.
            public var buildSeconds: Double
            public var file: Manifest.File

            public typealias File = GuestImage.Manifest.File

            enum CodingKeys: String, CodingKey {
                case recipe, description, properties, packages, file
                case recipeVersion = "recipe_version"
                case definition
                case minDisk = "min_disk"
                case minRAM = "min_ram"
                case kernelRelease = "kernel_release"
                case kernelCommandLine = "kernel_command_line"
                case sourceDateEpoch = "source_date_epoch"
                case buildSeconds = "build_seconds"
            }

            /// As written: sorted keys, indented, trailing newline.
            public func encoded() throws -> Data {
                try GuestImage.Manifest.encode(self)
            }
        }

        /// The cached build of `recipe` in `cacheDirectory`, or nil when it must be built: its
        /// manifest names the same resolved recipe and the disk has the recorded size.
        public static func cached(_ recipe: LibraryRecipe, cacheDirectory: String) -> LibraryImage? {
            guard let image = cached(recipe.name, cacheDirectory: cacheDirectory),
                image.manifest.recipeVersion == recipe.version, image.manifest.definition == recipe
            else { return nil }
            return image
        }

        /// The cached build named `name`, whatever recipe made it: what `serve --featured` and
        /// `image publish` offer.
        public static func cached(_ name: String, cacheDirectory: String) -> LibraryImage? {
            let directory = URL(fileURLWithPath: cacheDirectory, isDirectory: true)
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name + ".json").path),
                let manifest = try? JSONDecoder().decode(Manifest.self, from: data), manifest.recipe == name
            else { return nil }
            let image = LibraryImage(directory: directory, manifest: manifest)
            let size = (try? FileManager.default.attributesOfItem(atPath: image.disk.path))?[.size] as? NSNumber
            return size?.int64Value == manifest.file.size ? image : nil
        }
    }
}
