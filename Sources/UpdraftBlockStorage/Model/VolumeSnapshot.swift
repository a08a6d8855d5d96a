import Foundation
import UpdraftCore

/// A point-in-time copy of a volume. Encodes as Cinder v3's `snapshot`.
public struct VolumeSnapshot: Sendable, Equatable, Encodable {
    public var id: String
    public var volumeID: String
    public var projectID: String
    public var userID: String
    public var name: String?
    public var description: String?
    public var size: Int
    public var status: SnapshotStatus
    /// What `os-update_snapshot_status` last reported (`80%`); nil shows 100% once available.
    public var progress: String?
    public var metadata: [String: String]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, volumeID: String, projectID: String, userID: String, name: String?, description: String?,
        size: Int, status: SnapshotStatus, progress: String? = nil, metadata: [String: String] = [:], createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.volumeID = volumeID
        self.projectID = projectID
        self.userID = userID
        self.name = name
        self.description = description
        self.size = size
        self.status = status
        self.progress = progress
        self.metadata = metadata
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public func encode(to encoder: any Encoder) throws {
        let view = encoder.volumeView
        var c = encoder.container(keyedBy: FieldKey.self)
        try c.put("id", id)
        try c.put("volume_id", volumeID)
        try c.put("name", name)
        try c.put("description", description)
        try c.put("size", size)
        try c.put("status", status.rawValue)
        try c.put("metadata", metadata)
        try c.put("created_at", BlockStorageService.timestamp(createdAt))
        try c.put("updated_at", BlockStorageService.timestamp(updatedAt))
        if view.extended {
            try c.put("os-extended-snapshot-attributes:progress", progress ?? (status == .available ? "100%" : "0%"))
            try c.put("os-extended-snapshot-attributes:project_id", projectID)
        }
        if view.minor >= 14 { try c.put("group_snapshot_id", String?.none) }
        if view.minor >= 41 { try c.put("user_id", userID) }
        if view.minor >= 65 { try c.put("consumes_quota", true) }
    }
}

/// A kind of volume (Cinder's volume type), with the extra specs an administrator gives it.
public struct VolumeType: Sendable, Equatable, Encodable {
    public var id: String
    public var name: String
    public var description: String?
    public var isPublic: Bool
    public var extraSpecs: [String: String]

    public init(id: String, name: String, description: String?, isPublic: Bool, extraSpecs: [String: String]) {
        self.id = id
        self.name = name
        self.description = description
        self.isPublic = isPublic
        self.extraSpecs = extraSpecs
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: FieldKey.self)
        try c.put("id", id)
        try c.put("name", name)
        try c.put("description", description)
        try c.put("is_public", isPublic)
        if encoder.volumeView.extended { try c.put("os-volume-type-access:is_public", isPublic) }
        try c.put("extra_specs", encoder.volumeView.admin ? extraSpecs : extraSpecs.filter { $0.key.hasPrefix("multiattach") })
    }
}
