import Foundation

extension QEMU {
    /// The `qemu-img` program: overlays, conversions, inspection and resizing of disk images.
    /// Every call names the input format, so an image is never probed (a raw image that looks
    /// like qcow2 must not be read as one).
    public struct Img: Sendable {
        /// What `qemu-img info` tells about an image.
        public struct Info: Sendable, Equatable, Decodable {
            public var format: String
            public var virtualSize: Int64
            public var actualSize: Int64?
            public var backingFile: String?

            enum CodingKeys: String, CodingKey {
                case format
                case virtualSize = "virtual-size"
                case actualSize = "actual-size"
                case backingFile = "backing-filename"
            }

            /// An info record; tests build these directly.
            public init(format: String, virtualSize: Int64, actualSize: Int64? = nil, backingFile: String? = nil) {
                self.format = format
                self.virtualSize = virtualSize
                self.actualSize = actualSize
                self.backingFile = backingFile
            }
        }

        /// The validated path of `qemu-img`.
        public let binary: String

        /// Finds `qemu-img` (a bare name is looked up in ``HostProcess/defaultSearchPath``).
        public init(binary: String = "qemu-img") throws {
            self.binary = try QEMU.locateBinary(binary)
        }

        /// Creates an empty standalone image of `sizeBytes` at `path` (`create`).
        public func create(path: String, format: MachineConfiguration.Disk.Format, sizeBytes: Int64) async throws {
            try await QEMU.runChecked(binary, ["create", "-q", "-f", format.rawValue, path, String(sizeBytes)])
        }

        /// Creates a qcow2 image at `path` backed by `base`, so it stores only what the guest
        /// changes. `sizeBytes` grows the overlay past the base's size; nil keeps the base's.
        public func createOverlay(base: String, baseFormat: MachineConfiguration.Disk.Format, path: String, sizeBytes: Int64?)
            async throws
        {
            var arguments = ["create", "-q", "-f", "qcow2", "-F", baseFormat.rawValue, "-b", base, path]
            if let sizeBytes {
                arguments.append(String(sizeBytes))
            }
            try await QEMU.runChecked(binary, arguments)
        }

        /// Writes a standalone copy of `source` (its backing chain flattened) to `destination`
        /// in `format`. Opens the source shared (`-U`), so a paused VM's disk can be copied.
        public func convert(from source: String, fromFormat: String, to destination: String, format: String)
            async throws
        {
            try await QEMU.runChecked(binary, ["convert", "-U", "-f", fromFormat, "-O", format, source, destination])
        }

        /// Reads an image's format, virtual size and backing file (`info --output=json -U`).
        /// `format` names the expected format; nil lets `qemu-img` probe (only for our own files).
        public func info(path: String, format: String? = nil) async throws -> Info {
            var arguments = ["info", "-U", "--output=json"]
            if let format {
                arguments += ["-f", format]
            }
            arguments.append(path)
            let output = try await QEMU.runChecked(binary, arguments)
            do {
                return try JSONDecoder().decode(Info.self, from: output)
            } catch {
                throw Error.tool(
                    program: "qemu-img", status: 0, output: "unreadable info for \(path): \(error)")
            }
        }

        /// Grows the image's virtual size to `sizeBytes` (`resize`). Shrinking is refused by
        /// `qemu-img` unless forced, and we never force it.
        public func resize(path: String, format: MachineConfiguration.Disk.Format, sizeBytes: Int64) async throws {
            try await QEMU.runChecked(binary, ["resize", "-q", "-f", format.rawValue, path, String(sizeBytes)])
        }
    }
}
