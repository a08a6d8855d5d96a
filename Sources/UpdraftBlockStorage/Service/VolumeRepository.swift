import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// The SQL of volumes, snapshots and attachments: rows in, models out.
enum VolumeRepository {
    static let volumeColumns = """
        v.id, v.project_id, v.user_id, v.name, v.description, v.size, v.status, v.availability_zone, v.type_id,
        t.name AS type_name, v.bootable, v.readonly, v.snapshot_id, v.source_volid, v.image_id, v.metadata,
        v.image_metadata, v.multiattach, v.created_at, v.updated_at
        """

    static func volume(_ row: any SQLRow) throws -> Volume {
        Volume(
            id: try row.string("id"), projectID: try row.string("project_id"), userID: try row.string("user_id"),
            name: try row.optionalString("name"), description: try row.optionalString("description"),
            size: try row.int("size"), status: VolumeStatus(rawValue: try row.string("status")) ?? .error,
            availabilityZone: try row.string("availability_zone"), typeID: try row.string("type_id"),
            typeName: try row.optionalString("type_name") ?? "", bootable: try row.bool("bootable"),
            readOnly: try row.decodeNil(column: "readonly") ? nil : try row.bool("readonly"),
            snapshotID: try row.optionalString("snapshot_id"), sourceVolumeID: try row.optionalString("source_volid"),
            imageID: try row.optionalString("image_id"),
            metadata: try BlockStorageService.map(try row.string("metadata")),
            imageMetadata: try BlockStorageService.map(try row.string("image_metadata")),
            multiattach: try row.bool("multiattach"),
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")),
            updatedAt: Date(timeIntervalSince1970: try row.double("updated_at")))
    }

    /// Volumes matching `condition` (SQL over `v` and their type `t`), with their attachments,
    /// oldest first unless `order` (what follows `ORDER BY`) says otherwise.
    static func volumes(
        where condition: SQLQueryString, orderedBy order: SQLQueryString = "v.created_at, v.id", _ db: any SQLDatabase
    ) async throws -> [Volume] {
        let rows = try await db.raw(
            """
            SELECT \(unsafeRaw: volumeColumns) FROM volumes v LEFT JOIN volume_types t ON t.id = v.type_id
            WHERE \(condition) ORDER BY \(order)
            """
        ).all()
        var volumes = try rows.map(volume)
        guard !volumes.isEmpty else { return [] }
        let byVolume = try await attachments(of: volumes.map(\.id), db)
        for index in volumes.indices { volumes[index].attachments = byVolume[volumes[index].id] ?? [] }
        return volumes
    }

    static func find(_ id: String, _ db: any SQLDatabase) async throws -> Volume? {
        try await volumes(where: "v.id = \(bind: id)", db).first
    }

    static func attachment(_ row: any SQLRow) throws -> VolumeAttachment {
        VolumeAttachment(
            id: try row.string("id"), volumeID: try row.string("volume_id"),
            instanceID: try row.optionalString("instance_id"),
            status: AttachmentStatus(rawValue: try row.string("status")) ?? .errorAttaching,
            attachMode: try row.string("attach_mode"), host: try row.optionalString("host"),
            device: try row.optionalString("device"),
            attachedAt: try row.optionalDouble("attached_at").map(Date.init(timeIntervalSince1970:)),
            projectID: try row.string("project_id"))
    }

    static let attachmentColumns =
        "a.id, a.volume_id, a.instance_id, a.status, a.attach_mode, a.host, a.device, a.attached_at, v.project_id"

    static func attachments(where condition: SQLQueryString, _ db: any SQLDatabase) async throws -> [VolumeAttachment] {
        try await db.raw(
            """
            SELECT \(unsafeRaw: attachmentColumns) FROM volume_attachments a JOIN volumes v ON v.id = a.volume_id
            WHERE \(condition) ORDER BY a.created_at, a.id
            """
        ).all().map(attachment)
    }

