import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Backups' slow work, after the API has answered: writing the chunks, restoring them into
/// a volume, deleting them; and what a restart does with work it cut short.
extension BlockStorageService {
    /// Where backups and restores keep volumes' raw bytes while they move.
    var backupScratchDirectory: String { scratchDirectory + "/backups" }

    /// Where a backup or a restore keeps the volume's raw bytes while they move.
    func backupScratch(_ name: String) throws -> String {
        let directory = backupScratchDirectory
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return directory + "/" + name + ".raw"
    }

    func chunks(of backup: VolumeBackup, _ objects: any BackupObjects) -> BackupChunks {
        BackupChunks(objects: objects, container: backup.container, project: backup.account)
    }

    /// Copies the volume (or snapshot) of a `creating` backup to raw, writes its changed
    /// chunks and manifest, and gives the volume its status back. A failure leaves the
    /// backup `error` with the reason, and its objects removed.
    func finishBackup(_ id: String) async {
        guard let objects = backupObjects,
            let backup = try? await database.read({ db in try await VolumeRepository.findBackup(id, db) }),
            backup.status == .creating
        else { return }
        let chunks = chunks(of: backup, objects)
        var scratch: String?
        defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
        do {
            guard let volume = try await database.read({ db in try await VolumeRepository.find(backup.volumeID, db) }) else {
                throw UpdraftError(.conflict, "Volume \(backup.volumeID) is gone.")
            }
            let file = try backupScratch(id)
            scratch = file
            if let snapshotID = backup.snapshotID {
                try await backend.export(backend.location(snapshot: snapshotID), format: "raw", to: file)
            } else {
                _ = try await export(volume, format: "raw", to: file)
            }
            try await objects.prepareContainer(backup.container, project: backup.account)
            var parent: (manifest: BackupManifest, container: String)?
            if let parentID = backup.parentID,
                let found = try await database.read({ db in try await VolumeRepository.findBackup(parentID, db) })
            {
                parent = (try await self.chunks(of: found, objects).manifest(prefix: found.objectPrefix), found.container)
            }
            let start = BackupManifest(
                format: BackupManifest.currentFormat, backupID: id, volumeID: volume.id,
                sizeBytes: Int64(volume.size) << 30, chunkBytes: configuration.backupChunkBytes, parentID: backup.parentID,
                chunks: [], metadata: volume.metadata, bootable: volume.bootable, imageMetadata: volume.imageMetadata)
            let (manifest, written) = try await chunks.write(
                file: file, prefix: backup.objectPrefix, into: start, parent: parent?.manifest,
                parentContainer: parent?.container)
            try await database.transaction { db in
                try await db.raw(
                    """
                    UPDATE volume_backups SET status = \(bind: BackupStatus.available.rawValue),
                      object_count = \(bind: written), updated_at = \(bind: Self.now.timeIntervalSince1970)
                    WHERE id = \(bind: id) AND status = \(bind: BackupStatus.creating.rawValue)
                    """
                ).run()
                try await Self.endBackup(backup, db)
            }
            logger.info(
                "volume backed up",
                metadata: [
                    "volume": "\(volume.id)", "backup": "\(id)", "chunks": "\(manifest.chunks.count)",
                    "objects_written": "\(written)",
                ])
        } catch {
            logger.error("volume backup failed", metadata: ["backup": "\(id)", "error": "\(error)"])
            try? await chunks.delete(prefix: backup.objectPrefix)
            try? await database.transaction { db in
                try await VolumeRepository.setBackupStatus(id, .error, failReason: "\(error)", db)
                try await Self.endBackup(backup, db)
            }
        }
    }

    /// Gives the volume (or snapshot) a backup read its status back.
    static func endBackup(_ backup: VolumeBackup, _ db: any SQLDatabase) async throws {
        if let snapshotID = backup.snapshotID {
            try await db.raw(
                """
                UPDATE volume_snapshots SET status = \(bind: SnapshotStatus.available.rawValue)
                WHERE id = \(bind: snapshotID) AND status = \(bind: SnapshotStatus.backingUp.rawValue)
                """
            ).run()
        } else {
            try await VolumeRepository.restorePreviousStatus(backup.volumeID, from: .backingUp, db)
        }
    }

    /// Removes a `deleting` backup's objects, then its row; `error` when the object store refuses.
    func finishDeleteBackup(_ id: String) async {
        guard let backup = try? await database.read({ db in try await VolumeRepository.findBackup(id, db) }),
            backup.status == .deleting
        else { return }
        do {
            if let objects = backupObjects, try await !Self.sharesObjects(backup, db: database) {
                try await chunks(of: backup, objects).delete(prefix: backup.objectPrefix)
            }
            try await database.write { db in try await db.raw("DELETE FROM volume_backups WHERE id = \(bind: id)").run() }
        } catch {
            logger.error("backup delete failed", metadata: ["backup": "\(id)", "error": "\(error)"])
            try? await database.write { db in
                _ = try await VolumeRepository.setBackupStatus(id, .error, failReason: "\(error)", db)
            }
        }
    }

