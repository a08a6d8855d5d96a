import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// What a volume create asks for, read from `{"volume": {...}}` by the API.
public struct VolumeCreate: Sendable, Equatable {
    public var size: Int?
    public var name: String?
    public var description: String?
    /// A type's name or id; the default type when nil.
    public var type: String?
    public var availabilityZone: String?
    public var metadata: [String: String] = [:]
    public var snapshotID: String?
    public var sourceVolumeID: String?
    public var imageID: String?
    /// A backup to restore into the new volume (3.47+).
    public var backupID: String?
    public var multiattach = false

    public init() {}
}

/// Which volumes a list shows, and in what order.
public struct VolumeFilter: Sendable {
    /// Every project's (an administrator's `all_tenants`), or one project's.
    public var allProjects = false
    public var projectID: String?
    /// Attribute filters: `name`, `status`, `bootable`, `availability_zone`, ... compared as text.
    public var attributes: [String: String] = [:]
    public var metadata: [String: String] = [:]

    public init() {}
}

extension BlockStorageService {
    // MARK: Reads

    /// Serves `GET /volumes/{id}`: a volume the caller may see.
    public func volume(_ id: String, caller: AuthContext) async throws -> Volume {
        guard let volume = try await database.read({ db in try await VolumeRepository.find(id, db) }),
            Self.sees(caller, volume.projectID)
        else { throw Self.volumeNotFound(id) }
        return volume
    }

    /// A volume the caller may change (member of its project, or an administrator).
    func volumeToChange(_ id: String, caller: AuthContext) async throws -> Volume {
        let volume = try await volume(id, caller: caller)
        try Self.authorizeChange(caller, volume.projectID)
        return volume
    }

    /// Serves `GET /volumes[/detail]`: the volumes the filter picks that the caller may see.
    public func volumes(_ filter: VolumeFilter, caller: AuthContext) async throws -> [Volume] {
        let project = try listedProject(filter, caller: caller)
        let all = try await database.read { db in
            if let project {
                return try await VolumeRepository.volumes(where: "v.project_id = \(bind: project)", db)
            }
            return try await VolumeRepository.volumes(where: "1 = 1", db)
        }
        return all.filter { Self.matches($0, filter) }
    }

    static func matches(_ volume: Volume, _ filter: VolumeFilter) -> Bool {
        for (key, wanted) in filter.attributes {
            let value: String?
            switch key {
            case "name": value = volume.name
            case "status": value = volume.status.rawValue
            case "bootable": value = volume.bootable ? "true" : "false"
            case "availability_zone": value = volume.availabilityZone
            case "volume_type": value = volume.typeName
            case "volume_type_id": value = volume.typeID
            case "snapshot_id": value = volume.snapshotID
            case "source_volid": value = volume.sourceVolumeID
            case "user_id": value = volume.userID
            case "id": value = volume.id
            default: continue
            }
            if key == "bootable" {
                let truth = ["true", "1", "yes", "on"].contains(wanted.lowercased())
                if volume.bootable != truth { return false }
            } else if value != wanted {
                return false
            }
        }
        for (key, wanted) in filter.metadata where volume.metadata[key] != wanted { return false }
        return true
    }

    // MARK: Create

    /// Serves `POST /volumes`: records the volume as `creating` and makes its storage after
    /// the answer. Refuses sizes and sources that cannot work, and what the quota does not allow.
    /// A volume from a backup is written by a restore, which marks the backup `restoring`;
    /// `restoring` shows the volume as a backup restore's target (`restoring-backup`).
    public func createVolume(_ request: VolumeCreate, caller: AuthContext, restoring: Bool = false) async throws -> Volume {
        let project = try Self.project(of: caller)
        try Self.authorizeChange(caller, project)
        try Self.checkMetadata(request.metadata)
        if let zone = request.availabilityZone, zone != configuration.availabilityZone {
            throw UpdraftError(.badRequest, "Invalid input received: Availability zone '\(zone)' is invalid.")
        }
        let source = try await source(of: request, caller: caller)
        guard let size = request.size ?? source.minimumSize, size >= 1 else {
            throw UpdraftError(
                .badRequest, "Invalid input received: Volume size '\(request.size ?? 0)' must be an integer and greater than 0.")
        }
        if let minimum = source.minimumSize, size < minimum { throw UpdraftError(.badRequest, source.tooSmall(size)) }
        let type = try await volumeType(named: request.type ?? source.typeHint, caller: caller)
        try await allowStorage(project, gigabytes: size)
        let now = Self.now.timeIntervalSince1970
        let id = UUID().uuidString.lowercased()
        let zone = configuration.availabilityZone
        let status: VolumeStatus = restoring ? .restoringBackup : .creating
        try await database.transaction { db in
            try await self.checkQuota(
                project: project, type: type.name, adding: ["volumes": 1, "gigabytes": size], volumeSize: size, db)

            try await db.raw(
                """
                INSERT INTO volumes (id, project_id, user_id, name, description, size, status, availability_zone,
                  type_id, bootable, snapshot_id, source_volid, image_id, metadata, image_metadata, multiattach,
                  created_at, updated_at)
                VALUES (\(bind: id), \(bind: project), \(bind: caller.userID), \(bind: request.name),
                  \(bind: request.description), \(bind: size), \(bind: status.rawValue), \(bind: zone),
                  \(bind: type.id), \(bind: source.bootable), \(bind: request.snapshotID), \(bind: request.sourceVolumeID),
                  \(bind: request.imageID), \(bind: try Self.json(request.metadata)), \(bind: try Self.json(source.imageMetadata)),
                  \(bind: request.multiattach), \(bind: now), \(bind: now))
                """
            ).run()
            if let backupID = request.backupID {
                try await Self.beginRestore(backupID, into: id, finally: .available, db)
            }
        }
        enqueue(request.backupID == nil ? .create(volume: id) : .restore(volume: id))
        return try await volume(id, caller: .system)
    }

