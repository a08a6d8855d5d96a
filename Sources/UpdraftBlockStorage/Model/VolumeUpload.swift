import Foundation
import UpdraftCore

/// What `os-volume_upload_image` asks for, read from its body by the API.
public struct VolumeUploadRequest: Sendable, Equatable {
    public var imageName: String
    /// `raw` or `qcow2`: the formats the volume's bytes are converted to.
    public var diskFormat = "raw"
    public var containerFormat = "bare"
    /// Upload an attached (`in-use`) volume too.
    public var force = false
    /// The new image's visibility (3.1+); `private` when not given.
    public var visibility = "private"
    /// Whether the new image is protected (3.1+).
    public var protected = false

    public init(imageName: String) {
        self.imageName = imageName
    }
}

/// An accepted upload of a volume to an image. Encodes as the body of Cinder's answer to
/// `os-volume_upload_image`: the volume, `uploading`, and the image made for it.
public struct VolumeUpload: Sendable, Equatable, Encodable {
    public var volume: Volume
    /// The volume's type, shown whole as Cinder does (nil if it is gone).
    public var type: VolumeType?
    public var imageID: String
    public var request: VolumeUploadRequest

    public init(volume: Volume, type: VolumeType?, imageID: String, request: VolumeUploadRequest) {
        self.volume = volume
        self.type = type
        self.imageID = imageID
        self.request = request
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: FieldKey.self)
        try c.put("id", volume.id)
        try c.put("updated_at", BlockStorageService.timestamp(volume.updatedAt))
        try c.put("status", VolumeStatus.uploading.rawValue)
        try c.put("display_description", volume.description)
        try c.put("size", volume.size)
        try c.put("volume_type", type)
        try c.put("image_id", imageID)
        try c.put("container_format", request.containerFormat)
        try c.put("disk_format", request.diskFormat)
        try c.put("image_name", request.imageName)
        try c.put("visibility", request.visibility)
        try c.put("protected", request.protected)
    }
}
