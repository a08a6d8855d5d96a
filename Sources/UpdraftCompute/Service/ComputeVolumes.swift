import Foundation
import UpdraftCore

/// What compute needs from the block-storage service: volumes reserved for a server, where
/// their bytes are when the hypervisor plugs them, and telling block storage when they are
/// plugged and unplugged. The composition root adapts the Cinder service to it, so compute
/// does not depend on the block-storage module; a cloud without it passes none.
public protocol ComputeVolumes: Sendable {
    /// Whether a volume the caller may see can be booted from (Cinder's `bootable`).
    func isBootable(volume: String, caller: AuthContext) async throws -> Bool
    /// Reserves an available volume the caller may use for `instance` (Cinder's attachment
    /// create): the volume is `reserved`. Returns the attachment's id.
    func reserve(volume: String, instance: String, caller: AuthContext) async throws -> String
    /// Where the volume of `attachment` is, for the hypervisor of `host`; the volume is `attaching`.
    func connect(attachment: String, host: String) async throws -> VolumeDisk
    /// The hypervisor has plugged it: the volume is `in-use`, seen by the guest at `device`.
    func complete(attachment: String, device: String) async throws
    /// A detach starts: the volume is `detaching`.
    func beginDetaching(volume: String, caller: AuthContext) async throws
    /// A detach did not happen: the volume is `in-use` again.
    func rollDetaching(volume: String) async throws
    /// The server let go of it (or an attach failed): the attachment goes, the volume is `available`.
    func release(attachment: String) async throws
    /// Deletes a volume whose server went and asked for it (`delete_on_termination`).
    func delete(volume: String) async throws
    /// Attachments block storage holds that never completed, for the reconcile after a restart.
    func unfinishedAttachments() async throws -> [(attachment: String, volume: String, instance: String?)]
    /// Makes a volume as `owner` (in its project, against its quota) of `sizeGB`, from an image,
    /// a snapshot, or empty, and returns its id once it is available (an error when it ends in error).
    /// The snapshot it names must be available, or become so while this waits (a snapshot a
    /// volume-backed server's image maps may still be `creating` when the image is booted).
    func createVolume(name: String, sizeGB: Int?, imageID: String?, snapshotID: String?, owner: AuthContext)
        async throws -> String
    /// What compute reads of a volume: its size, description and the image it was made from.
    func details(volume: String) async throws -> VolumeDetails
    /// Starts a snapshot of a volume as `caller`, attached or not (Cinder's `force`: an attached
    /// one is crash-consistent), and returns its id while it is still `creating`.
    func snapshot(volume: String, name: String, description: String?, caller: AuthContext) async throws -> String
    /// Deletes a snapshot, for a volume-backed snapshot that failed part way.
    func deleteSnapshot(_ id: String) async
}

/// A volume as compute reads it.
public struct VolumeDetails: Sendable, Equatable {
    public var id: String
    /// Gibibytes.
    public var size: Int
    public var description: String?
    /// Cinder's `volume_image_metadata`: the properties of the image it was made from, with
    /// `image_id`, `min_disk`, `min_ram` and the other image attributes.
    public var imageMetadata: [String: String]

    public init(id: String, size: Int, description: String?, imageMetadata: [String: String]) {
        self.id = id
        self.size = size
        self.description = description
        self.imageMetadata = imageMetadata
    }
}

/// One volume of a server: Nova's block device mapping. A create's mappings are recorded
/// `requested` with their source; the spawn makes the volume (from an image, a snapshot, or
/// empty), reserves and connects it.
public struct BlockDeviceMapping: Sendable, Equatable {
    /// `requested` (nothing made or reserved yet), `attaching` (reserved, not yet plugged),
    /// `attached`, `detaching`.
    public enum Status: String, Sendable {
        case requested, attaching, attached, detaching
    }

    public var id: String
    public var instanceID: String
    /// The volume, once there is one.
    public var volumeID: String?
    /// Block storage's attachment, once the volume is reserved.
    public var attachmentID: String?
    /// `/dev/vdb`: where Nova reports it (the guest names disks itself).
    public var device: String
    /// 0 for the root volume of a server booted from volume.
    public var bootIndex: Int?
    public var tag: String?
    public var deleteOnTermination: Bool
    public var status: Status
    /// Where its bytes are, once block storage said (Nova's `connection_info`).
    public var disk: VolumeDisk?
    /// What a create asked for: `volume`, `image`, `snapshot` or `blank`, the source's id and the size.
    public var sourceType: String
    public var sourceID: String?
    public var volumeSize: Int?

    public init(
        id: String, instanceID: String, volumeID: String?, attachmentID: String?, device: String, bootIndex: Int?,
        tag: String?, deleteOnTermination: Bool, status: Status, disk: VolumeDisk?, sourceType: String = "volume",
        sourceID: String? = nil, volumeSize: Int? = nil
    ) {
        self.id = id
        self.instanceID = instanceID
        self.volumeID = volumeID
        self.attachmentID = attachmentID
        self.device = device
        self.bootIndex = bootIndex
        self.tag = tag
        self.deleteOnTermination = deleteOnTermination
        self.status = status
        self.disk = disk
        self.sourceType = sourceType
        self.sourceID = sourceID
        self.volumeSize = volumeSize
    }
}

/// One entry of a create's `block_device_mapping_v2` that makes or uses a volume.
public struct BlockDeviceRequest: Sendable, Equatable {
    /// `volume`, `image`, `snapshot` or `blank`.
    public var sourceType: String
    /// The volume, image or snapshot; nil for `blank`.
    public var uuid: String?
    public var bootIndex: Int?
    public var volumeSize: Int?
    public var deleteOnTermination: Bool
    public var tag: String?
    public var deviceName: String?

    public init(
        sourceType: String, uuid: String?, bootIndex: Int?, volumeSize: Int?, deleteOnTermination: Bool,
        tag: String? = nil, deviceName: String? = nil
    ) {
        self.sourceType = sourceType
        self.uuid = uuid
        self.bootIndex = bootIndex
        self.volumeSize = volumeSize
        self.deleteOnTermination = deleteOnTermination
        self.tag = tag
        self.deviceName = deviceName
    }
}
