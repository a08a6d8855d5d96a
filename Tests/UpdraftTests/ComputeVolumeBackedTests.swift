import Foundation
import Logging
import SQLKit
import Testing
import UpdraftCore
import UpdraftDatabase

@testable import UpdraftBlockStorage
@testable import UpdraftCompute
@testable import UpdraftServer

/// Servers booted from volume on the fake driver, with real block storage (qcow2 files,
/// no hypervisor behind it, so every snapshot is a copy of the file).
@Suite("Volume-backed servers on the fake driver", .enabled(if: qemuImgAvailable))
struct ComputeVolumeBackedTests {
    typealias Base = ComputeServiceTests
    static let member = Base.member

    struct Storage: Sendable {
        let service: BlockStorageService
        let directory: String
        func file(_ volume: String) -> String { directory + "/volumes/\(volume).qcow2" }
    }

    static func withCloud(_ body: @Sendable (ComputeService, FakeDriver, MemoryImages, Storage) async throws -> Void)
        async throws
    {
        let directory = NSTemporaryDirectory() + "updraft-bfv-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await Base.withCompute(
            migrations: BlockStorageSchema.migrations, volumes: { VolumeBridge(storage: $0.service) },
            prepare: { database in
                let service = try await BlockStorageServiceTests.makeService(database, directory: directory, images: nil)
                return (nil, Storage(service: service, directory: directory), [{ try await service.run() }])
            }, body)
    }

    /// A 1 GiB bootable volume made "from image `img`" with `pattern` written at 1 MiB.
    static func rootVolume(_ storage: Storage, pattern: String = "0xab") async throws -> String {
        var request = VolumeCreate()
        request.size = 1
        let volume = try await storage.service.createVolume(request, caller: member)
        for _ in 0..<200 where try await storage.service.volume(volume.id, caller: member).status != .available {
            try await Task.sleep(for: .milliseconds(25))
        }
        try await storage.service.setBootable(volume.id, true, caller: member)
        _ = try await storage.service.changeImageMetadata(of: volume.id, caller: member) { _ in
            [
                "image_id": "img", "image_name": "tiny", "min_disk": "1", "os_distro": "debian", "img_signature": "x",
                "hw_qemu_guest_agent": "yes",
            ]
        }
        #expect(try qemuIO(storage.file(volume.id), "write -P \(pattern) 1M 64k"))
        return volume.id
    }

    static func qemuIO(_ file: String, _ command: String) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-io")
        process.arguments = ["-f", "qcow2", "-c", command, file]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    static func bootFromVolume(_ compute: ComputeService, _ volume: String, name: String = "bfv") async throws -> String {
        var request = ComputeService.CreateRequest(name: name, imageID: "", flavorID: "42")
        request.blockDevices = [
            BlockDeviceRequest(sourceType: "volume", uuid: volume, bootIndex: 0, volumeSize: nil, deleteOnTermination: false)
        ]
        let id = try #require(try await compute.createServers(request, caller: member, requestID: "req").servers.first).id
        _ = try await Base.wait(compute, id, "ACTIVE")
        return id
    }

    static func root(_ compute: ComputeService, _ id: String) async throws -> BlockDeviceMapping {
        try #require(try await compute.volumeAttachments(id, caller: member).first { $0.bootIndex == 0 })
    }

    @Test("a snapshot maps volume snapshots in an empty active image, and booting it makes volumes with the same data")
    func snapshotAndBoot() async throws {
        try await Self.withCloud { compute, driver, images, storage in
            let volume = try await Self.rootVolume(storage)
            let id = try await Self.bootFromVolume(compute, volume)
            let result = try await compute.perform(
                .createImage, on: id, caller: Self.member, requestID: "req-snap", name: "snap",
                metadata: ["purpose": "test"])
            let image = try await images.image(try #require(result.imageID), caller: Self.member)
            #expect(image.status == "active" && image.size == 0 && image.diskFormat == "raw")
            #expect(image.minDisk == 1)
            #expect(image.properties["bdm_v2"] == "True" && image.properties["root_device_name"] == "/dev/vda")
            #expect(image.properties["os_distro"] == "debian" && image.properties["purpose"] == "test")
            #expect(image.properties["img_signature"] == nil && image.properties["image_id"] == nil)
            let mapping = try #require(
                try ComputeService.imageBlockDevices(image).first, "the image maps the root volume's snapshot")
            #expect(mapping.sourceType == "snapshot" && mapping.bootIndex == 0 && mapping.volumeSize == 1)
            #expect(mapping.deviceName == "/dev/vda" && mapping.deleteOnTermination == false)
            let snapshot = try await storage.service.snapshot(try #require(mapping.uuid), caller: Self.member)
            #expect(snapshot.volumeID == volume && snapshot.name == "snapshot for snap")
            // The root volume's image metadata gave the guest its agent; the running server was
            // quiesced around the volume snapshots, left as it was, and the action recorded.
            #expect(try await driver.spec(id).guestAgent)
            #expect(await driver.quiescings == [id])
            #expect(try await compute.server(id, caller: Self.member).status == "ACTIVE")
            #expect(try await compute.actions(id, caller: Self.member).contains { $0.action == "createImage" })

            let created = try await compute.createServers(
                .init(name: "copy", imageID: image.id, flavorID: "42"), caller: Self.member, requestID: "req-copy")
            let copy = try #require(created.servers.first)
            #expect(copy.imageID == image.id)
            _ = try await Base.wait(compute, copy.id, "ACTIVE")
            let copyRoot = try await Self.root(compute, copy.id)
            let copyVolume = try #require(copyRoot.volumeID)
            #expect(copyVolume != volume)
            #expect(try await driver.volumes(copy.id).contains { $0.volumeID == copyVolume && $0.bootIndex == 0 })
            #expect(try Self.qemuIO(storage.file(copyVolume), "read -P 0xab 1M 64k"))
            #expect(try await storage.service.volume(copyVolume, caller: Self.member).snapshotID == snapshot.id)
        }
    }

    @Test("shelve offloads at once with the volumes kept attached; unshelve plugs them again and boots")
    func shelveAndUnshelve() async throws {
        try await Self.withCloud { compute, driver, images, storage in
            let volume = try await Self.rootVolume(storage)
            let id = try await Self.bootFromVolume(compute, volume)
            let before = try await images.listImages(caller: Self.member).count
            try await compute.perform(.shelve, on: id, caller: Self.member, requestID: "req-shelve")
            let shelved = try await Base.wait(compute, id, "SHELVED_OFFLOADED")
            #expect(shelved.host == nil && shelved.shelvedImageID == nil)
            #expect(try await driver.powerStates()[id] == nil)
            #expect(try await images.listImages(caller: Self.member).count == before)
            #expect(try await storage.service.volume(volume, caller: Self.member).status == .inUse)

            try await compute.perform(.unshelve, on: id, caller: Self.member, requestID: "req-unshelve")
            let active = try await Base.wait(compute, id, "ACTIVE")
            #expect(active.host == "fake-host")
            #expect(try await driver.volumes(id).contains { $0.volumeID == volume && $0.bootIndex == 0 })
            #expect(try await storage.service.volume(volume, caller: Self.member).status == .inUse)
        }
    }

    @Test("delete while shelved offloaded releases the volumes and deletes those that asked")
    func deleteShelved() async throws {
        try await Self.withCloud { compute, _, _, storage in
            let volume = try await Self.rootVolume(storage)
            var request = ComputeService.CreateRequest(name: "bfv", imageID: "", flavorID: "42")
            request.blockDevices = [
                BlockDeviceRequest(sourceType: "volume", uuid: volume, bootIndex: 0, volumeSize: nil, deleteOnTermination: false),
                BlockDeviceRequest(sourceType: "blank", uuid: nil, bootIndex: nil, volumeSize: 1, deleteOnTermination: true),
            ]
            let id = try #require(try await compute.createServers(request, caller: Self.member, requestID: "r").servers.first).id
            _ = try await Base.wait(compute, id, "ACTIVE")
            let blank = try #require(try await compute.volumeAttachments(id, caller: Self.member).first { $0.bootIndex != 0 })
            try await compute.perform(.shelve, on: id, caller: Self.member, requestID: "req-shelve")
            _ = try await Base.wait(compute, id, "SHELVED_OFFLOADED")
            try await compute.deleteServer(id, caller: Self.member, requestID: "req-delete")
            let blankID = try #require(blank.volumeID)
            // Gone once the server is deleted and block storage has removed the volume that asked.
            for _ in 0..<200 where (try? await storage.service.volume(blankID, caller: Self.member)) != nil {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect((try? await compute.server(id, caller: Self.member)) == nil)
            #expect(try await storage.service.volume(volume, caller: Self.member).status == .available)
            #expect((try? await storage.service.volume(blankID, caller: Self.member)) == nil)
        }
    }

    @Test("rebuild keeps the root volume with the same image and refuses another with Nova's 400; no backups")
    func rebuild() async throws {
        try await Self.withCloud { compute, driver, _, storage in
            let volume = try await Self.rootVolume(storage)
            let id = try await Self.bootFromVolume(compute, volume)
            try await compute.perform(.rebuild, on: id, caller: Self.member, requestID: "req-rebuild", imageID: "img")
            let rebuilt = try await Base.wait(compute, id, "ACTIVE")
            #expect(rebuilt.imageID == "")
            #expect(try await driver.volumes(id).contains { $0.volumeID == volume && $0.bootIndex == 0 })
            #expect(try Self.qemuIO(storage.file(volume), "read -P 0xab 1M 64k"))
            let refused = await #expect(throws: UpdraftError.self) {
                try await compute.perform(.rebuild, on: id, caller: Self.member, requestID: "req-r2", imageID: "img2")
            }
            #expect(refused?.code == .badRequest)
            #expect(
                refused?.message
                    == "Image img2 is unacceptable: Unable to rebuild with a different image for a volume-backed server.")
            let backup = await #expect(throws: UpdraftError.self) {
                try await compute.perform(
                    .createImage, on: id, caller: Self.member, requestID: "req-b", name: "b",
                    metadata: ["image_type": "backup"])
            }
            #expect(backup?.code == .badRequest)
            #expect(try await compute.server(id, caller: Self.member).taskState == nil)
        }
    }

    @Test("a shelve or unshelve a restart interrupted ends offloaded or ACTIVE, the volumes attached")
    func interruptedShelving() async throws {
        try await Self.withCloud { compute, driver, _, storage in
            let volume = try await Self.rootVolume(storage)
            let id = try await Self.bootFromVolume(compute, volume)
            // A kill -9 after the guest was removed, before the host was cleared.
            try await driver.destroy(id)
            try await compute.database.write { db in
                try await db.raw("UPDATE instances SET task_state = 'shelving_offloading' WHERE id = \(bind: id)").run()
            }
            try await compute.recoverInterruptedWork()
            let shelved = try await Base.wait(compute, id, "SHELVED_OFFLOADED")
            #expect(shelved.host == nil)

            // A kill -9 after the unshelve placed it, before the guest booted.
            try await compute.database.write { db in
                try await db.raw(
                    "UPDATE instances SET task_state = 'unshelving', host = 'fake-host' WHERE id = \(bind: id)"
                ).run()
            }
            try await compute.recoverInterruptedWork()
            _ = try await Base.wait(compute, id, "ACTIVE")
            #expect(try await driver.volumes(id).contains { $0.volumeID == volume && $0.bootIndex == 0 })
            #expect(try await storage.service.volume(volume, caller: Self.member).status == .inUse)
        }
    }
}
