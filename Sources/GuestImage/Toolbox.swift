import Foundation

extension GuestImage {
    /// Every program and file the build needs, located up front so a missing one fails before any work.
    struct Toolbox: Sendable {
        let aptGet: Program
        let dpkgDeb: Program
        let depmod: Program
        let gzip: Program
        let mkfsFat: Program
        let mcopy: Program
        let syslinux: Program
        let qemuImg: Program
        let sha256sum: Program
        /// SYSLINUX's 440-byte master boot record, which jumps to the active partition's boot sector.
        let masterBootRecord: URL

        /// The Debian package for each program, in the order they are checked.
        static let packages: [(program: String, package: String)] = [
            ("apt-get", "apt"), ("dpkg-deb", "dpkg"), ("depmod", "kmod"), ("gzip", "gzip"),
            ("mkfs.fat", "dosfstools"), ("mcopy", "mtools"), ("syslinux", "syslinux"),
            ("qemu-img", "qemu-utils"), ("sha256sum", "coreutils"),
        ]

        /// Where Debian's syslinux-common puts the MBR.
        static let masterBootRecordPath = "/usr/lib/syslinux/mbr/mbr.bin"

        /// Locates everything.
        ///
        /// - Throws: ``GuestImage/Error/missingTool(program:package:)`` or
        ///   ``GuestImage/Error/missingFile(path:package:)`` for the first thing missing.
        static func locate(searchPath: [String] = Program.searchPath) throws -> Toolbox {
            var found: [String: Program] = [:]
            for (program, package) in packages {
                found[program] = try Program.locate(program, package: package, searchPath: searchPath)
            }
            func program(_ name: String) throws -> Program {
                guard let program = found[name] else { throw GuestImage.Error.missingTool(program: name, package: name) }
                return program
            }
            guard FileManager.default.fileExists(atPath: masterBootRecordPath) else {
                throw GuestImage.Error.missingFile(path: masterBootRecordPath, package: "syslinux-common")
            }
            return Toolbox(
                aptGet: try program("apt-get"), dpkgDeb: try program("dpkg-deb"), depmod: try program("depmod"),
                gzip: try program("gzip"), mkfsFat: try program("mkfs.fat"), mcopy: try program("mcopy"),
                syslinux: try program("syslinux"), qemuImg: try program("qemu-img"),
                sha256sum: try program("sha256sum"), masterBootRecord: URL(fileURLWithPath: masterBootRecordPath))
        }
    }
}
