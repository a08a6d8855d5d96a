import Foundation
import Logging
import QEMU
import SQLKit
import Synchronization
import Testing
import UpdraftCore
import UpdraftDatabase

@testable import UpdraftBlockStorage

private let qemuIOAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-io")

/// Backups of volumes, on the block-storage service with real qcow2 files, its job loop
/// running, and an object store that keeps its objects in memory.
@Suite("Block storage backups", .enabled(if: qemuImgAvailable && qemuIOAvailable))
struct BlockStorageBackupTests {
    typealias Harness = BlockStorageServiceTests
    static let member = Harness.member

    static func waitForBackup(_ service: BlockStorageService, _ id: String, not status: BackupStatus) async throws
        -> VolumeBackup
    {
        for _ in 0..<400 where try await service.backup(id, caller: member).status == status {
            try await Task.sleep(for: .milliseconds(25))
        }
        return try await service.backup(id, caller: member)
    }

    static func write(_ pattern: UInt8, at offset: Int, length: String, into file: String) throws {
        let command = String(format: "write -P 0x%02x %d %@", pattern, offset, length)
        #expect(try BlockStorageUploadTests.run("/usr/bin/qemu-io", ["-f", "qcow2", "-c", command, file]) == 0)
    }

    static func identical(_ first: String, _ second: String) throws -> Bool {
        try BlockStorageUploadTests.run("/usr/bin/qemu-img", ["compare", "-q", first, second]) == 0
    }

    @Test("a full and an incremental backup (in another container) write only changed chunks and restore byte for byte")
    func fullIncrementalRestore() async throws {
        let store = MemoryBackupObjects()
        try await Harness.withService(backupObjects: store) { service, directory in
            let volume = try await Harness.create(service)
            let file = directory + "/volumes/\(volume.id).qcow2"
            try Self.write(0xab, at: 4096, length: "1M", into: file)

            let full = try await service.createBackup(BackupCreate(volumeID: volume.id), caller: Self.member)
            #expect(full.status == .creating)
            #expect(try await service.volume(volume.id, caller: Self.member).status == .backingUp)
            let done = try await Self.waitForBackup(service, full.id, not: .creating)
            #expect(done.status == .available && done.container == "volumebackups" && !done.isIncremental)
            // One 4 MiB chunk holds the data (the rest of the volume is a hole) and one manifest.
            #expect(done.objectCount == 2)
            #expect(try await service.volume(volume.id, caller: Self.member).status == .available)

            try Self.write(0xcd, at: 100 << 20, length: "64k", into: file)
            // In another container than its parent's, as Cinder allows: the manifest says where each chunk is.
            let incremental = try await service.createBackup(
                BackupCreate(volumeID: volume.id, container: "elsewhere", incremental: true), caller: Self.member)
            let second = try await Self.waitForBackup(service, incremental.id, not: .creating)
            #expect(second.status == .available && second.isIncremental && second.parentID == full.id)
            #expect(second.objectCount == 2)
            #expect(try await service.backup(full.id, caller: Self.member).hasDependents)
            #expect(store.count == 4)

            let restore = try await service.restoreBackup(incremental.id, volumeID: nil, name: nil, caller: Self.member)
            #expect(restore.volumeName == "restore_backup_\(incremental.id)")
            #expect(try await service.volume(restore.volumeID, caller: Self.member).status == .restoringBackup)
            let restored = try await BlockStorageUploadTests.waitForStatus(service, restore.volumeID, not: .restoringBackup)
            #expect(restored.status == .available && restored.size == volume.size)
            #expect(try Self.identical(file, directory + "/volumes/\(restore.volumeID).qcow2"))
            #expect(try await service.backup(incremental.id, caller: Self.member).status == .available)

            await #expect(throws: UpdraftError.self) {
                try await service.deleteBackup(full.id, force: false, caller: Self.member)
            }
            try await service.deleteBackup(incremental.id, force: false, caller: Self.member)
            for _ in 0..<200 where (try? await service.backup(incremental.id, caller: Self.member)) != nil {
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(store.count == 2)
            try await service.deleteBackup(full.id, force: false, caller: Self.member)
            for _ in 0..<200 where store.count > 0 { try await Task.sleep(for: .milliseconds(25)) }
            #expect(store.count == 0)
            #expect(try await service.backups(allProjects: false, caller: Self.member).isEmpty)
        }
    }