    /// What `volume_image_metadata` holds for a volume made from `image`, as Cinder copies it.
    static func imageMetadata(of image: VolumeImage) -> [String: String] {
        var metadata = image.properties
        metadata["image_id"] = image.id
        metadata["image_name"] = image.name ?? ""
        metadata["container_format"] = image.containerFormat
        metadata["disk_format"] = image.diskFormat
        metadata["min_disk"] = String(image.minDisk)
        metadata["min_ram"] = String(image.minRAM)
        metadata["size"] = String(image.size)
        if let checksum = image.checksum { metadata["checksum"] = checksum }
        return metadata
    }

    /// Makes the storage of a `creating` volume from its source; it ends `available`, or
    /// `error` when the copy fails.
    func finishCreate(_ id: String) async {
        do {
            guard let volume = try await database.read({ db in try await VolumeRepository.find(id, db) }),
                volume.status == .creating
            else { return }
            // As Cinder's capabilities filter: a type whose extra specs ask for another backend,
            // protocol or vendor finds no valid host.
            let type = try await database.read { db in try await Self.types(where: "id = \(bind: volume.typeID)", db).first }
            if let type, let unmet = Self.unmetCapability(type) {
                throw UpdraftError(.badRequest, "No valid backend was found: volume type asks for \(unmet).")
            }
            if let snapshotID = volume.snapshotID {
                try await backend.create(id, sizeGB: volume.size, copying: backend.location(snapshot: snapshotID))
            } else if let sourceID = volume.sourceVolumeID {
                try await backend.create(id, sizeGB: volume.size, copying: backend.location(volume: sourceID))
            } else if let imageID = volume.imageID {
                guard let images, let image = try? await images.image(imageID, caller: .system), let path = image.path else {
                    throw UpdraftError(.conflict, "Image \(imageID) is no longer available.")
                }
                try await backend.create(
                    id, sizeGB: volume.size, image: VolumeImageSource(id: image.id, path: path, diskFormat: image.diskFormat))
            } else {
                try await backend.create(id, sizeGB: volume.size)
            }
            try await database.write { db in
                _ = try await VolumeRepository.setStatus(id, .available, from: [.creating], db)
            }
        } catch {
            logger.error("volume create failed", metadata: ["volume": "\(id)", "error": "\(error)"])
            try? await database.write { db in _ = try await VolumeRepository.setStatus(id, .error, from: [.creating], db) }
        }
    }

    // MARK: Update

    /// Serves `PUT /volumes/{id}`: name, description and metadata.
    public func updateVolume(
        _ id: String, name: String??, description: String??, metadata: [String: String]?, caller: AuthContext
    ) async throws -> Volume {
        _ = try await volumeToChange(id, caller: caller)
        if let metadata { try Self.checkMetadata(metadata) }
        try await database.write { db in
            let now = Self.now.timeIntervalSince1970
            if let name {
                try await db.raw("UPDATE volumes SET name = \(bind: name), updated_at = \(bind: now) WHERE id = \(bind: id)")
                    .run()
            }
            if let description {
                try await db.raw(
                    "UPDATE volumes SET description = \(bind: description), updated_at = \(bind: now) WHERE id = \(bind: id)"
                ).run()
            }
            if let metadata {
                try await db.raw(
                    "UPDATE volumes SET metadata = \(bind: try Self.json(metadata)), updated_at = \(bind: now) WHERE id = \(bind: id)"
                ).run()
            }
        }
        return try await volume(id, caller: caller)
    }

