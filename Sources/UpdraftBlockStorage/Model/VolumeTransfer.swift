import Foundation
import UpdraftCore

/// An offer of a volume to whichever project accepts it with the transfer's id and key.
/// Encodes as Cinder v3's `transfer`, with the attributes the reader's microversion shows.
public struct VolumeTransfer: Sendable, Equatable, Encodable {
    public var id: String
    public var volumeID: String
    /// The project that offers the volume.
    public var projectID: String
    public var name: String?
    /// Whether the volume's snapshots stay behind (3.55+).
    public var noSnapshots: Bool
    public var createdAt: Date
    /// The key to accept with: known only to the answer of the create, never stored.
    public var authKey: String?

    public init(
        id: String, volumeID: String, projectID: String, name: String?, noSnapshots: Bool, createdAt: Date,
        authKey: String? = nil
    ) {
        self.id = id
        self.volumeID = volumeID
        self.projectID = projectID
        self.name = name
        self.noSnapshots = noSnapshots
        self.createdAt = createdAt
        self.authKey = authKey
    }

    /// The collection the links name: the 3.55 path, or the older one below it.
    static func collection(_ view: VolumeView) -> String {
        view.minor >= 55 ? "volume-transfers" : "os-volume-transfer"
    }

    public func encode(to encoder: any Encoder) throws {
        let view = encoder.volumeView
        var c = encoder.container(keyedBy: FieldKey.self)
        try c.put("id", id)
        try c.put("name", name)
        try c.put("volume_id", volumeID)
        try c.put("created_at", BlockStorageService.timestamp(createdAt))
        try c.put("links", view.links(Self.collection(view), id, project: projectID))
        if let authKey { try c.put("auth_key", authKey) }
        if view.minor >= 55 { try c.put("no_snapshots", noSnapshots) }
        if view.minor >= 57 {
            // A transfer is removed when it is accepted, so one that is shown is still open.
            try c.put("source_project_id", projectID)
            try c.put("destination_project_id", String?.none)
            try c.put("accepted", false)
        }
    }

    /// How a list without details, and the answer to an accept, show a transfer: id, name,
    /// volume and links.
    public struct Summary: Encodable, Sendable {
        public let transfer: VolumeTransfer

        public init(_ transfer: VolumeTransfer) { self.transfer = transfer }

        public func encode(to encoder: any Encoder) throws {
            let view = encoder.volumeView
            var c = encoder.container(keyedBy: FieldKey.self)
            try c.put("id", transfer.id)
            try c.put("name", transfer.name)
            try c.put("volume_id", transfer.volumeID)
            try c.put("links", view.links(VolumeTransfer.collection(view), transfer.id, project: transfer.projectID))
        }
    }
}
