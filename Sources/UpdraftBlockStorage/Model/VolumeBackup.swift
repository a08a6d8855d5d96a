import Foundation
import UpdraftCore

/// A backup of a volume (or of one of its snapshots) in the object store, in its project's
/// account: full, or incremental over the volume's latest backup. Encodes as Cinder v3's
/// `backup` (the detailed form; ``summary`` is the short one).
public struct VolumeBackup: Sendable, Equatable, Encodable {
    public var id: String
    public var projectID: String
    public var userID: String
    public var volumeID: String
    public var snapshotID: String?
    /// The backup an incremental one builds on.
    public var parentID: String?
    public var name: String?
    public var description: String?
    /// The object-store container the chunks are in.
    public var container: String
    /// The project whose object-store account holds the container: the backup's own,
    /// unless the backup was imported from another project's record.
    public var account: String
    /// Where in the container its objects are named (`volume_<volume>/<backup>/`); an
    /// imported record keeps the prefix its objects were written under.
    public var objectPrefix: String
    public var status: BackupStatus
    public var failReason: String?
    /// Gibibytes: the volume's size.
    public var size: Int
    /// Objects this backup wrote (chunks and its manifest).
    public var objectCount: Int
    public var availabilityZone: String
    public var metadata: [String: String]
    /// When the backed-up data was read (the snapshot's time for a backup of a snapshot).
    public var dataTimestamp: Date
    public var createdAt: Date
    public var updatedAt: Date
    /// Whether incremental backups build on this one (it cannot be deleted before them).
    public var hasDependents: Bool

    public var isIncremental: Bool { parentID != nil }

    public init(
        id: String, projectID: String, userID: String, volumeID: String, snapshotID: String?, parentID: String?,
        name: String?, description: String?, container: String, account: String, objectPrefix: String, status: BackupStatus,
        failReason: String?, size: Int,
        objectCount: Int, availabilityZone: String, metadata: [String: String], dataTimestamp: Date, createdAt: Date,
        updatedAt: Date, hasDependents: Bool
    ) {
        self.id = id
        self.projectID = projectID
        self.userID = userID
        self.volumeID = volumeID
        self.snapshotID = snapshotID
        self.parentID = parentID
        self.name = name
        self.description = description
        self.container = container
        self.account = account
        self.objectPrefix = objectPrefix
        self.status = status
        self.failReason = failReason
        self.size = size
        self.objectCount = objectCount
        self.availabilityZone = availabilityZone
        self.metadata = metadata
        self.dataTimestamp = dataTimestamp
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.hasDependents = hasDependents
    }

    public func encode(to encoder: any Encoder) throws {
        let view = encoder.volumeView
        var c = encoder.container(keyedBy: FieldKey.self)
        try c.put("id", id)
        try c.put("name", name)
        try c.put("links", view.links("backups", id, project: projectID))
        guard view.extended else { return }
        try c.put("status", status.rawValue)
        try c.put("size", size)
        try c.put("object_count", objectCount)
        try c.put("availability_zone", availabilityZone)
        try c.put("container", container)
        try c.put("created_at", BlockStorageService.timestamp(createdAt))
        try c.put("updated_at", BlockStorageService.timestamp(updatedAt))
        try c.put("description", description)
        try c.put("fail_reason", failReason)
        try c.put("volume_id", volumeID)
        try c.put("is_incremental", isIncremental)
        try c.put("has_dependent_backups", hasDependents)
        try c.put("snapshot_id", snapshotID)
        try c.put("data_timestamp", BlockStorageService.timestamp(dataTimestamp))
        if view.minor >= 18 && view.admin { try c.put("os-backup-project-attr:project_id", projectID) }
        if view.minor >= 43 { try c.put("metadata", metadata) }
        if view.minor >= 56 { try c.put("user_id", userID) }
        if view.minor >= 64 { try c.put("encryption_key_id", String?.none) }
    }
}

/// A backup's `status`, with Cinder's names.
public enum BackupStatus: String, Sendable, Codable, CaseIterable {
    case creating, available, deleting, error, restoring
    case errorDeleting = "error_deleting"
}

/// What `POST /backups` asks for.
public struct BackupCreate: Sendable, Equatable {
    public var volumeID: String
    public var snapshotID: String?
    public var name: String?
    public var description: String?
    /// The object-store container; Cinder's default `volumebackups`.
    public var container: String?
    public var incremental: Bool
    /// Needed to back up an attached volume.
    public var force: Bool
    public var metadata: [String: String]
    public var availabilityZone: String?

    public init(
        volumeID: String, snapshotID: String? = nil, name: String? = nil, description: String? = nil,
        container: String? = nil, incremental: Bool = false, force: Bool = false, metadata: [String: String] = [:],
        availabilityZone: String? = nil
    ) {
        self.volumeID = volumeID
        self.snapshotID = snapshotID
        self.name = name
        self.description = description
        self.container = container
        self.incremental = incremental
        self.force = force
        self.metadata = metadata
        self.availabilityZone = availabilityZone
    }
}

/// The answer to a restore: the volume the backup is being written into.
public struct BackupRestore: Sendable, Equatable, Encodable {
    public var backupID: String
    public var volumeID: String
    public var volumeName: String?

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: FieldKey.self)
        try c.put("backup_id", backupID)
        try c.put("volume_id", volumeID)
        try c.put("volume_name", volumeName)
    }
}