    /// Serves the volume metadata routes: `transform` gets the current user metadata and
    /// returns the new one, which is stored and returned.
    public func changeMetadata(
        of id: String, caller: AuthContext,
        _ transform: @escaping @Sendable ([String: String]) throws(UpdraftError) -> [String: String]
    ) async throws -> [String: String] {
        try await changeMap("metadata", of: id, caller: caller, transform)
    }

    /// Serves `os-set_image_metadata` and `os-unset_image_metadata`.
    public func changeImageMetadata(
        of id: String, caller: AuthContext,
        _ transform: @escaping @Sendable ([String: String]) throws(UpdraftError) -> [String: String]
    ) async throws -> [String: String] {
        try await changeMap("image_metadata", of: id, caller: caller, transform)
    }

    /// Replaces one of a volume's maps (`metadata`, `image_metadata`) by what `transform` makes of it.
    private func changeMap(
        _ column: String, of id: String, caller: AuthContext,
        _ transform: @escaping @Sendable ([String: String]) throws(UpdraftError) -> [String: String]
    ) async throws -> [String: String] {
        _ = try await volumeToChange(id, caller: caller)
        return try await database.write { db in
            guard let current = try await VolumeRepository.find(id, db) else { throw Self.volumeNotFound(id) }
            let updated = try transform(column == "metadata" ? current.metadata : current.imageMetadata)
            try Self.checkMetadata(updated)
            try await db.raw(
                """
                UPDATE volumes SET \(unsafeRaw: column) = \(bind: try Self.json(updated)),
                updated_at = \(bind: Self.now.timeIntervalSince1970) WHERE id = \(bind: id)
                """
            ).run()
            return updated
        }
    }

    /// Serves `os-set_bootable`.
    public func setBootable(_ id: String, _ bootable: Bool, caller: AuthContext) async throws {
        _ = try await volumeToChange(id, caller: caller)
        try await database.write { db in
            try await db.raw(
                """
                UPDATE volumes SET bootable = \(bind: bootable), updated_at = \(bind: Self.now.timeIntervalSince1970)
                WHERE id = \(bind: id)
                """
            ).run()
        }
    }

    /// Serves `os-update_readonly_flag`: the mode later attachments get.
    public func setReadOnly(_ id: String, _ readOnly: Bool, caller: AuthContext) async throws {
        let volume = try await volumeToChange(id, caller: caller)
        try VolumeAction.setReadOnly.check(volume.status, volume: id)
        try await database.write { db in
            try await db.raw(
                """
                UPDATE volumes SET readonly = \(bind: readOnly), updated_at = \(bind: Self.now.timeIntervalSince1970)
                WHERE id = \(bind: id)
                """
            ).run()
        }
    }

    /// Serves `os-reset_status` (administrators): sets the status without doing anything.
    public func resetStatus(_ id: String, status: VolumeStatus, caller: AuthContext) async throws {
        try Policy.authorize(caller, .admin)
        _ = try await volume(id, caller: caller)
        try await database.write { db in _ = try await VolumeRepository.setStatus(id, status, db) }
    }

    // MARK: Extend

    /// Serves `os-extend`: grows an available volume, or (3.42+) an attached one inside its
    /// running guest. The volume shows `extending` until the work is done.
    public func extendVolume(_ id: String, newSize: Int, attachedAllowed: Bool, caller: AuthContext) async throws {
        let volume = try await volumeToChange(id, caller: caller)
        try (attachedAllowed ? VolumeAction.extendAttached : .extend).check(volume.status, volume: id)
        guard newSize > volume.size else {
            throw UpdraftError(
                .badRequest,
                "Invalid input received: New size for extend must be greater than current size. (current: \(volume.size), extended: \(newSize))."
            )
        }
        try await allowStorage(volume.projectID, gigabytes: newSize - volume.size)
        try await database.transaction { db in
            try await self.checkQuota(
                project: volume.projectID, type: volume.typeName, adding: ["gigabytes": newSize - volume.size],
                volumeSize: newSize, db)
            try await VolumeRepository.begin(.extending, on: id, from: volume.status, db)
        }
        enqueue(.extend(volume: id, size: newSize))
    }

