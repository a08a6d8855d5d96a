import Foundation
import UpdraftCore

/// What compute needs from the image service. The composition root adapts the Glance
/// service to it, so compute does not depend on the image module.
public protocol ComputeImages: Sendable {
    /// An image the caller may see (every image when `caller` is nil, for background work).
    func image(_ id: String, caller: AuthContext) async throws -> ComputeImage
    /// Creates a queued image for a snapshot or a shelve and returns its id.
    func reserveSnapshot(_ request: SnapshotRequest, caller: AuthContext) async throws -> String
    /// Creates an image with no data that is active at once (size 0, `raw`, `bare`), as Nova
    /// makes the image of a volume-backed server, whose properties map volume snapshots.
    func createEmptyImage(_ request: SnapshotRequest, caller: AuthContext) async throws -> String
    /// Moves `file` into the image and marks it active.
    func completeSnapshot(_ id: String, file: String) async throws
    /// Removes an image whose snapshot failed, or a shelved instance's image after unshelve.
    func deleteImage(_ id: String) async

    // The compute API's image proxy (`/images`, before microversion 2.36).

    /// Every image the caller may see.
    func listImages(caller: AuthContext) async throws -> [ComputeImage]
    /// Deletes an image as the caller (Glance's rules apply).
    func deleteImage(_ id: String, caller: AuthContext) async throws
    /// Sets and removes properties of an image as the caller.
    func updateProperties(_ id: String, set: [String: String], remove: [String], caller: AuthContext) async throws
        -> ComputeImage
}

/// An image as compute sees it.
public struct ComputeImage: Sendable, Equatable {
    public var id: String
    public var name: String
    public var status: String
    public var diskFormat: String
    /// The bytes on local disk, when the image is active.
    public var path: String?
    public var minDisk: Int
    public var minRam: Int
    public var size: Int
    public var properties: [String: String]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, name: String, status: String, diskFormat: String, path: String?, minDisk: Int, minRam: Int, size: Int,
        properties: [String: String], createdAt: Date = .now, updatedAt: Date = .now
    ) {
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.id = id
        self.name = name
        self.status = status
        self.diskFormat = diskFormat
        self.path = path
        self.minDisk = minDisk
        self.minRam = minRam
        self.size = size
        self.properties = properties
    }
}

/// The image a snapshot or shelve writes.
public struct SnapshotRequest: Sendable, Equatable {
    public var name: String
    public var diskFormat: String
    public var minDisk: Int
    public var minRam: Int
    /// Nova's snapshot properties: `image_type`, `instance_uuid`, `base_image_ref`, and the user's metadata.
    public var properties: [String: String]

    public init(name: String, diskFormat: String, minDisk: Int, minRam: Int, properties: [String: String]) {
        self.name = name
        self.diskFormat = diskFormat
        self.minDisk = minDisk
        self.minRam = minRam
        self.properties = properties
    }
}