    /// The attachments of `volumes`, by volume id.
    static func attachments(of volumes: [String], _ db: any SQLDatabase) async throws -> [String: [VolumeAttachment]] {
        let found: [VolumeAttachment]
        if volumes.count <= 500 {
            found = try await attachments(where: "a.volume_id IN (\(binds: volumes))", db)
        } else {
            let wanted = Set(volumes)
            found = try await attachments(where: "1 = 1", db).filter { wanted.contains($0.volumeID) }
        }
        return Dictionary(grouping: found, by: \.volumeID)
    }

    static func snapshot(_ row: any SQLRow) throws -> VolumeSnapshot {
        VolumeSnapshot(
            id: try row.string("id"), volumeID: try row.string("volume_id"), projectID: try row.string("project_id"),
            userID: try row.string("user_id"), name: try row.optionalString("name"),
            description: try row.optionalString("description"), size: try row.int("size"),
            status: SnapshotStatus(rawValue: try row.string("status")) ?? .error,
            progress: try row.optionalString("progress"),
            metadata: try BlockStorageService.map(try row.string("metadata")),
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")),
            updatedAt: Date(timeIntervalSince1970: try row.double("updated_at")))
    }

    static func snapshots(where condition: SQLQueryString, _ db: any SQLDatabase) async throws -> [VolumeSnapshot] {
        try await db.raw(
            """
            SELECT id, volume_id, project_id, user_id, name, description, size, status, progress, metadata, created_at,
              updated_at
            FROM volume_snapshots WHERE \(condition) ORDER BY created_at, id
            """
        ).all().map(snapshot)
    }

    static func findSnapshot(_ id: String, _ db: any SQLDatabase) async throws -> VolumeSnapshot? {
        try await snapshots(where: "id = \(bind: id)", db).first
    }

    /// Sets a volume's status (and `updated_at`), optionally only from `expected`; returns
    /// whether a row changed.
    @discardableResult
    static func setStatus(
        _ id: String, _ status: VolumeStatus, from expected: [VolumeStatus]? = nil, _ db: any SQLDatabase
    ) async throws -> Bool {
        let now = BlockStorageService.now.timeIntervalSince1970
        let rows: [any SQLRow]
        if let expected {
            rows = try await db.raw(
                """
                UPDATE volumes SET status = \(bind: status.rawValue), updated_at = \(bind: now)
                WHERE id = \(bind: id) AND status IN (\(binds: expected.map(\.rawValue))) RETURNING id
                """
            ).all()
        } else {
            rows = try await db.raw(
                """
                UPDATE volumes SET status = \(bind: status.rawValue), updated_at = \(bind: now)
                WHERE id = \(bind: id) RETURNING id
                """
            ).all()
        }
        return !rows.isEmpty
    }

    /// Puts a volume that is still in `current` into `status` for a piece of work, keeping
    /// `current` to go back to (``restorePreviousStatus(_:from:_:)``); 400 if it changed meanwhile.
    static func begin(_ status: VolumeStatus, on id: String, from current: VolumeStatus, _ db: any SQLDatabase)
        async throws
    {
        guard
            try await db.raw(
                """
                UPDATE volumes SET status = \(bind: status.rawValue), previous_status = \(bind: current.rawValue),
                updated_at = \(bind: BlockStorageService.now.timeIntervalSince1970)
                WHERE id = \(bind: id) AND status = \(bind: current.rawValue) RETURNING id
                """
            ).all().count == 1
        else { throw UpdraftError(.badRequest, "Invalid volume: Volume \(id) changed status; try again.") }
    }

    /// Gives a volume in `current` the status it had before (`available` when none was kept).
    static func restorePreviousStatus(_ id: String, from current: VolumeStatus, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            UPDATE volumes SET status = COALESCE(previous_status, 'available'), previous_status = NULL,
            updated_at = \(bind: BlockStorageService.now.timeIntervalSince1970)
            WHERE id = \(bind: id) AND status = \(bind: current.rawValue)
            """
        ).run()
    }

    static func setSnapshotStatus(_ id: String, _ status: SnapshotStatus, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            UPDATE volume_snapshots SET status = \(bind: status.rawValue),
            updated_at = \(bind: BlockStorageService.now.timeIntervalSince1970) WHERE id = \(bind: id)
            """
        ).run()
    }
}
