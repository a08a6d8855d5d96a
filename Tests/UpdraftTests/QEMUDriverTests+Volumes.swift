import Foundation
import Testing

@testable import UpdraftCompute

extension QEMUDriverTests {
    @Test("spec.json keeps volumes with their PCI slots in snake_case, and reads records from before volumes")
    func recordWithVolumesRoundTrip() throws {
        let root = VolumeDisk(
            volumeID: "6a1f0c2e-9b4d-4e0f-8a3b-1c2d3e4f5a6b", source: .file(path: "/v/root.qcow2", format: "qcow2"),
            bootIndex: 0)
        let data = VolumeDisk(
            volumeID: "0d2c4b6a-8e0f-4a1b-9c3d-5e7f9a1b3c5d", source: .file(path: "/v/data.raw", format: "raw"), readOnly: true)
        #expect(root.serial == "6a1f0c2e-9b4d-4e0f-8" && data.bootIndex == nil)
        let record = QEMUDriver.InstanceRecord(
            id: "u", name: "vm", vcpus: 1, memoryMB: 256, rootGB: 1, imageID: nil, basePath: nil, baseFormat: nil,
            hasKernel: false, hasRamdisk: false, commandLine: nil, hasConfigDrive: true, websocketPort: 5701,
            volumes: [.init(disk: root, slot: 0x02), .init(disk: data, slot: 0x10)])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let encoded = try encoder.encode(record)
        let text = String(decoding: encoded, as: UTF8.self)
        #expect(
            text.contains(
                #"{"boot_index":0,"pci_slot":2,"read_only":false,"serial":"6a1f0c2e-9b4d-4e0f-8","#
                    + #""source":{"file":{"format":"qcow2","path":"/v/root.qcow2"}},"volume_id":"6a1f0c2e-9b4d-4e0f-8a3b-1c2d3e4f5a6b"}"#
            ), "\(text)")
        #expect(text.contains(#""pci_slot":16,"read_only":true"#))
        #expect(!text.contains("base_path") && !record.hasLocalRoot)
        #expect(try JSONDecoder().decode(QEMUDriver.InstanceRecord.self, from: encoded) == record)

        let old = #"""
            {"uuid":"u","name":"vm","vcpus":1,"memory_mb":64,"root_gb":1,"image_id":"img","base_path":"/c/img.raw",
             "base_format":"raw","kernel":false,"ramdisk":false,"config_drive":true}
            """#
        let decoded = try JSONDecoder().decode(QEMUDriver.InstanceRecord.self, from: Data(old.utf8))
        #expect(decoded.volumes == nil && decoded.hasLocalRoot && decoded.imageID == "img")
    }

    @Test("volumes keep their slots; a new one takes the lowest free, a root volume the root slot, and 17 are too many")
    func volumeSlots() async throws {
        let driver = QEMUDriver(configuration: .init(dataDirectory: "/nonexistent"))
        func volume(_ number: Int, bootIndex: Int? = nil) -> VolumeDisk {
            VolumeDisk(
                volumeID: String(format: "%08x-0000-4000-8000-000000000000", number),
                source: .file(path: "/v/\(number)", format: "qcow2"), bootIndex: bootIndex)
        }
        let first = try await driver.slotted([volume(1), volume(2), volume(3)], recorded: [], rootSlotFree: false)
        #expect(first.map(\.slot) == [0x10, 0x11, 0x12])
        // The middle one goes; the others keep their slots and a newcomer takes the gap.
        let second = try await driver.slotted([volume(3), volume(4), volume(1)], recorded: first, rootSlotFree: false)
        #expect(second.map(\.slot) == [0x12, 0x11, 0x10])
        let root = try await driver.slotted([volume(5), volume(6, bootIndex: 0)], recorded: [], rootSlotFree: true)
        #expect(root.map(\.slot) == [0x10, 0x02])
        let hot = try await driver.slotted([volume(6, bootIndex: 0)], recorded: [], rootSlotFree: false)
        #expect(hot.map(\.slot) == [0x10])
        let full = try await driver.slotted((1...16).map { volume($0) }, recorded: [], rootSlotFree: false)
        #expect(full.last?.slot == 0x1f)
        await #expect(
            throws: HypervisorError.failed(
                "volume 00000011-0000-4000-8000-000000000000 cannot be attached: all 16 PCI slots for volumes are in use")
        ) {
            try await driver.slotted((1...17).map { volume($0) }, recorded: full, rootSlotFree: false)
        }
        await #expect(throws: HypervisorError.failed("volume v has format vmdk; only qcow2 and raw volumes attach")) {
            try await driver.slotted(
                [VolumeDisk(volumeID: "v", source: .file(path: "/v", format: "vmdk"))], recorded: [], rootSlotFree: false)
        }
    }

    @Test("an instance booted from volume has no root disk to snapshot, and a resize changes only vCPUs and memory")
    func bootFromVolumeRecord() async throws {
        let data = "/tmp/ud-" + UUID().uuidString.prefix(8).lowercased()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let driver = QEMUDriver(configuration: .init(dataDirectory: data, qemuImgBinary: "/nonexistent/qemu-img"))
        let id = UUID().uuidString.lowercased()
        let files = try await driver.files(id)
        try FileManager.default.createDirectory(atPath: files.directory, withIntermediateDirectories: true)
        let root = VolumeDisk(volumeID: "root", source: .file(path: data + "/root.qcow2", format: "qcow2"), bootIndex: 0)
        let record = QEMUDriver.InstanceRecord(
            id: id, name: "vm", vcpus: 1, memoryMB: 64, rootGB: 1, imageID: nil, basePath: nil, baseFormat: nil,
            hasKernel: false, hasRamdisk: false, commandLine: nil, hasConfigDrive: false, websocketPort: nil,
            volumes: [.init(disk: root, slot: 0x02)])
        try await driver.writeRecord(record, files: files)
        await #expect(throws: HypervisorError.invalidState("instance \(id) boots from a volume and has no root disk of its own"))
        {
            try await driver.snapshot(id, to: data + "/snap.qcow2", format: "qcow2")
        }
        var spec = makeSpec(id: id, imagePath: "/unused")
        spec.image = nil
        spec.volumes = [root]
        spec.vcpus = 2
        spec.memoryMB = 128
        spec.rootGB = 20
        try await driver.resize(spec)
        let resized = try await driver.readRecord(id)
        #expect(resized.vcpus == 2 && resized.memoryMB == 128 && resized.rootGB == 1 && resized.volumes == record.volumes)
        // Destroy removes the instance, never a volume's file.
        #expect(FileManager.default.createFile(atPath: data + "/root.qcow2", contents: Data("volume".utf8)))
        try await driver.destroy(id)
        #expect(!FileManager.default.fileExists(atPath: files.directory))
        #expect(FileManager.default.fileExists(atPath: data + "/root.qcow2"))
    }
}
