import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Backups of volumes to the object store: the API's side. A backup is recorded `creating`
/// and the volume shows `backing-up` (a snapshot's backup marks the snapshot instead) until
/// the chunks are written after the answer; a restore marks the backup `restoring` and its
/// target volume `restoring-backup`.
extension BlockStorageService {
    static func backupNotFound(_ id: String) -> UpdraftError {
        UpdraftError(.notFound, "Backup \(id) could not be found.")
    }

    /// Serves `GET /backups/{id}`.
    public func backup(_ id: String, caller: AuthContext) async throws -> VolumeBackup {
        guard let backup = try await database.read({ db in try await VolumeRepository.findBackup(id, db) }),
            Self.sees(caller, backup.projectID)
        else { throw Self.backupNotFound(id) }
        return backup
    }

    /// Serves `GET /backups[/detail]`: the caller's project's, or every project's for an
    /// administrator who asks (`all_tenants`).
    public func backups(allProjects: Bool, caller: AuthContext) async throws -> [VolumeBackup] {
        if Policy.isAdmin(caller) && allProjects {
            return try await database.read { db in try await VolumeRepository.backups(where: "1 = 1", db) }
        }
        let project = try Self.project(of: caller)
        return try await database.read { db in
            try await VolumeRepository.backups(where: "b.project_id = \(bind: project)", db)
        }
    }

    func backupStore() throws(UpdraftError) -> any BackupObjects {
        guard let backupObjects else {
            throw UpdraftError(.badRequest, "Invalid input received: this cloud has no object store to keep backups in.")
        }
        return backupObjects
    }

    /// Serves `POST /backups`: a backup of an available volume, of an attached one with
    /// `force` (copied through its running guest's hypervisor, crash-consistent), or of one
    /// of its snapshots; incremental over the volume's latest available backup when asked.
    public func createBackup(_ request: BackupCreate, caller: AuthContext) async throws -> VolumeBackup {
        _ = try backupStore()
        let volume = try await volumeToChange(request.volumeID, caller: caller)
        try Self.checkMetadata(request.metadata)
        if let zone = request.availabilityZone, zone != configuration.availabilityZone {
            throw UpdraftError(.badRequest, "Invalid input received: Availability zone '\(zone)' is invalid.")
        }
        var dataTimestamp = Self.now
        if let snapshotID = request.snapshotID {
            let snapshot = try await self.snapshot(snapshotID, caller: caller)
            guard snapshot.volumeID == volume.id else {
                throw UpdraftError(
                    .badRequest, "Invalid input received: Snapshot \(snapshotID) is not a snapshot of volume \(volume.id).")
            }
            guard snapshot.status == .available else {
                throw UpdraftError(
                    .badRequest,
                    "Invalid snapshot: Snapshot to be backed up must be available, but the current status is \"\(snapshot.status.rawValue)\"."
                )
            }
            dataTimestamp = snapshot.createdAt
        } else {
            try VolumeAction.backup.check(volume.status, volume: volume.id)
            if volume.status == .inUse && !request.force {
                throw UpdraftError(.badRequest, "Invalid volume: Backing up an in-use volume must use the force flag.")
            }
        }
        let parent = request.incremental ? try await latestBackup(of: volume) : nil
        if request.incremental && parent == nil {
            throw UpdraftError(.badRequest, "Invalid backup: No backups available to do an incremental backup.")
        }
        // An incremental backup may name another container than its parent's, as in Cinder:
        // its manifest says where each chunk it did not write again is.
        let container = request.container ?? configuration.backupContainer
        try Self.checkContainer(container)
        if let parent, parent.account != volume.projectID {
            throw UpdraftError(
                .badRequest, "Invalid backup: backup \(parent.id) is kept in another project's account; back up in full.")
        }
        let now = Self.now
        let id = UUID().uuidString.lowercased()
        let backup = VolumeBackup(
            id: id, projectID: volume.projectID, userID: caller.userID, volumeID: volume.id,
            snapshotID: request.snapshotID, parentID: parent?.id, name: request.name, description: request.description,
            container: container, account: volume.projectID,
            objectPrefix: BackupManifest.prefix(volume: volume.id, backup: id), status: .creating, failReason: nil,
            size: volume.size,
            objectCount: 0, availabilityZone: configuration.availabilityZone, metadata: request.metadata,
            dataTimestamp: dataTimestamp, createdAt: now, updatedAt: now, hasDependents: false)
        try await database.transaction { db in
            try await self.checkQuota(
                project: volume.projectID, type: volume.typeName,
                adding: ["backups": 1, "backup_gigabytes": volume.size], volumeSize: nil, db)
            try await VolumeRepository.insert(backup, db)
            if let snapshotID = request.snapshotID {
                try await VolumeRepository.setSnapshotStatus(snapshotID, .backingUp, db)
            } else {
                try await VolumeRepository.begin(.backingUp, on: volume.id, from: volume.status, db)
            }
        }
        enqueue(.backup(backup.id))
        logger.info("volume backup accepted", metadata: ["volume": "\(volume.id)", "backup": "\(backup.id)"])
        return backup
    }