    func finishExtend(_ id: String, size: Int) async {
        do {
            guard let volume = try await database.read({ db in try await VolumeRepository.find(id, db) }),
                volume.status == .extending
            else { return }
            var grown = false
            if let hypervisor, let instance = volume.attachments.first(where: { $0.status == .attached })?.instanceID {
                grown = try await hypervisor.extend(volume: id, instance: instance, sizeBytes: Int64(size) << 30)
            }
            if !grown { try await backend.extend(id, sizeGB: size) }
            try await database.write { db in
                try await db.raw(
                    """
                    UPDATE volumes SET size = \(bind: size), status = COALESCE(previous_status, 'available'),
                    previous_status = NULL, updated_at = \(bind: Self.now.timeIntervalSince1970) WHERE id = \(bind: id)
                    """
                ).run()
            }
        } catch {
            logger.error("volume extend failed", metadata: ["volume": "\(id)", "error": "\(error)"])
            try? await database.write { db in
                _ = try await VolumeRepository.setStatus(id, .errorExtending, from: [.extending], db)
            }
        }
    }

    // MARK: Delete

    /// Serves `DELETE /volumes/{id}` (with `cascade` to delete its snapshots too) and
    /// `os-force_delete` (administrators: any status but attached).
    public func deleteVolume(_ id: String, cascade: Bool, force: Bool, caller: AuthContext) async throws {
        let volume = try await volumeToChange(id, caller: caller)
        if force {
            try Policy.authorize(caller, .admin)
        } else {
            try VolumeAction.delete.check(volume.status, volume: id)
        }
        guard volume.attachments.isEmpty else {
            throw UpdraftError(.badRequest, "Invalid volume: Volume \(id) is attached; detach it before deleting it.")
        }
        try await database.transaction { db in
            let snapshots = try await VolumeRepository.snapshots(where: "volume_id = \(bind: id)", db)
            if !snapshots.isEmpty && !cascade {
                throw UpdraftError(
                    .badRequest, "Invalid volume: Volume \(id) still has \(snapshots.count) dependent snapshots.")
            }
            for snapshot in snapshots {
                try await VolumeRepository.setSnapshotStatus(snapshot.id, .deleting, db)
            }
            _ = try await VolumeRepository.setStatus(id, .deleting, db)
        }
        enqueue(.delete(volume: id))
    }

    /// Removes a `deleting` volume's snapshots and storage, then its row. A failure leaves
    /// it `error_deleting`, which a later delete tries again.
    func finishDelete(_ id: String) async {
        do {
            let snapshots = try await database.read { db in
                try await VolumeRepository.snapshots(where: "volume_id = \(bind: id)", db)
            }
            for snapshot in snapshots {
                try await backend.deleteSnapshot(snapshot.id)
                try await database.write { db in
                    try await db.raw("DELETE FROM volume_snapshots WHERE id = \(bind: snapshot.id)").run()
                }
            }
            try await backend.delete(id)
            try await database.write { db in
                // The rows that point at the volume: SQLite enforces no foreign keys, so nothing cascades there.
                for table in ["volume_attachments", "volume_transfers", "volume_uploads"] {
                    try await db.raw("DELETE FROM \(unsafeRaw: table) WHERE volume_id = \(bind: id)").run()
                }
                try await db.raw("DELETE FROM volumes WHERE id = \(bind: id)").run()
            }
        } catch {
            logger.error("volume delete failed", metadata: ["volume": "\(id)", "error": "\(error)"])
            try? await database.write { db in
                _ = try await VolumeRepository.setStatus(id, .errorDeleting, from: [.deleting], db)
            }
        }
    }
}

extension BlockStorageService {
    /// A volume the caller may change, for actions that only check it exists (connections).
    public func volumeToShow(_ id: String, caller: AuthContext) async throws -> Volume {
        try await volumeToChange(id, caller: caller)
    }
}

extension BlockStorageService {
    /// Serves `os-retype`: the volume takes another type (by name or id). Its bytes stay where
    /// they are (one backend), so no migration is needed; the per-type quotas move.
    public func retype(_ id: String, to wanted: String, caller: AuthContext) async throws {
        let volume = try await volumeToChange(id, caller: caller)
        try VolumeAction.retype.check(volume.status, volume: id)
        let type = try await volumeType(named: wanted, caller: caller)
        guard type.id != volume.typeID else {
            throw UpdraftError(.badRequest, "Invalid volume type: Retype requires a different type, not \(type.name).")
        }
        if let unmet = Self.unmetCapability(type) {
            throw UpdraftError(
                .badRequest, "Invalid volume type: no valid backend for type \(type.name), which asks for \(unmet).")
        }
        try await database.transaction { db in
            try await self.checkQuota(
                project: volume.projectID, type: type.name,
                adding: ["volumes_\(type.name)": 1, "gigabytes_\(type.name)": volume.size], volumeSize: nil, db)
            try await db.raw(
                """
                UPDATE volumes SET type_id = \(bind: type.id), updated_at = \(bind: Self.now.timeIntervalSince1970)
                WHERE id = \(bind: id)
                """
            ).run()
        }
    }
}
