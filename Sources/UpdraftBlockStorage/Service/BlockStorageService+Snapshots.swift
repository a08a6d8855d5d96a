import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

extension BlockStorageService {
    /// Serves `GET /snapshots/{id}`.
    public func snapshot(_ id: String, caller: AuthContext) async throws -> VolumeSnapshot {
        guard let snapshot = try await database.read({ db in try await VolumeRepository.findSnapshot(id, db) }),
            Self.sees(caller, snapshot.projectID)
        else { throw Self.snapshotNotFound(id) }
        return snapshot
    }

    /// Serves `GET /snapshots[/detail]`: the caller's project's, or every project's for an
    /// administrator who asks (`all_tenants`).
    public func snapshots(allProjects: Bool, caller: AuthContext) async throws -> [VolumeSnapshot] {
        if Policy.isAdmin(caller) && allProjects {
            return try await database.read { db in try await VolumeRepository.snapshots(where: "1 = 1", db) }
        }
        let project = try Self.project(of: caller)
        return try await database.read { db in
            try await VolumeRepository.snapshots(where: "project_id = \(bind: project)", db)
        }
    }

    /// Serves `POST /snapshots`: a point-in-time copy of an available volume, or of an
    /// attached one, taken through its running guest's hypervisor so it is crash-consistent.
    /// With `attachedNeedsForce` (the API before 3.66 with `force: false`, as in Cinder) an
    /// attached volume is refused. Cinder also refuses it when `force` is left out; Updraft
    /// does not, because openstackclient 10.5 sends its create at 3.65 and drops `--force`
    /// (openstacksdk's snapshot knows the field as `is_forced`). Compute's snapshots of
    /// volume-backed servers are never refused.
    public func createSnapshot(
        volumeID: String, name: String?, description: String?, metadata: [String: String],
        attachedNeedsForce: Bool = false, caller: AuthContext
    ) async throws -> VolumeSnapshot {
        let volume = try await volumeToChange(volumeID, caller: caller)
        try Self.checkMetadata(metadata)
        try VolumeAction.snapshot.check(volume.status, volume: volumeID)
        if attachedNeedsForce && volume.status != .available {
            throw UpdraftError.badRequest(
                "Invalid volume: Volume \(volumeID) status must be available, but current status is: \(volume.status.rawValue).")
        }
        try await allowStorage(volume.projectID, gigabytes: volume.size)
        let id = UUID().uuidString.lowercased()
        let now = Self.now.timeIntervalSince1970
        try await database.transaction { db in
            try await self.checkQuota(
                project: volume.projectID, type: volume.typeName, adding: ["snapshots": 1, "gigabytes": volume.size],
                volumeSize: nil, db)
            try await db.raw(
                """
                INSERT INTO volume_snapshots (id, volume_id, project_id, user_id, name, description, size, status,
                  metadata, created_at, updated_at)
                VALUES (\(bind: id), \(bind: volumeID), \(bind: volume.projectID), \(bind: caller.userID), \(bind: name),
                  \(bind: description), \(bind: volume.size), \(bind: SnapshotStatus.creating.rawValue),
                  \(bind: try Self.json(metadata)), \(bind: now), \(bind: now))
                """
            ).run()
        }
        enqueue(.snapshot(id))
        return try await snapshot(id, caller: .system)
    }

    func finishSnapshot(_ id: String) async {
        do {
            guard let snapshot = try await database.read({ db in try await VolumeRepository.findSnapshot(id, db) }),
                snapshot.status == .creating,
                let volume = try await database.read({ db in try await VolumeRepository.find(snapshot.volumeID, db) })
            else { return }
            var taken = false
            if let hypervisor, let instance = volume.attachments.first(where: { $0.status == .attached })?.instanceID {
                taken = try await hypervisor.snapshot(
                    volume: volume.id, instance: instance, to: backend.liveSnapshotPath(id))
            }
            if !taken { try await backend.snapshot(volume.id, into: id) }
            try await database.write { db in try await VolumeRepository.setSnapshotStatus(id, .available, db) }
        } catch {
            logger.error("snapshot failed", metadata: ["snapshot": "\(id)", "error": "\(error)"])
            try? await backend.deleteSnapshot(id)
            try? await database.write { db in try await VolumeRepository.setSnapshotStatus(id, .error, db) }
        }
    }

