import Foundation

extension GuestImage.LibraryBuilder {
    /// The programs a library build runs, located up front so a missing one fails before any work.
    struct Tools: Sendable {
        let mmdebstrap: GuestImage.Program
        let chroot: GuestImage.Program
        let dpkgQuery: GuestImage.Program
        let mkfsExt4: GuestImage.Program
        let debugfs: GuestImage.Program
        let mkfsFat: GuestImage.Program
        let mcopy: GuestImage.Program
        let syslinux: GuestImage.Program
        let qemuImg: GuestImage.Program
        let sha256sum: GuestImage.Program
        let masterBootRecord: URL

        static func locate() throws -> Tools {
            func find(_ name: String, _ package: String) throws -> GuestImage.Program {
                try GuestImage.Program.locate(name, package: package)
            }
            let mbr = GuestImage.Toolbox.masterBootRecordPath
            guard FileManager.default.fileExists(atPath: mbr) else {
                throw GuestImage.Error.missingFile(path: mbr, package: "syslinux-common")
            }
            return Tools(
                mmdebstrap: try find("mmdebstrap", "mmdebstrap"), chroot: try find("chroot", "coreutils"),
                dpkgQuery: try find("dpkg-query", "dpkg"), mkfsExt4: try find("mkfs.ext4", "e2fsprogs"),
                debugfs: try find("debugfs", "e2fsprogs"),
                mkfsFat: try find("mkfs.fat", "dosfstools"), mcopy: try find("mcopy", "mtools"),
                syslinux: try find("syslinux", "syslinux"), qemuImg: try find("qemu-img", "qemu-utils"),
                sha256sum: try find("sha256sum", "coreutils"), masterBootRecord: URL(fileURLWithPath: mbr))
        }
    }

    /// debugfs commands setting the ctime and atime of `root` and of everything under it to
    /// `epoch`, by path (a double quote in a name doubled, as debugfs reads quoted words).
    static func timeCommands(under root: URL, epoch: Int) throws -> Data {
        let paths = Self.paths(under: root)
        if let odd = paths.first(where: { $0.contains("\n") }) {
            throw GuestImage.Error.package("a file name with a newline cannot be given fixed times: \(odd)")
        }
        let lines = paths.map { path in
            let quoted = "\"" + path.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            return "sif \(quoted) ctime @\(epoch)\nsif \(quoted) atime @\(epoch)\n"
        }
        return Data(lines.joined().utf8)
    }

    /// The disk: MBR, FAT32 boot partition at 1 MiB with SYSLINUX, the kernel and the
    /// initramfs, then the ext4 root to the end of `diskGiB`, converted to qcow2.
    func writeDisk(
        root: URL, kernel: (image: URL, ramdisk: URL, release: String), diskGiB: Int, to output: URL, work: URL,
        _ tools: Tools, epoch: Int
    ) async throws {
        let mebibyte = GuestImage.Builder.mebibyte
        let environment = GuestImage.Program.environment(
            sourceDateEpoch: epoch, extra: ["MTOOLS_SKIP_CHECK": "1", "E2FSPROGS_FAKE_TIME": String(epoch)])
        let boot = work.appendingPathComponent("boot.fat")
        try await tools.mkfsFat.run(
            [
                "--invariant", "-i", Self.diskIDHex, "-n", "UPDBOOT", "-F", "32", "-C", boot.path,
                String(Self.bootMiB * 1024),
            ], environment: environment)
        let config = work.appendingPathComponent("syslinux.cfg")
        try Data(GuestImage.Recipe.syslinuxConfig(commandLine: Self.kernelCommandLine, initrd: "initrd.img").utf8)
            .write(to: config)
        // mcopy -m keeps each file's time: this one was written now.
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: TimeInterval(epoch))], ofItemAtPath: config.path)
        for (source, name) in [(kernel.image, "vmlinuz"), (kernel.ramdisk, "initrd.img"), (config, "syslinux.cfg")] {
            try await tools.mcopy.run(["-m", "-i", boot.path, source.path, "::/" + name], environment: environment)
        }
        try await tools.syslinux.run(["--install", boot.path], environment: environment)

        let rootBytes = diskGiB * 1024 * mebibyte - (1 + Self.bootMiB) * mebibyte
        let rootFS = work.appendingPathComponent("root.ext4")
        try await tools.mkfsExt4.run(
            [
                "-q", "-F", "-d", root.path, "-L", "root", "-U", Self.rootUUID, "-E",
                "hash_seed=\(Self.rootUUID),root_owner=0:0", "-T", "default", rootFS.path, String(rootBytes / 1024) + "k",
            ], environment: environment)
        // mkfs.ext4 -d copies each file's ctime, which is when this build wrote it and which
        // no one can set, and its atime, which reads since the clamp (dpkg-query's, mcopy's)
        // moved on: debugfs sets both to the epoch in every inode.
        let commands = work.appendingPathComponent("times.debugfs")
        try Self.timeCommands(under: root, epoch: epoch).write(to: commands)
        let errors = try await tools.debugfs.runForErrors(["-w", "-f", commands.path, rootFS.path], environment: environment)
        // Its first line is its version; any other is a command that failed.
        if let failure = errors.split(separator: "\n").first(where: { !$0.hasPrefix("debugfs ") }) {
            throw GuestImage.Error.toolFailed(program: "debugfs", status: 0, stderr: String(failure))
        }

        let raw = work.appendingPathComponent("disk.raw")
        let record = GuestImage.MasterBootRecord(
            bootCode: try Data(contentsOf: tools.masterBootRecord), diskID: Self.diskID,
            partitions: [
                .init(start: UInt32(mebibyte / 512), sectors: UInt32(Self.bootMiB * mebibyte / 512), type: 0x0c),
                .init(
                    start: UInt32((1 + Self.bootMiB) * mebibyte / 512), sectors: UInt32(rootBytes / 512), type: 0x83),
            ])
        try Self.assemble(
            raw, size: diskGiB * 1024 * mebibyte, record: record,
            parts: [(boot, mebibyte), (rootFS, (1 + Self.bootMiB) * mebibyte)])
        try? FileManager.default.removeItem(at: rootFS)
        try await tools.qemuImg.run(
            ["convert", "-q", "-f", "raw", "-O", "qcow2", raw.path, output.path], environment: environment)
        try? FileManager.default.removeItem(at: raw)
    }

    /// A sparse raw disk of `size` bytes: the boot record, then each part at its offset, its
    /// runs of zeros left as holes.
    static func assemble(
        _ raw: URL, size: Int, record: GuestImage.MasterBootRecord, parts: [(file: URL, offset: Int)]
    ) throws {
        let files = FileManager.default
        try? files.removeItem(at: raw)
        guard files.createFile(atPath: raw.path, contents: nil) else {
            throw GuestImage.Error.package("cannot create \(raw.path)")
        }
        let disk = try FileHandle(forWritingTo: raw)
        defer { try? disk.close() }
        try disk.truncate(atOffset: UInt64(size))
        try disk.seek(toOffset: 0)
        try disk.write(contentsOf: record.sector)
        let chunk = GuestImage.Builder.mebibyte
        for (file, offset) in parts {
            let source = try FileHandle(forReadingFrom: file)
            defer { try? source.close() }
            var position = offset
            while let data = try source.read(upToCount: chunk), !data.isEmpty {
                if data.contains(where: { $0 != 0 }) {
                    try disk.seek(toOffset: UInt64(position))
                    try disk.write(contentsOf: data)
                }
                position += data.count
            }
        }
        try disk.synchronize()
    }
}