    /// Writes the backup a restore names into its volume, which then takes the backup's
    /// bootable flag and image metadata. A failure leaves the volume `error_restoring`; the
    /// backup is available again either way.
    func finishRestore(_ volumeID: String) async {
        guard
            let pending = try? await database.read({ db in
                try await VolumeRepository.pendingRestores(where: "volume_id = \(bind: volumeID)", db)
            }).first
        else { return }
        var scratch: String?
        defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
        do {
            let objects = try backupStore()
            guard let backup = try await database.read({ db in try await VolumeRepository.findBackup(pending.backupID, db) }),
                let volume = try await database.read({ db in try await VolumeRepository.find(volumeID, db) })
            else { throw UpdraftError(.conflict, "The backup or the volume of a restore is gone.") }
            let chunks = chunks(of: backup, objects)
            let manifest = try await chunks.manifest(prefix: backup.objectPrefix)
            let file = try backupScratch(volumeID + ".restore")
            scratch = file
            try await chunks.restore(manifest, to: file)
            try await backend.create(volumeID, sizeGB: volume.size, copying: .file(path: file, format: "raw"))
            try await database.transaction { db in
                try await db.raw(
                    """
                    UPDATE volumes SET status = \(bind: pending.finalStatus.rawValue), previous_status = NULL,
                      metadata = \(bind: try Self.json(volume.metadata.merging(manifest.metadata) { _, saved in saved })),
                      bootable = \(bind: manifest.bootable), image_metadata = \(bind: try Self.json(manifest.imageMetadata)),
                      updated_at = \(bind: Self.now.timeIntervalSince1970)
                    WHERE id = \(bind: volumeID)
                    """
                ).run()
                try await Self.endRestore(pending, db)
            }
            logger.info("backup restored", metadata: ["backup": "\(backup.id)", "volume": "\(volumeID)"])
        } catch {
            logger.error("backup restore failed", metadata: ["volume": "\(volumeID)", "error": "\(error)"])
            try? await database.transaction { db in
                _ = try await VolumeRepository.setStatus(volumeID, .errorRestoring, db)
                try await Self.endRestore(pending, db)
            }
        }
    }

    /// Whether another backup (an imported copy of its record) names the same objects,
    /// which then stay for it.
    static func sharesObjects(_ backup: VolumeBackup, db database: Database) async throws -> Bool {
        try await database.read { db in
            try await db.raw(
                """
                SELECT id FROM volume_backups WHERE id <> \(bind: backup.id) AND account = \(bind: backup.account)
                  AND container = \(bind: backup.container) AND object_prefix = \(bind: backup.objectPrefix)
                """
            ).first() != nil
        }
    }

    static func endRestore(_ restore: VolumeRepository.PendingRestore, _ db: any SQLDatabase) async throws {
        try await db.raw("DELETE FROM volume_restores WHERE volume_id = \(bind: restore.volumeID)").run()
        try await VolumeRepository.setBackupStatus(restore.backupID, .available, from: [.restoring], db)
    }

    /// After a restart: a backup being written is an error (its volume gets its status back
    /// and a delete removes what it wrote); deletes and restores run again; a backup left
    /// `restoring` by no restore is available. Returns the volumes whose restore runs again.
    func recoverBackups() async throws -> Set<String> {
        let (backups, restores) = try await database.read { db in
            (
                try await VolumeRepository.backups(where: "b.status IN ('creating', 'deleting', 'restoring')", db),
                try await VolumeRepository.pendingRestores(where: "1 = 1", db)
            )
        }
        // No job runs yet: what is in the scratch directory was left by a crash.
        try? FileManager.default.removeItem(atPath: backupScratchDirectory)
        let restoring = Set(restores.map(\.backupID))
        for backup in backups {
            switch backup.status {
            case .creating:
                try await database.transaction { db in
                    try await VolumeRepository.setBackupStatus(
                        backup.id, .error, failReason: "Interrupted by a restart of the volume service.", db)
                    try await Self.endBackup(backup, db)
                }
            case .deleting: enqueue(.deleteBackup(backup.id))
            case .restoring where !restoring.contains(backup.id):
                try await database.write { db in _ = try await VolumeRepository.setBackupStatus(backup.id, .available, db) }
            default: break
            }
        }
        for restore in restores { enqueue(.restore(volume: restore.volumeID)) }
        return Set(restores.map(\.volumeID))
    }
}