    /// The volume's available backup with the newest data in its project, which an
    /// incremental one builds on.
    func latestBackup(of volume: Volume) async throws -> VolumeBackup? {
        try await database.read { db in
            try await VolumeRepository.backups(
                where: """
                    b.volume_id = \(bind: volume.id) AND b.project_id = \(bind: volume.projectID)
                    AND b.status = \(bind: BackupStatus.available.rawValue)
                    """, db)
        }.max { ($0.dataTimestamp, $0.createdAt) < ($1.dataTimestamp, $1.createdAt) }
    }

    /// Checks a container name as object storage would take it: 1 to 255 bytes, no slash.
    static func checkContainer(_ name: String) throws(UpdraftError) {
        guard !name.isEmpty, name.utf8.count <= 255, !name.contains("/") else {
            throw .badRequest("Invalid input received: container must be 1 to 255 characters without '/'.")
        }
    }

    /// Serves `PUT /backups/{id}` (3.9+): name, description and (3.43+) metadata.
    public func updateBackup(
        _ id: String, name: String??, description: String??, metadata: [String: String]?, caller: AuthContext
    ) async throws -> VolumeBackup {
        let backup = try await backup(id, caller: caller)
        try Self.authorizeChange(caller, backup.projectID)
        if let metadata { try Self.checkMetadata(metadata) }
        try await database.write { db in
            let now = Self.now.timeIntervalSince1970
            if let name {
                try await db.raw(
                    "UPDATE volume_backups SET name = \(bind: name), updated_at = \(bind: now) WHERE id = \(bind: id)"
                )
                .run()
            }
            if let description {
                try await db.raw(
                    "UPDATE volume_backups SET description = \(bind: description), updated_at = \(bind: now) WHERE id = \(bind: id)"
                ).run()
            }
            if let metadata {
                try await db.raw(
                    """
                    UPDATE volume_backups SET metadata = \(bind: try Self.json(metadata)), updated_at = \(bind: now)
                    WHERE id = \(bind: id)
                    """
                ).run()
            }
        }
        return try await self.backup(id, caller: caller)
    }

    /// Serves `DELETE /backups/{id}` (and `os-force_delete` for administrators): its objects
    /// go after the answer. A backup others build on stays until they are deleted.
    public func deleteBackup(_ id: String, force: Bool, caller: AuthContext) async throws {
        let backup = try await backup(id, caller: caller)
        try Self.authorizeChange(caller, backup.projectID)
        if force {
            try Policy.authorize(caller, .admin)
        } else if ![.available, .error].contains(backup.status) {
            throw UpdraftError(.badRequest, "Invalid backup: Backup status must be available or error")
        }
        if backup.hasDependents {
            throw UpdraftError(.badRequest, "Invalid backup: Incremental backups exist for this backup.")
        }
        try await database.write { db in _ = try await VolumeRepository.setBackupStatus(id, .deleting, db) }
        enqueue(.deleteBackup(id))
    }

    /// Serves `os-reset_status` on a backup (administrators): `available` or `error`.
    public func resetBackupStatus(_ id: String, status: BackupStatus, caller: AuthContext) async throws {
        try Policy.authorize(caller, .admin)
        _ = try await backup(id, caller: caller)
        guard [.available, .error].contains(status) else {
            throw UpdraftError(.badRequest, "Invalid input received: a backup's status can be reset to available or error.")
        }
        try await database.write { db in _ = try await VolumeRepository.setBackupStatus(id, status, db) }
    }

    /// A backup `caller` may restore: their project's, and available.
    func restorable(_ id: String, caller: AuthContext) async throws -> VolumeBackup {
        let backup = try await backup(id, caller: caller)
        try Self.authorizeChange(caller, backup.projectID)
        guard backup.status == .available else {
            throw UpdraftError(.badRequest, "Invalid backup: Backup status must be available")
        }
        return backup
    }

    /// Serves `POST /backups/{id}/restore`: into an available volume at least as large, or
    /// into a new one of the backup's size (`restore_backup_<id>` unless named), which counts
    /// against the quota as any new volume does.
    public func restoreBackup(_ id: String, volumeID: String?, name: String?, caller: AuthContext) async throws
        -> BackupRestore
    {
        _ = try backupStore()
        let backup = try await restorable(id, caller: caller)
        guard let volumeID else {
            var create = VolumeCreate()
            create.backupID = id
            create.name = name ?? "restore_backup_\(id)"
            let volume = try await createVolume(create, caller: caller, restoring: true)
            return BackupRestore(backupID: id, volumeID: volume.id, volumeName: volume.name)
        }
        let volume = try await volumeToChange(volumeID, caller: caller)
        guard volume.status == .available else {
            throw UpdraftError(
                .badRequest,
                "Invalid volume: Volume to be restored to must be available, but the current status is \"\(volume.status.rawValue)\"."
            )
        }
        guard volume.size >= backup.size else {
            throw UpdraftError(
                .badRequest,
                "Invalid volume: volume size \(volume.size) is too small to restore backup of size \(backup.size).")
        }
        try await database.transaction { db in
            try await VolumeRepository.begin(.restoringBackup, on: volumeID, from: .available, db)
            try await Self.beginRestore(id, into: volumeID, finally: .available, db)
        }
        enqueue(.restore(volume: volumeID))
        return BackupRestore(backupID: id, volumeID: volumeID, volumeName: volume.name)
    }