    @Test("backups refuse what Cinder refuses: incremental without a full one, past the quota, too small a target")
    func refusals() async throws {
        try await Harness.withService(backupObjects: MemoryBackupObjects()) { service, _ in
            let volume = try await Harness.create(service, size: 2)
            await #expect(throws: UpdraftError.self) {
                _ = try await service.createBackup(BackupCreate(volumeID: volume.id, incremental: true), caller: Self.member)
            }
            await #expect(throws: UpdraftError.self) {
                _ = try await service.createBackup(BackupCreate(volumeID: volume.id, container: "a/b"), caller: Self.member)
            }
            _ = try await service.updateQuotaSet("p", ["backup_gigabytes": 1], caller: .system)
            do {
                _ = try await service.createBackup(BackupCreate(volumeID: volume.id), caller: Self.member)
                Issue.record("a backup past the quota was accepted")
            } catch let error as UpdraftError {
                #expect(error.code == .overLimit)
            }
            #expect(try await service.volume(volume.id, caller: Self.member).status == .available)
            _ = try await service.updateQuotaSet("p", ["backup_gigabytes": -1], caller: .system)
            let backup = try await service.createBackup(BackupCreate(volumeID: volume.id), caller: Self.member)
            #expect(try await Self.waitForBackup(service, backup.id, not: .creating).status == .available)
            let small = try await Harness.create(service, size: 1)
            await #expect(throws: UpdraftError.self) {
                _ = try await service.restoreBackup(backup.id, volumeID: small.id, name: nil, caller: Self.member)
            }
            #expect(try await service.backup(backup.id, caller: Self.member).status == .available)
            await #expect(throws: UpdraftError.self) {
                _ = try await service.backup(backup.id, caller: Harness.stranger)
            }
        }
    }
}

extension BlockStorageBackupTests {
    @Test("a restart fails a backup it cut short and gives the volume its status back; a cut-short restore runs again")
    func restart() async throws {
        let store = MemoryBackupObjects()
        let directory = NSTemporaryDirectory() + "updraft-backups-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try await Database.open(.sqlite(path: directory + "/db.sqlite"), logger: Logger(label: "test"))
        defer { Task { await database.close() } }
        try await Migrator.apply(BlockStorageSchema.migrations, to: database)
        let img = try QEMU.Img()
        let backend = LocalVolumeBackend(
            directory: directory + "/volumes", img: img, bases: QEMU.BaseImageCache(directory: directory + "/base", img: img))
        // Each service starts (and reconciles) as `updraft serve` would after a restart.
        func service() async throws -> BlockStorageService {
            try await Harness.makeService(database, directory: directory, images: nil, backupObjects: store)
        }
        // The first service accepts the work but never runs it: a crash right after the 202.
        let first = try await service()
        try await backend.create("v", sizeGB: 1)
        try await database.write { db in
            try await db.raw(
                """
                INSERT INTO volumes (id, project_id, user_id, size, status, availability_zone, type_id, bootable,
                  metadata, image_metadata, multiattach, created_at, updated_at)
                SELECT 'v', 'p', 'u', 1, 'available', 'nova', id, false, '{}', '{}', false, 0, 0 FROM volume_types
                """
            ).run()
        }
        let cut = try await first.createBackup(BackupCreate(volumeID: "v"), caller: Self.member)
        #expect(try await first.volume("v", caller: Self.member).status == .backingUp)

        let second = try await service()
        let failed = try await second.backup(cut.id, caller: Self.member)
        #expect(failed.status == .error && failed.failReason?.contains("restart") == true)
        #expect(try await second.volume("v", caller: Self.member).status == .available)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await second.run() }
            defer { group.cancelAll() }
            let backup = try await second.createBackup(BackupCreate(volumeID: "v"), caller: Self.member)
            #expect(try await Self.waitForBackup(second, backup.id, not: .creating).status == .available)
            try await database.write { db in
                try await db.raw("UPDATE volume_backups SET status = 'restoring' WHERE id = \(bind: backup.id)").run()
                try await db.raw("UPDATE volumes SET status = 'restoring-backup' WHERE id = 'v'").run()
                try await db.raw(
                    "INSERT INTO volume_restores VALUES ('v', \(bind: backup.id), 'available', 0)"
                ).run()
            }
        }
        let third = try await service()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await third.run() }
            defer { group.cancelAll() }
            let volume = try await BlockStorageUploadTests.waitForStatus(third, "v", not: .restoringBackup)
            #expect(volume.status == .available)
            let backups = try await third.backups(allProjects: false, caller: Self.member)
            #expect(backups.map(\.status).sorted { $0.rawValue < $1.rawValue } == [.available, .error])
        }
    }
}

/// An object store in memory, by account, container and name.
final class MemoryBackupObjects: BackupObjects {
    let objects = Mutex<[String: Data]>([:])

    var count: Int { objects.withLock { $0.count } }

    static func key(_ project: String, _ container: String, _ name: String) -> String {
        project + "/" + container + "/" + name
    }

    func prepareContainer(_ container: String, project: String) async throws {}

    func put(_ bytes: Data, as name: String, container: String, project: String) async throws {
        objects.withLock { $0[Self.key(project, container, name)] = bytes }
    }

    func get(_ name: String, container: String, project: String) async throws -> Data {
        guard let data = objects.withLock({ $0[Self.key(project, container, name)] }) else {
            throw UpdraftError(.notFound, "no object \(name)")
        }
        return data
    }

    func delete(_ name: String, container: String, project: String) async throws {
        _ = objects.withLock { $0.removeValue(forKey: Self.key(project, container, name)) }
    }

    func names(prefix: String, container: String, project: String) async throws -> [String] {
        let start = Self.key(project, container, prefix)
        return objects.withLock { all in
            all.keys.filter { $0.hasPrefix(start) }.map { String($0.dropFirst(Self.key(project, container, "").count)) }
        }
    }
}
