import Foundation
import UpdraftCore

/// A block-storage volume. Encodes as Cinder v3's `volume`, with the attributes the reader's
/// microversion and role show (``CodingUserInfoKey/volumeView``).
public struct Volume: Sendable, Equatable, Encodable {
    public var id: String
    public var projectID: String
    public var userID: String
    public var name: String?
    public var description: String?
    /// Gibibytes, as Cinder counts.
    public var size: Int
    public var status: VolumeStatus
    public var availabilityZone: String
    public var typeID: String
    /// The type's name, read with the volume.
    public var typeName: String
    public var bootable: Bool
    /// Set by `os-update_readonly_flag`; nil until it is first set (Cinder's admin metadata).
    public var readOnly: Bool?
    public var snapshotID: String?
    public var sourceVolumeID: String?
    public var imageID: String?
    public var metadata: [String: String]
    /// The image's properties copied at create (`volume_image_metadata`).
    public var imageMetadata: [String: String]
    public var multiattach: Bool
    public var attachments: [VolumeAttachment]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, projectID: String, userID: String, name: String?, description: String?, size: Int,
        status: VolumeStatus, availabilityZone: String, typeID: String, typeName: String, bootable: Bool = false,
        readOnly: Bool? = nil, snapshotID: String? = nil, sourceVolumeID: String? = nil, imageID: String? = nil,
        metadata: [String: String] = [:], imageMetadata: [String: String] = [:], multiattach: Bool = false,
        attachments: [VolumeAttachment] = [], createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.projectID = projectID
        self.userID = userID
        self.name = name
        self.description = description
        self.size = size
        self.status = status
        self.availabilityZone = availabilityZone
        self.typeID = typeID
        self.typeName = typeName
        self.bootable = bootable
        self.readOnly = readOnly
        self.snapshotID = snapshotID
        self.sourceVolumeID = sourceVolumeID
        self.imageID = imageID
        self.metadata = metadata
        self.imageMetadata = imageMetadata
        self.multiattach = multiattach
        self.attachments = attachments
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Metadata as Cinder shows it: the user's keys, and `readonly` once the flag was set.
    public var shownMetadata: [String: String] {
        var shown = metadata
        if let readOnly { shown["readonly"] = readOnly ? "True" : "False" }
        return shown
    }

    public func encode(to encoder: any Encoder) throws {
        let view = encoder.volumeView
        var c = encoder.container(keyedBy: FieldKey.self)
        try c.put("id", id)
        try c.put("name", name)
        try c.put("description", description)
        try c.put("size", size)
        try c.put("status", status.rawValue)
        try c.put("availability_zone", availabilityZone)
        try c.put("bootable", bootable ? "true" : "false")
        try c.put("encrypted", false)
        try c.put("multiattach", multiattach)
        try c.put("metadata", shownMetadata)
        try c.put("attachments", attachments.filter { $0.status == .attached }.map(VolumeAttachment.Summary.init))
        try c.put("links", view.links("volumes", id, project: projectID))
        try c.put("created_at", BlockStorageService.timestamp(createdAt))
        try c.put("updated_at", BlockStorageService.timestamp(updatedAt))
        try c.put("snapshot_id", snapshotID)
        try c.put("source_volid", sourceVolumeID)
        try c.put("user_id", userID)
        try c.put("volume_type", typeName)
        try c.put("consistencygroup_id", String?.none)
        try c.put("replication_status", String?.none)
        try c.put("migration_status", String?.none)
        // Cinder's extensions add these to reads only (show, detail), not to a create's or an update's answer.
        if view.extended {
            try c.put("os-vol-tenant-attr:tenant_id", projectID)
            if !imageMetadata.isEmpty { try c.put("volume_image_metadata", imageMetadata) }
            if view.admin {
                try c.put("os-vol-host-attr:host", BlockStorageService.backendHost)
                try c.put("os-vol-mig-status-attr:migstat", String?.none)
                try c.put("os-vol-mig-status-attr:name_id", String?.none)
            }
        }
        if view.minor >= 13 { try c.put("group_id", String?.none) }
        if view.minor >= 21 { try c.put("provider_id", String?.none) }
        if view.minor >= 48 {
            try c.put("service_uuid", BlockStorageService.serviceUUID)
            try c.put("shared_targets", false)
        }
        if view.minor >= 63 { try c.put("volume_type_id", typeID) }
        if view.minor >= 65 { try c.put("consumes_quota", true) }
    }
}

/// How a block-storage body is written: for whom, at which microversion, and where links start.
public struct VolumeView: Sendable {
    /// The `3.x` minor version the request negotiated.
    public var minor: Int
    public var admin: Bool
    /// `http://host:port/volume`.
    public var base: String
    /// Whether the attributes Cinder's extensions add to reads are shown (show and detail
    /// answers, not a create's or an update's).
    public var extended: Bool

    public init(minor: Int, admin: Bool, base: String, extended: Bool = true) {
        self.minor = minor
        self.admin = admin
        self.base = base
        self.extended = extended
    }

    /// Cinder's `self` and `bookmark` links of `collection/id`.
    func links(_ collection: String, _ id: String, project: String) -> [[String: String]] {
        [
            ["rel": "self", "href": "\(base)/v3/\(project)/\(collection)/\(id)"],
            ["rel": "bookmark", "href": "\(base)/\(project)/\(collection)/\(id)"],
        ]
    }
}

extension CodingUserInfoKey {
    /// The ``VolumeView`` a block-storage body is written for.
    public static let volumeView: CodingUserInfoKey = {
        guard let key = CodingUserInfoKey(rawValue: "updraft.volume.view") else { preconditionFailure("invalid user info key") }
        return key
    }()
}

extension Encoder {
    /// The view this body is for; unset means an administrator at 3.0 (Updraft's own reads).
    var volumeView: VolumeView {
        userInfo[.volumeView] as? VolumeView ?? VolumeView(minor: 0, admin: true, base: "")
    }
}
