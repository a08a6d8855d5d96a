import Foundation

extension GuestImage.Builder {
    /// One MiB: the partition's offset, and the unit of its size.
    static let mebibyte = 1 << 20

    /// Writes the bootable disk: an MBR with SYSLINUX's boot code and one FAT partition holding the
    /// kernel, the initramfs, `syslinux.cfg` and `ldlinux.sys`, converted to qcow2. Nothing is mounted.
    func writeDisk(
        kernel: URL, ramdisk: URL, to output: URL, scratch: URL, _ tools: GuestImage.Toolbox, epoch: Int
    ) async throws {
        let files = FileManager.default
        let environment = GuestImage.Program.environment(sourceDateEpoch: epoch, extra: ["MTOOLS_SKIP_CHECK": "1"])
        let payload = try size(of: kernel) + size(of: ramdisk)
        let partitionBytes = Self.partitionSize(payload: payload)
        let partition = scratch.appendingPathComponent("boot.fat")
        try? files.removeItem(at: partition)
        try await tools.mkfsFat.run(
            [
                "--invariant", "-i", GuestImage.Recipe.volumeID, "-n", "UPDRAFT", "-F", "16", "-C", partition.path,
                String(partitionBytes / 1024),
            ], environment: environment)

        let config = scratch.appendingPathComponent("syslinux.cfg")
        try Data(GuestImage.Recipe.syslinuxConfig().utf8).write(to: config)
        for (source, name) in [(kernel, "vmlinuz"), (ramdisk, "initrd"), (config, "syslinux.cfg")] {
            try await tools.mcopy.run(["-i", partition.path, source.path, "::/" + name], environment: environment)
        }
        try await tools.syslinux.run(["--install", partition.path], environment: environment)

        let raw = scratch.appendingPathComponent("disk.raw")
        try? files.removeItem(at: raw)
        guard files.createFile(atPath: raw.path, contents: nil) else {
            throw GuestImage.Error.package("cannot create \(raw.path)")
        }
        let disk = try FileHandle(forWritingTo: raw)
        defer { try? disk.close() }
        try disk.truncate(atOffset: UInt64(Self.mebibyte + partitionBytes))
        let record = GuestImage.MasterBootRecord(
            bootCode: try Data(contentsOf: tools.masterBootRecord), diskID: GuestImage.Recipe.diskID,
            start: UInt32(Self.mebibyte / 512), sectors: UInt32(partitionBytes / 512))
        try disk.seek(toOffset: 0)
        try disk.write(contentsOf: record.sector)
        try disk.seek(toOffset: UInt64(Self.mebibyte))
        try disk.write(contentsOf: try Data(contentsOf: partition))
        try disk.synchronize()

        try? files.removeItem(at: output)
        try await tools.qemuImg.run(
            ["convert", "-q", "-f", "raw", "-O", "qcow2", raw.path, output.path], environment: environment)
    }

    /// The payload plus room for SYSLINUX and FAT metadata, rounded up to whole MiB.
    static func partitionSize(payload: Int) -> Int {
        let slack = 4 * mebibyte
        return (payload + slack + mebibyte - 1) / mebibyte * mebibyte
    }

    func size(of url: URL) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
    }
}