    /// Marks `backup` restoring into `volume` and records the restore, so a restart runs it
    /// again; 400 when the backup stopped being available meanwhile.
    static func beginRestore(_ backupID: String, into volumeID: String, finally status: VolumeStatus, _ db: any SQLDatabase)
        async throws
    {
        guard try await VolumeRepository.setBackupStatus(backupID, .restoring, from: [.available], db) else {
            throw UpdraftError(.badRequest, "Invalid backup: Backup status must be available")
        }
        try await db.raw(
            """
            INSERT INTO volume_restores (volume_id, backup_id, final_status, created_at)
            VALUES (\(bind: volumeID), \(bind: backupID), \(bind: status.rawValue), \(bind: now.timeIntervalSince1970))
            """
        ).run()
    }

    // MARK: Records

    /// What `export_record` hands out: every field of the backup's row, so that an import
    /// elsewhere (or after its row is gone) finds its objects again.
    struct BackupRecord: Codable {
        var id: String
        var projectID: String
        var userID: String
        var volumeID: String
        var snapshotID: String?
        var parentID: String?
        var name: String?
        var description: String?
        var container: String
        var account: String
        var objectPrefix: String
        var size: Int
        var objectCount: Int
        var metadata: [String: String]
        var dataTimestamp: Double
    }

    /// The driver name a record carries, as Cinder's Swift backup driver writes it.
    public static let backupService = "cinder.backup.drivers.swift.SwiftBackupDriver"

    /// Serves `GET /backups/{id}/export_record` (administrators): the backup's record as
    /// base64 JSON.
    public func exportBackupRecord(_ id: String, caller: AuthContext) async throws -> (service: String, url: String) {
        try Policy.authorize(caller, .admin)
        let backup = try await backup(id, caller: caller)
        guard backup.status == .available else {
            throw UpdraftError(.badRequest, "Invalid backup: Backup status must be available and not \(backup.status.rawValue).")
        }
        let record = BackupRecord(
            id: backup.id, projectID: backup.projectID, userID: backup.userID, volumeID: backup.volumeID,
            snapshotID: backup.snapshotID, parentID: backup.parentID, name: backup.name, description: backup.description,
            container: backup.container, account: backup.account, objectPrefix: backup.objectPrefix, size: backup.size,
            objectCount: backup.objectCount,
            metadata: backup.metadata, dataTimestamp: backup.dataTimestamp.timeIntervalSince1970)
        return (Self.backupService, try JSONEncoder().encode(record).base64EncodedString())
    }

    /// Serves `POST /backups/import_record` (administrators): the backup of an exported
    /// record, in the caller's project, available once its manifest is found in the object store.
    public func importBackupRecord(service: String, url: String, caller: AuthContext) async throws -> VolumeBackup {
        try Policy.authorize(caller, .admin)
        let objects = try backupStore()
        let project = try Self.project(of: caller)
        guard service == Self.backupService else {
            throw UpdraftError(.badRequest, "Invalid input received: backup_service \(service) is not this cloud's.")
        }
        guard let data = Data(base64Encoded: url), let record = try? JSONDecoder().decode(BackupRecord.self, from: data) else {
            throw UpdraftError(.badRequest, "Invalid input received: backup_url is not a backup record.")
        }
        if try await database.read({ db in try await VolumeRepository.findBackup(record.id, db) }) != nil {
            throw UpdraftError(.badRequest, "Invalid backup: Backup already exists in database.")
        }
        let chunks = BackupChunks(objects: objects, container: record.container, project: record.account)
        let found = (try? await chunks.manifest(prefix: record.objectPrefix)) != nil
        let now = Self.now
        let backup = VolumeBackup(
            id: record.id, projectID: project, userID: caller.userID, volumeID: record.volumeID,
            snapshotID: record.snapshotID, parentID: record.parentID, name: record.name, description: record.description,
            container: record.container, account: record.account, objectPrefix: record.objectPrefix,
            status: found ? .available : .error,
            failReason: found ? nil : "The backup's objects are not in container \(record.container).", size: record.size,
            objectCount: record.objectCount, availabilityZone: configuration.availabilityZone, metadata: record.metadata,
            dataTimestamp: Date(timeIntervalSince1970: record.dataTimestamp), createdAt: now, updatedAt: now,
            hasDependents: false)
        try await database.write { db in try await VolumeRepository.insert(backup, db) }
        return backup
    }
}
