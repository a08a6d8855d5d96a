import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// The SQL of backups and of restores in progress.
extension VolumeRepository {
    static func backup(_ row: any SQLRow) throws -> VolumeBackup {
        VolumeBackup(
            id: try row.string("id"), projectID: try row.string("project_id"), userID: try row.string("user_id"),
            volumeID: try row.string("volume_id"), snapshotID: try row.optionalString("snapshot_id"),
            parentID: try row.optionalString("parent_id"), name: try row.optionalString("name"),
            description: try row.optionalString("description"), container: try row.string("container"),
            account: try row.string("account"), objectPrefix: try row.string("object_prefix"),
            status: BackupStatus(rawValue: try row.string("status")) ?? .error,
            failReason: try row.optionalString("fail_reason"), size: try row.int("size"),
            objectCount: try row.int("object_count"), availabilityZone: try row.string("availability_zone"),
            metadata: try BlockStorageService.map(try row.string("metadata")),
            dataTimestamp: Date(timeIntervalSince1970: try row.double("data_timestamp")),
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")),
            updatedAt: Date(timeIntervalSince1970: try row.double("updated_at")),
            hasDependents: try row.int("dependents") > 0)
    }

    static func backups(where condition: SQLQueryString, _ db: any SQLDatabase) async throws -> [VolumeBackup] {
        try await db.raw(
            """
            SELECT b.*, (SELECT COUNT(*) FROM volume_backups c WHERE c.parent_id = b.id) AS dependents
            FROM volume_backups b WHERE \(condition) ORDER BY b.created_at, b.id
            """
        ).all().map(backup)
    }

    static func findBackup(_ id: String, _ db: any SQLDatabase) async throws -> VolumeBackup? {
        try await backups(where: "b.id = \(bind: id)", db).first
    }

    static func insert(_ backup: VolumeBackup, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO volume_backups (id, project_id, user_id, volume_id, snapshot_id, parent_id, name, description,
              container, account, object_prefix, status, fail_reason, size, object_count, availability_zone, metadata, data_timestamp,
              created_at, updated_at)
            VALUES (\(bind: backup.id), \(bind: backup.projectID), \(bind: backup.userID), \(bind: backup.volumeID),
              \(bind: backup.snapshotID), \(bind: backup.parentID), \(bind: backup.name), \(bind: backup.description),
              \(bind: backup.container), \(bind: backup.account), \(bind: backup.objectPrefix), \(bind: backup.status.rawValue), \(bind: backup.failReason),
              \(bind: backup.size), \(bind: backup.objectCount), \(bind: backup.availabilityZone),
              \(bind: try BlockStorageService.json(backup.metadata)), \(bind: backup.dataTimestamp.timeIntervalSince1970),
              \(bind: backup.createdAt.timeIntervalSince1970), \(bind: backup.updatedAt.timeIntervalSince1970))
            """
        ).run()
    }

    /// Sets a backup's status (and `fail_reason` when given), optionally only from `expected`;
    /// returns whether a row changed.
    @discardableResult
    static func setBackupStatus(
        _ id: String, _ status: BackupStatus, from expected: [BackupStatus]? = nil, failReason: String? = nil,
        _ db: any SQLDatabase
    ) async throws -> Bool {
        let now = BlockStorageService.now.timeIntervalSince1970
        let guardClause: SQLQueryString =
            if let expected { "AND status IN (\(binds: expected.map(\.rawValue)))" } else { "" }
        return try await !db.raw(
            """
            UPDATE volume_backups SET status = \(bind: status.rawValue),
              fail_reason = COALESCE(\(bind: failReason), fail_reason), updated_at = \(bind: now)
            WHERE id = \(bind: id) \(guardClause) RETURNING id
            """
        ).all().isEmpty
    }

    /// A restore of `backup` into `volume` that is to leave the volume `finalStatus`.
    struct PendingRestore: Sendable {
        var volumeID: String
        var backupID: String
        var finalStatus: VolumeStatus
    }

    static func pendingRestores(where condition: SQLQueryString, _ db: any SQLDatabase) async throws -> [PendingRestore] {
        try await db.raw("SELECT volume_id, backup_id, final_status FROM volume_restores WHERE \(condition)").all().map {
            row in
            PendingRestore(
                volumeID: try row.string("volume_id"), backupID: try row.string("backup_id"),
                finalStatus: VolumeStatus(rawValue: try row.string("final_status")) ?? .available)
        }
    }
}