    /// Serves `PUT /snapshots/{id}`.
    public func updateSnapshot(_ id: String, name: String??, description: String??, caller: AuthContext) async throws
        -> VolumeSnapshot
    {
        let snapshot = try await snapshot(id, caller: caller)
        try Self.authorizeChange(caller, snapshot.projectID)
        try await database.write { db in
            let now = Self.now.timeIntervalSince1970
            if let name {
                try await db.raw(
                    "UPDATE volume_snapshots SET name = \(bind: name), updated_at = \(bind: now) WHERE id = \(bind: id)"
                ).run()
            }
            if let description {
                try await db.raw(
                    """
                    UPDATE volume_snapshots SET description = \(bind: description), updated_at = \(bind: now)
                    WHERE id = \(bind: id)
                    """
                ).run()
            }
        }
        return try await self.snapshot(id, caller: caller)
    }

    /// Serves the snapshot metadata routes, as ``changeMetadata(of:caller:_:)`` does for volumes.
    public func changeSnapshotMetadata(
        of id: String, caller: AuthContext,
        _ transform: @escaping @Sendable ([String: String]) throws(UpdraftError) -> [String: String]
    ) async throws -> [String: String] {
        let snapshot = try await snapshot(id, caller: caller)
        try Self.authorizeChange(caller, snapshot.projectID)
        return try await database.write { db in
            guard let current = try await VolumeRepository.findSnapshot(id, db) else { throw Self.snapshotNotFound(id) }
            let updated = try transform(current.metadata)
            try Self.checkMetadata(updated)
            try await db.raw(
                """
                UPDATE volume_snapshots SET metadata = \(bind: try Self.json(updated)),
                updated_at = \(bind: Self.now.timeIntervalSince1970) WHERE id = \(bind: id)
                """
            ).run()
            return updated
        }
    }

    /// Serves `DELETE /snapshots/{id}` (and `os-force_delete` for administrators).
    public func deleteSnapshot(_ id: String, force: Bool, caller: AuthContext) async throws {
        let snapshot = try await snapshot(id, caller: caller)
        try Self.authorizeChange(caller, snapshot.projectID)
        if force {
            try Policy.authorize(caller, .admin)
        } else {
            guard [.available, .error, .errorDeleting].contains(snapshot.status) else {
                throw UpdraftError(
                    .badRequest,
                    "Invalid snapshot: Snapshot \(id) is \(snapshot.status.rawValue); its status must be available or error.")
            }
        }
        try await database.write { db in try await VolumeRepository.setSnapshotStatus(id, .deleting, db) }
        enqueue(.deleteSnapshot(id))
    }

    func finishDeleteSnapshot(_ id: String) async {
        do {
            try await backend.deleteSnapshot(id)
            try await database.write { db in try await db.raw("DELETE FROM volume_snapshots WHERE id = \(bind: id)").run() }
        } catch {
            logger.error("snapshot delete failed", metadata: ["snapshot": "\(id)", "error": "\(error)"])
            try? await database.write { db in try await VolumeRepository.setSnapshotStatus(id, .errorDeleting, db) }
        }
    }

    /// Serves `os-update_snapshot_status`: what the volume service reports of a snapshot being
    /// made (`creating` to `available` or `error`), as Cinder lets a member of its project do.
    public func updateSnapshotStatus(_ id: String, status: SnapshotStatus, progress: String?, caller: AuthContext)
        async throws
    {
        let snapshot = try await snapshot(id, caller: caller)
        try Self.authorizeChange(caller, snapshot.projectID)
        guard snapshot.status == .creating || snapshot.status == status else {
            throw UpdraftError(
                .badRequest,
                "Invalid snapshot: Snapshot \(id) is \(snapshot.status.rawValue); only a snapshot being created changes status.")
        }
        try await database.write { db in
            try await VolumeRepository.setSnapshotStatus(id, status, db)
            if let progress {
                try await db.raw("UPDATE volume_snapshots SET progress = \(bind: progress) WHERE id = \(bind: id)").run()
            }
        }
    }

    /// Serves `os-reset_status` on a snapshot (administrators).
    public func resetSnapshotStatus(_ id: String, status: SnapshotStatus, caller: AuthContext) async throws {
        try Policy.authorize(caller, .admin)
        _ = try await snapshot(id, caller: caller)
        try await database.write { db in try await VolumeRepository.setSnapshotStatus(id, status, db) }
    }
}
