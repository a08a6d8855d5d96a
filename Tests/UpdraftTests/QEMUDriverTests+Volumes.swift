import Foundation
import GuestImage
import QEMU
import Testing

@testable import UpdraftCompute

#if canImport(Glibc)
    import Glibc
#endif

/// The built tiny guest image, when `updraft image build tiny` has run on this machine.
private let tinyImage = GuestImage.cached(
    cacheDirectory: GuestImage.defaultCacheDirectory(environment: ProcessInfo.processInfo.environment))

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

    @Test("a stopped instance's volumes change only in its record; a suspended one refuses changes")
    func volumesOfStoppedInstance() async throws {
        let data = "/tmp/ud-" + UUID().uuidString.prefix(8).lowercased()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let driver = QEMUDriver(configuration: .init(dataDirectory: data))
        let id = UUID().uuidString.lowercased()
        let files = try await driver.files(id)
        try FileManager.default.createDirectory(atPath: files.directory, withIntermediateDirectories: true)
        let record = QEMUDriver.InstanceRecord(
            id: id, name: "vm", vcpus: 1, memoryMB: 64, rootGB: 1, imageID: "img", basePath: "/c/img.raw", baseFormat: "raw",
            hasKernel: false, hasRamdisk: false, commandLine: nil, hasConfigDrive: false, websocketPort: nil)
        try await driver.writeRecord(record, files: files)
        let one = VolumeDisk(volumeID: "11111111-aaaa", source: .file(path: data + "/one.qcow2", format: "qcow2"))
        let two = VolumeDisk(volumeID: "22222222-bbbb", source: .file(path: data + "/two.raw", format: "raw"), readOnly: true)
        let three = VolumeDisk(volumeID: "33333333-cccc", source: .file(path: data + "/three.raw", format: "raw"))

        try await driver.attachVolume(id, one)
        try await driver.attachVolume(id, one)
        try await driver.attachVolume(id, two)
        try await driver.detachVolume(id, volumeID: one.volumeID)
        try await driver.attachVolume(id, three)
        try await driver.detachVolume(id, volumeID: "not-attached")
        #expect(try await driver.readRecord(id).volumes == [.init(disk: two, slot: 0x11), .init(disk: three, slot: 0x10)])
        #expect(try await driver.resizeVolume(id, volumeID: two.volumeID, sizeBytes: 1 << 31) == false)
        #expect(try await driver.snapshotVolume(id, volumeID: two.volumeID, to: data + "/copy.qcow2") == false)
        #expect(!FileManager.default.fileExists(atPath: data + "/copy.qcow2"))
        await #expect(throws: HypervisorError.notFound("nope")) { try await driver.attachVolume("nope", one) }

        #expect(FileManager.default.createFile(atPath: files.memoryState, contents: Data()))
        let suspended = "suspended instance \(id); resume it first"
        await #expect(throws: HypervisorError.invalidState("cannot attach a volume to " + suspended)) {
            try await driver.attachVolume(id, one)
        }
        await #expect(throws: HypervisorError.invalidState("cannot detach a volume from " + suspended)) {
            try await driver.detachVolume(id, volumeID: two.volumeID)
        }
        #expect(try await driver.readRecord(id).volumes?.count == 2)
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

    @Test("the fake driver keeps each instance's volumes and answers resize and snapshot only while it runs")
    func fakeDriverVolumes() async throws {
        let fake = FakeDriver()
        let id = UUID().uuidString.lowercased()
        try await fake.spawn(makeSpec(id: id, imagePath: "/unused"))
        let volume = VolumeDisk(volumeID: "v1", source: .file(path: "/v/1", format: "qcow2"))
        try await fake.attachVolume(id, volume)
        try await fake.attachVolume(id, volume)
        #expect(try await fake.volumes(id) == [volume])
        #expect(try await fake.resizeVolume(id, volumeID: "v1", sizeBytes: 2 << 30))
        try await fake.powerOff(id, grace: .zero)
        #expect(try await fake.resizeVolume(id, volumeID: "v1", sizeBytes: 2 << 30) == false)
        try await fake.rebuild(makeSpec(id: id, imagePath: "/unused"))
        #expect(try await fake.volumes(id) == [volume])
        try await fake.detachVolume(id, volumeID: "v1")
        #expect(try await fake.volumes(id).isEmpty)
    }

    @Test(
        "a real guest sees a volume hot-plugged, grown, copied live, kept across suspend and boots, and unplugged",
        .enabled(if: qemuToolsAvailable && tinyImage != nil, "needs QEMU, qemu-img, genisoimage and the built tiny image"),
        .timeLimit(.minutes(10)))
    func volumesOnRealGuest() async throws {
        let image = try #require(tinyImage)
        let data = "/tmp/ud-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let configuration = QEMUDriver.Configuration(
            dataDirectory: data, accelerator: .tcg(reason: "test"), websocketPorts: 15600...15699,
            shutdownGrace: .seconds(30), killGrace: .seconds(2))
        let driver = QEMUDriver(configuration: configuration)
        var impatientConfiguration = configuration
        impatientConfiguration.volumeDetachTimeout = .seconds(2)
        let impatient = QEMUDriver(configuration: impatientConfiguration)
        let id = UUID().uuidString.lowercased()
        var spec = makeSpec(id: id, imagePath: image.disk.path)
        spec.image = .init(id: "tiny", path: image.disk.path, diskFormat: "qcow2")
        spec.memoryMB = 256
        spec.configDrive = false
        var pids: [Int32] = []
        defer {
            for pid in pids { kill(pid, SIGKILL) }
            try? FileManager.default.removeItem(atPath: data)
        }
        let instance = "\(data)/instances/\(id)"
        func rememberPID() {
            if let text = try? String(contentsOfFile: instance + "/qemu.pid", encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                pids.append(pid)
            }
        }
        // A 1 GiB qcow2 volume whose first MiB holds a pattern, to find again in its live copy.
        let img = try QEMU.Img()
        let pattern = Data(repeating: 0x5a, count: 1 << 20)
        let patternFile = data + "/pattern.raw"
        #expect(FileManager.default.createFile(atPath: patternFile, contents: pattern))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: patternFile))
        try handle.truncate(atOffset: 1 << 30)
        try handle.close()
        let volumePath = data + "/volume.qcow2"
        try await img.convert(from: patternFile, fromFormat: "raw", to: volumePath, format: "qcow2")
        let volume = VolumeDisk(volumeID: UUID().uuidString.lowercased(), source: .file(path: volumePath, format: "qcow2"))
        let node = QEMU.MachineConfiguration.Volume.nodeName(volumeID: volume.volumeID)

        try await driver.spawn(spec)
        rememberPID()
        var mark = 0
        #expect(await console(instance, after: mark, shows: "UPDRAFT-GUEST-READY"))

        // Hot-plug: the guest's kernel finds a 1 GiB disk; a second attach changes nothing.
        mark = consoleSize(instance)
        try await driver.attachVolume(id, volume)
        try await driver.attachVolume(id, volume)
        #expect(await console(instance, after: mark, shows: "[vdb] 2097152 512-byte logical blocks"))
        #expect(try await driver.readRecord(id).volumes == [.init(disk: volume, slot: 0x10)])

        // Grown while attached: the guest is told at once.
        #expect(try await driver.resizeVolume(id, volumeID: volume.volumeID, sizeBytes: 2 << 30))
        #expect(await console(instance, after: mark, shows: "[vdb] new size: 4194304 512-byte logical blocks"))

        // A live copy: a standalone qcow2 of the volume's new size.
        let copy = data + "/copy.qcow2"
        #expect(try await driver.snapshotVolume(id, volumeID: volume.volumeID, to: copy))
        let copied = try await img.info(path: copy, format: "qcow2")
        #expect(copied.virtualSize == 2 << 30 && copied.backingFile == nil)
        try await img.convert(from: copy, fromFormat: "qcow2", to: data + "/copy.raw", format: "raw")
        let copiedBytes = try FileHandle(forReadingFrom: URL(fileURLWithPath: data + "/copy.raw"))
        #expect(try copiedBytes.read(upToCount: (1 << 20) + 1) == pattern + Data([0]))
        try copiedBytes.close()

        // A paused guest cannot release the disk: the detach gives up and the volume stays.
        try await driver.pause(id)
        do {
            try await impatient.detachVolume(id, volumeID: volume.volumeID)
            Issue.record("a paused guest released its disk")
        } catch HypervisorError.failed(let message) {
            #expect(message.contains("did not release the disk of volume \(volume.volumeID)"), "\(message)")
        }
        #expect(try await driver.readRecord(id).volumes?.count == 1)
        try await driver.unpause(id)
        try await driver.detachVolume(id, volumeID: volume.volumeID)
        #expect(try await driver.readRecord(id).volumes == [])
        let monitor = try await QEMU.Monitor.connect(socketPath: instance + "/qmp-ops.sock")
        #expect(try await !monitor.peripheralDeviceIDs().contains(node + "-device"))
        #expect(try await monitor.blockNodes()[node] == nil)
        await monitor.close()

        // Plugged in again, then suspended and resumed: the device is where the saved state wants it.
        mark = consoleSize(instance)
        try await driver.attachVolume(id, volume)
        #expect(await console(instance, after: mark, shows: "[vdb] 4194304 512-byte logical blocks"))
        try await driver.suspend(id)
        spec.volumes = [volume]
        try await driver.resume(spec)
        rememberPID()
        #expect(try await driver.powerStates()[id] == .running)
        #expect(try await driver.resizeVolume(id, volumeID: volume.volumeID, sizeBytes: 3 << 30))
        #expect(await console(instance, after: mark, shows: "[vdb] new size: 6291456 512-byte logical blocks"))

        // Stopped, the volume is the caller's to grow or copy; the next boot has it from the start.
        try await driver.powerOff(id, grace: .seconds(60))
        #expect(try await driver.resizeVolume(id, volumeID: volume.volumeID, sizeBytes: 4 << 30) == false)
        #expect(try await driver.snapshotVolume(id, volumeID: volume.volumeID, to: data + "/copy2.qcow2") == false)
        #expect(!FileManager.default.fileExists(atPath: data + "/copy2.qcow2"))
        mark = consoleSize(instance)
        try await driver.powerOn(spec)
        rememberPID()
        #expect(await console(instance, after: mark, shows: "[vdb] 6291456 512-byte logical blocks"))
        #expect(await console(instance, after: mark, shows: "UPDRAFT-GUEST-READY"))
        print("QEMU driver, volume on a real guest:\n" + diskLines(instance))
        try await driver.destroy(id)
        #expect(FileManager.default.fileExists(atPath: volumePath))

        // Booted from a volume: no disk of its own, the volume is the first virtio disk and the
        // config drive comes after it.
        let bootID = UUID().uuidString.lowercased()
        let rootPath = data + "/root.qcow2"
        try await img.createOverlay(base: image.disk.path, baseFormat: .qcow2, path: rootPath, sizeBytes: nil)
        var bootSpec = makeSpec(id: bootID, imagePath: "/unused")
        bootSpec.image = nil
        bootSpec.memoryMB = 256
        bootSpec.volumes = [
            VolumeDisk(volumeID: UUID().uuidString.lowercased(), source: .file(path: rootPath, format: "qcow2"), bootIndex: 0)
        ]
        try await driver.spawn(bootSpec)
        let bootInstance = "\(data)/instances/\(bootID)"
        if let text = try? String(contentsOfFile: bootInstance + "/qemu.pid", encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            pids.append(pid)
        }
        #expect(await console(bootInstance, after: 0, shows: "UPDRAFT-GUEST-READY instance-id=\(bootID)"))
        #expect(await console(bootInstance, after: 0, shows: "[vda] 34816 512-byte logical blocks"))
        #expect(await console(bootInstance, after: 0, shows: "config drive on /dev/vdb"))
        #expect(!FileManager.default.fileExists(atPath: bootInstance + "/disk"))
        // A live copy of the root volume flattens its backing chain: the same bytes as the image.
        let rootVolumeID = try #require(bootSpec.rootVolume?.volumeID)
        #expect(try await driver.snapshotVolume(bootID, volumeID: rootVolumeID, to: data + "/root-copy.qcow2"))
        #expect(try await img.info(path: data + "/root-copy.qcow2", format: "qcow2").backingFile == nil)
        try await img.convert(from: data + "/root-copy.qcow2", fromFormat: "qcow2", to: data + "/root-copy.raw", format: "raw")
        try await img.convert(from: image.disk.path, fromFormat: "qcow2", to: data + "/tiny.raw", format: "raw")
        #expect(FileManager.default.contentsEqual(atPath: data + "/root-copy.raw", andPath: data + "/tiny.raw"))
        print("QEMU driver, booted from volume:\n" + diskLines(bootInstance))
        await #expect(
            throws: HypervisorError.invalidState("instance \(bootID) boots from a volume and has no root disk of its own")
        ) {
            try await driver.snapshot(bootID, to: data + "/root-snap.qcow2", format: "qcow2")
        }
        try await driver.destroy(bootID)
        #expect(FileManager.default.fileExists(atPath: rootPath))
    }
}

/// The size of an instance's `console.log` now, to look only at what comes after.
private func consoleSize(_ instance: String) -> Int {
    FileManager.default.contents(atPath: instance + "/console.log")?.count ?? 0
}

/// The console lines about virtio disks and the config drive, for the test log.
private func diskLines(_ instance: String) -> String {
    let data = FileManager.default.contents(atPath: instance + "/console.log") ?? Data()
    return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
        .filter { $0.contains("[vd") || $0.contains("config drive") || $0.contains("GUEST-READY") }
        .joined(separator: "\n")
}

/// Whether the instance's console shows `text` past byte `offset` within `timeout` (TCG guests are slow).
private func console(_ instance: String, after offset: Int, shows text: String, timeout: Duration = .seconds(180)) async
    -> Bool
{
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        let data = FileManager.default.contents(atPath: instance + "/console.log") ?? Data()
        if String(decoding: data.dropFirst(offset), as: UTF8.self).contains(text) { return true }
        try? await Task.sleep(for: .milliseconds(500))
    }
    return false
}
