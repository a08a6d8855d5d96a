import Foundation

extension GuestImage {
    /// A writer of the `newc` cpio format the kernel unpacks as an initramfs.
    ///
    /// Written here rather than by `cpio` so that every entry gets owner 0, one fixed mtime, a
    /// sequential inode number and a sorted position, and so device nodes need no root to stage.
    struct Cpio {
        /// What one entry is.
        enum Kind: Equatable {
            case directory
            case file(Data)
            case symlink(target: String)
            case characterDevice(major: UInt32, minor: UInt32)
        }

        /// One member of the archive; `path` is relative, without a leading slash.
        struct Entry: Equatable {
            var path: String
            var mode: UInt32
            var kind: Kind
        }

        /// The archive's bytes: entries sorted by path (parents before children), then the trailer.
        static func archive(_ entries: [Entry], mtime: Int) -> Data {
            var data = Data()
            var inode: UInt32 = 1
            for entry in entries.sorted(by: { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }) {
                let (type, body, rdev): (UInt32, Data, (UInt32, UInt32)) =
                    switch entry.kind {
                    case .directory: (0o040000, Data(), (0, 0))
                    case .file(let contents): (0o100000, contents, (0, 0))
                    case .symlink(let target): (0o120000, Data(target.utf8), (0, 0))
                    case .characterDevice(let major, let minor): (0o020000, Data(), (major, minor))
                    }
                let links: UInt32 = entry.kind == .directory ? 2 : 1
                append(
                    &data, name: entry.path, body: body,
                    fields: [inode, type | (entry.mode & 0o7777), 0, 0, links, UInt32(truncatingIfNeeded: mtime)],
                    rdev: rdev)
                inode += 1
            }
            append(&data, name: "TRAILER!!!", body: Data(), fields: [0, 0, 0, 0, 1, 0], rdev: (0, 0))
            return data
        }

        /// Header (inode, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
        /// rdevminor, namesize, check), name, padding to 4, body, padding to 4.
        private static func append(
            _ data: inout Data, name: String, body: Data, fields: [UInt32], rdev: (UInt32, UInt32)
        ) {
            let nameBytes = Data(name.utf8) + Data([0])
            let all =
                fields + [UInt32(body.count), 0, 0, rdev.0, rdev.1, UInt32(nameBytes.count), 0]
            var header = "070701"
            for field in all {
                let hex = String(field, radix: 16, uppercase: true)
                header += String(repeating: "0", count: 8 - hex.count) + hex
            }
            data += Data(header.utf8)
            data += nameBytes
            pad(&data)
            data += body
            pad(&data)
        }

        private static func pad(_ data: inout Data) {
            let remainder = data.count % 4
            if remainder != 0 {
                data += Data(repeating: 0, count: 4 - remainder)
            }
        }
    }
}
