import Foundation
import Testing

@testable import GuestImage

@Suite("cpio, MBR and module order")
struct ImageFormatTests {
    @Test("a newc entry is a 110-byte header, the name and the body, each padded to 4")
    func cpioEntry() {
        let data = GuestImage.Cpio.archive([.init(path: "a", mode: 0o644, kind: .file(Data("hi".utf8)))], mtime: 16)
        let header = String(decoding: data.prefix(110), as: UTF8.self)
        #expect(
            header
                == "070701" + "00000001" + "000081A4" + "00000000" + "00000000" + "00000001" + "00000010" + "00000002"
                + "00000000" + "00000000" + "00000000" + "00000000" + "00000002" + "00000000")
        // 110 + "a\0" = 112; body "hi" + 2 padding; then the trailer.
        #expect(data.subdata(in: 110..<112) == Data("a\0".utf8))
        #expect(data.subdata(in: 112..<116) == Data("hi\0\0".utf8))
        #expect(String(decoding: data.subdata(in: 116..<122), as: UTF8.self) == "070701")
        #expect(data.count % 4 == 0)
        #expect(String(decoding: data, as: UTF8.self).contains("TRAILER!!!"))
    }

    @Test("entries are sorted, so parents come first and the order never depends on the disk")
    func cpioOrder() {
        let entries: [GuestImage.Cpio.Entry] = [
            .init(path: "etc/passwd", mode: 0o644, kind: .file(Data())),
            .init(path: "dev/console", mode: 0o600, kind: .characterDevice(major: 5, minor: 1)),
            .init(path: "etc", mode: 0o755, kind: .directory),
            .init(path: "bin/sh", mode: 0o777, kind: .symlink(target: "busybox")),
        ]
        let text = String(decoding: GuestImage.Cpio.archive(entries, mtime: 0), as: UTF8.self)
        let positions = ["bin/sh", "dev/console", "etc\0", "etc/passwd", "TRAILER!!!"].compactMap {
            text.range(of: $0)?.lowerBound
        }
        #expect(positions.count == 5)
        #expect(positions == positions.sorted())
        #expect(GuestImage.Cpio.archive(entries, mtime: 0) == GuestImage.Cpio.archive(entries.reversed(), mtime: 0))
        // The console node: mode 020600, rdev 5:1.
        #expect(text.contains("00002180"))
    }

    @Test("the MBR carries the boot code, the disk id, one active LBA partition and the signature")
    func masterBootRecord() {
        let record = GuestImage.MasterBootRecord(
            bootCode: Data(repeating: 0xfa, count: 512), diskID: 0x5550_4454, start: 2048, sectors: 32768)
        let sector = [UInt8](record.sector)
        #expect(sector.count == 512)
        #expect(sector[0..<440].allSatisfy { $0 == 0xfa })
        #expect(Array(sector[440..<444]) == [0x54, 0x44, 0x50, 0x55])
        #expect(sector[446] == 0x80)
        #expect(Array(sector[447..<450]) == [32, 33, 0])
        #expect(sector[450] == 0x0e)
        #expect(Array(sector[454..<458]) == [0x00, 0x08, 0x00, 0x00])
        #expect(Array(sector[458..<462]) == [0x00, 0x80, 0x00, 0x00])
        #expect(sector[462..<510].allSatisfy { $0 == 0 })
        #expect(Array(sector[510..<512]) == [0x55, 0xaa])
        #expect(GuestImage.MasterBootRecord.chs(100_000_000) == [254, 255, 255])
    }

    static let modulesDep = """
        kernel/fs/isofs/isofs.ko: kernel/drivers/cdrom/cdrom.ko
        kernel/drivers/cdrom/cdrom.ko:
        kernel/drivers/virtio/virtio.ko:
        kernel/drivers/virtio/virtio_ring.ko:
        kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko \
        kernel/drivers/virtio/virtio_ring.ko
        kernel/drivers/virtio/virtio_pci_modern_dev.ko:
        kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
        kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko

        """

    @Test("modules load after what they need, once each; built-in ones are skipped")
    func moduleOrder() throws {
        let modules = GuestImage.KernelModules(
            modulesDep: Self.modulesDep, modulesBuiltin: "kernel/net/packet/af_packet.ko\n")
        let order = try modules.loadOrder(["virtio_pci", "virtio_blk", "virtio-rng", "af_packet", "isofs"])
        #expect(
            order == [
                "virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci", "virtio_blk", "virtio_rng", "cdrom", "isofs",
            ])
        #expect(modules.paths["virtio_rng"] == "kernel/drivers/char/hw_random/virtio-rng.ko")
        #expect(throws: GuestImage.Error.missingModule("ext4")) { try modules.loadOrder(["ext4"]) }
        #expect(GuestImage.KernelModules.name("kernel/fs/isofs/isofs.ko.xz") == "isofs")
    }
}
