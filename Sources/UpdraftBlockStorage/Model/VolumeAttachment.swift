import Foundation
import UpdraftCore

/// One server's hold on a volume: Cinder v3's `attachment`, made when compute reserves the
/// volume and removed when it lets go.
public struct VolumeAttachment: Sendable, Equatable, Encodable {
    public var id: String
    public var volumeID: String
    public var instanceID: String?
    public var status: AttachmentStatus
    /// `rw` or `ro`.
    public var attachMode: String
    public var host: String?
    /// Where the guest sees it (`/dev/vdb`), as compute reports it.
    public var device: String?
    public var attachedAt: Date?
    public var projectID: String

    public init(
        id: String, volumeID: String, instanceID: String?, status: AttachmentStatus, attachMode: String = "rw",
        host: String? = nil, device: String? = nil, attachedAt: Date? = nil, projectID: String
    ) {
        self.id = id
        self.volumeID = volumeID
        self.instanceID = instanceID
        self.status = status
        self.attachMode = attachMode
        self.host = host
        self.device = device
        self.attachedAt = attachedAt
        self.projectID = projectID
    }

    /// The v3 attachments API body (3.27+).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: FieldKey.self)
        try c.put("id", id)
        try c.put("volume_id", volumeID)
        try c.put("instance", instanceID)
        try c.put("status", status.rawValue)
        try c.put("attach_mode", attachMode)
        try c.put("attached_at", attachedAt.map(BlockStorageService.timestamp))
        try c.put("detached_at", String?.none)
        try c.put("connection_info", [String: String]?.none)
    }

    /// How a volume body lists an attachment.
    struct Summary: Encodable {
        let attachment: VolumeAttachment

        init(_ attachment: VolumeAttachment) { self.attachment = attachment }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: FieldKey.self)
            try c.put("id", attachment.volumeID)
            try c.put("attachment_id", attachment.id)
            try c.put("volume_id", attachment.volumeID)
            try c.put("server_id", attachment.instanceID)
            try c.put("host_name", attachment.host)
            try c.put("device", attachment.device)
            try c.put("attached_at", attachment.attachedAt.map(BlockStorageService.timestamp))
        }
    }
}
