import Foundation
import Logging
import QEMU
import Testing
import UpdraftCore
import UpdraftDatabase

@testable import UpdraftBlockStorage

/// Whether `qemu-img` is here, for the suites that make real volume files.
let qemuImgAvailable = ["/usr/bin/qemu-img", "/usr/local/bin/qemu-img"].contains {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// The block-storage service on a fresh SQLite store and real qcow2 files, its job loop running.
@Suite("Block storage service", .enabled(if: qemuImgAvailable))
struct BlockStorageServiceTests {
    static let member = AuthContext(
        userID: "u", userDomainID: "default", scope: .project(id: "p", domainID: "default"), roles: ["member", "reader"],
        auditID: "a")
    static let stranger = AuthContext(
        userID: "x", userDomainID: "default", scope: .project(id: "q", domainID: "default"), roles: ["member", "reader"],
        auditID: "b")

    static func withService(
        images: (any VolumeImages)? = nil, backupObjects: (any BackupObjects)? = nil,
        _ body: @Sendable (BlockStorageService, String) async throws -> Void
    ) async throws {
        let directory = NSTemporaryDirectory() + "updraft-volumes-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try await Database.open(.sqlite(path: directory + "/db.sqlite"), logger: Logger(label: "test"))
        do {
            try await Migrator.apply(BlockStorageSchema.migrations, to: database)
            let service = try await makeService(
                database, directory: directory, images: images, backupObjects: backupObjects)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                defer { group.cancelAll() }
                try await body(service, directory)
            }
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    /// A started block-storage service on `database`, its volumes under `directory`.
    static func makeService(
        _ database: Database, directory: String, images: (any VolumeImages)?, backupObjects: (any BackupObjects)? = nil
    ) async throws -> BlockStorageService {
        let img = try QEMU.Img()
        let backend = LocalVolumeBackend(
            directory: directory + "/volumes", img: img,
            bases: QEMU.BaseImageCache(directory: directory + "/base", img: img))
        let service = BlockStorageService(
            database: database, backend: backend, images: images, backupObjects: backupObjects,
            scratchDirectory: directory + "/uploads", logger: Logger(label: "test"))
        try await service.start()
        return service
    }

    static func wait(
        _ service: BlockStorageService, _ id: String, for status: VolumeStatus
    ) async throws -> Volume {
        for _ in 0..<200 {
            let volume = try await service.volume(id, caller: member)
            if volume.status == status { return volume }
            try await Task.sleep(for: .milliseconds(25))
        }
        return try await service.volume(id, caller: member)
    }

    static func create(_ service: BlockStorageService, size: Int = 1, snapshot: String? = nil) async throws -> Volume {
        var request = VolumeCreate()
        request.size = size
        request.snapshotID = snapshot
        let volume = try await service.createVolume(request, caller: member)
        #expect(volume.status == .creating)
        return try await wait(service, volume.id, for: .available)
    }

    @Test("every volume action is refused in every status outside Cinder's list for it, with a 400")
    func actionTable() {
        for action in VolumeAction.allCases {
            for status in VolumeStatus.allCases {
                let allowed = (try? action.check(status, volume: "v")) != nil
                #expect(allowed == action.allowedStatuses.contains(status), "\(action) in \(status)")
            }
        }
        #expect(throws: UpdraftError.self) { try VolumeAction.delete.check(.inUse, volume: "v") }
    }

    @Test("a volume is a thin qcow2 file; a snapshot and a volume from it are copies; delete with snapshots needs cascade")
    func lifecycle() async throws {
        try await Self.withService { service, directory in
            let volume = try await Self.create(service)
            #expect(volume.status == .available)
            let path = directory + "/volumes/\(volume.id).qcow2"
            let info = try await QEMU.Img().info(path: path, format: "qcow2")
            #expect(info.virtualSize == 1 << 30)
            #expect((info.actualSize ?? 0) < 1 << 20)

            let snapshot = try await service.createSnapshot(
                volumeID: volume.id, name: "s", description: nil, metadata: [:], caller: Self.member)
            for _ in 0..<200 where try await service.snapshot(snapshot.id, caller: Self.member).status != .available {
                try await Task.sleep(for: .milliseconds(25))
            }
            let copy = try await Self.create(service, size: 2, snapshot: snapshot.id)
            #expect(copy.size == 2 && copy.snapshotID == snapshot.id)
            #expect(
                try await QEMU.Img().info(path: directory + "/volumes/\(copy.id).qcow2", format: "qcow2").virtualSize == 2 << 30)

            await #expect(throws: UpdraftError.self) {
                try await service.deleteVolume(volume.id, cascade: false, force: false, caller: Self.member)
            }
            await #expect(throws: UpdraftError.self) { try await service.volume(volume.id, caller: Self.stranger) }
            try await service.deleteVolume(volume.id, cascade: true, force: false, caller: Self.member)
            for _ in 0..<200 where FileManager.default.fileExists(atPath: path) { try await Task.sleep(for: .milliseconds(25)) }
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(!FileManager.default.fileExists(atPath: directory + "/volumes/snapshots/\(snapshot.id).qcow2"))
            #expect(try await service.snapshots(allProjects: false, caller: Self.member).isEmpty)
        }
    }

    @Test("a volume past the gigabytes quota is refused with 413 and nothing is recorded")
    func quota() async throws {
        try await Self.withService { service, _ in
            var request = VolumeCreate()
            request.size = 1001
            do {
                _ = try await service.createVolume(request, caller: Self.member)
                Issue.record("a 1001 GB volume was accepted")
            } catch let error as UpdraftError {
                #expect(error.code == .overLimit)
                #expect(error.message.contains("gigabytes quota"))
            }
            #expect(try await service.volumes(VolumeFilter(), caller: Self.member).isEmpty)
        }
    }

    @Test("an attachment moves the volume through reserved, attaching, in-use, detaching and back to available")
    func attachmentFlow() async throws {
        try await Self.withService { service, directory in
            let volume = try await Self.create(service)
            let attachment = try await service.reserve(volumeID: volume.id, instance: "i1", caller: Self.member)
            #expect(try await service.volume(volume.id, caller: Self.member).status == .reserved)
            await #expect(throws: UpdraftError.self) {
                _ = try await service.reserve(volumeID: volume.id, instance: "i2", caller: Self.member)
            }
            let connection = try await service.connect(attachmentID: attachment.id, host: "h", caller: .system)
            #expect(connection.location == .file(path: directory + "/volumes/\(volume.id).qcow2", format: "qcow2"))
            #expect(try await service.volume(volume.id, caller: Self.member).status == .attaching)
            try await service.complete(attachmentID: attachment.id, device: "/dev/vdb", caller: .system)
            let attached = try await service.volume(volume.id, caller: Self.member)
            #expect(attached.status == .inUse && attached.attachments.map(\.instanceID) == ["i1"])
            await #expect(throws: UpdraftError.self) {
                try await service.deleteVolume(volume.id, cascade: false, force: false, caller: Self.member)
            }
            try await service.beginDetaching(volumeID: volume.id, caller: Self.member)
            #expect(try await service.volume(volume.id, caller: Self.member).status == .detaching)
            try await service.release(attachmentID: attachment.id, caller: .system)
            let released = try await service.volume(volume.id, caller: Self.member)
            #expect(released.status == .available && released.attachments.isEmpty)
        }
    }
}
