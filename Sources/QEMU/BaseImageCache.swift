import Foundation

extension QEMU {
    /// Base images, one file per image id, that copy-on-write disks are made on: instances'
    /// root disks and volumes made from an image alike. An image is converted once (its
    /// declared format, never probed) to qcow2, or to raw for `raw` and `ami` images; every
    /// disk of the image shares the file, so nothing is copied per disk.
    public actor BaseImageCache {
        /// The cached file and its format.
        public struct Base: Sendable, Equatable {
            public var path: String
            public var format: MachineConfiguration.Disk.Format
        }

        public let directory: String
        let img: Img
        /// Conversions under way, so two callers of one image wait for one conversion.
        private var converting: [String: Task<Base, any Swift.Error>] = [:]
        /// Bases' virtual sizes, read once: a base never changes once made.
        private var sizes: [String: Int64] = [:]

        /// A cache in `directory` (made 0700 on first use), converting with `img`.
        public init(directory: String, img: Img) {
            self.directory = directory
            self.img = img
        }

        /// The base for image `id` whose bytes are at `path` in `diskFormat` (`qcow2`, `raw`
        /// or `ami`), converted on first use.
        public func base(imageID id: String, path source: String, diskFormat: String) async throws -> Base {
            let format: MachineConfiguration.Disk.Format
            let sourceFormat: String
            switch diskFormat {
            case "qcow2": (format, sourceFormat) = (.qcow2, "qcow2")
            case "raw", "ami": (format, sourceFormat) = (.raw, "raw")
            default:
                throw Error.invalidConfiguration("image \(id) has disk format \(diskFormat); only qcow2, raw and ami boot")
            }
            guard Self.isSafeName(id) else { throw Error.invalidConfiguration("image id \(id) cannot name a cache file") }
            let base = Base(path: directory + "/" + id + "." + format.rawValue, format: format)
            if FileManager.default.fileExists(atPath: base.path) { return base }
            if let running = converting[id] { return try await running.value }
            let directory = directory
            let img = img
            let task = Task<Base, any Swift.Error> {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                // A name of its own: another process sharing the directory may convert the same image.
                let partial = base.path + ".partial-" + UUID().uuidString
                do {
                    try await img.convert(from: source, fromFormat: sourceFormat, to: partial, format: format.rawValue)
                    try FileManager.default.moveItem(atPath: partial, toPath: base.path)
                } catch {
                    try? FileManager.default.removeItem(atPath: partial)
                    if FileManager.default.fileExists(atPath: base.path) { return base }
                    throw error
                }
                return base
            }
            converting[id] = task
            defer { converting[id] = nil }
            return try await task.value
        }

        /// A base's virtual size in bytes, read with `qemu-img info` the first time only.
        public func virtualSize(of base: Base) async throws -> Int64 {
            if let size = sizes[base.path] { return size }
            let size = try await img.info(path: base.path, format: base.format.rawValue).virtualSize
            sizes[base.path] = size
            return size
        }

        /// Whether `name` is safe as one path component: letters, digits, `-` and `_`, at most 64.
        public static func isSafeName(_ name: String) -> Bool {
            !name.isEmpty && name.count <= 64
                && name.unicodeScalars.allSatisfy {
                    $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_")
                }
        }
    }
}
