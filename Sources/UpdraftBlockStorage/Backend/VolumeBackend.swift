import Foundation

/// Where volumes' bytes live. The local backend keeps qcow2 files under the data directory;
/// a Ceph RBD backend would keep RBD images in a pool (QEMU opens those natively, so the
/// hypervisor side changes only in ``VolumeLocation``).
///
/// The service owns states and records; a backend only makes storage match what it is
/// told. Every method is idempotent where it can be: deleting a missing volume succeeds,
/// and a create run again after a crash replaces what the first one left.
public protocol VolumeBackend: Sendable {
    /// An empty volume of `sizeGB` gibibytes, thin: it uses no space until written.
    func create(_ id: String, sizeGB: Int) async throws
    /// A volume holding `image`, grown to `sizeGB`; copy-on-write where the backend can,
    /// so it costs nothing until written.
    func create(_ id: String, sizeGB: Int, image: VolumeImageSource) async throws
    /// A full, independent copy of a volume or snapshot, grown to `sizeGB`.
    func create(_ id: String, sizeGB: Int, copying source: VolumeLocation) async throws
    /// Grows a volume that no running guest holds.
    func extend(_ id: String, sizeGB: Int) async throws
    /// Removes a volume's storage.
    func delete(_ id: String) async throws
    /// Copies a volume no running guest writes to into snapshot `snapshotID`.
    func snapshot(_ id: String, into snapshotID: String) async throws
    /// Removes a snapshot's storage.
    func deleteSnapshot(_ id: String) async throws
    /// Writes a standalone copy of a volume (or snapshot) in `format` (`qcow2`, `raw`) to `path`,
    /// for an image upload or a backup.
    func export(_ location: VolumeLocation, format: String, to path: String) async throws
    /// Where volume `id` is, for the hypervisor and for copies.
    func location(volume id: String) -> VolumeLocation
    /// Where snapshot `id` is.
    func location(snapshot id: String) -> VolumeLocation
    /// Where a live snapshot taken by the hypervisor is to be written (a path it creates).
    func liveSnapshotPath(_ id: String) -> String
    /// The volumes and snapshots the backend holds, for the reconcile after a restart.
    func inventory() async throws -> (volumes: Set<String>, snapshots: Set<String>)
}

/// Where a volume's bytes are, as the hypervisor opens them.
public enum VolumeLocation: Sendable, Equatable {
    /// A local image file in `format` (`qcow2` or `raw`).
    case file(path: String, format: String)
}

/// An image a volume is made from: its id (the cache key) and its bytes on local disk.
public struct VolumeImageSource: Sendable, Equatable {
    public var id: String
    public var path: String
    public var diskFormat: String

    public init(id: String, path: String, diskFormat: String) {
        self.id = id
        self.path = path
        self.diskFormat = diskFormat
    }
}
