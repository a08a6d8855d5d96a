import Foundation
import Logging
import SQLKit
import ServiceLifecycle
import Synchronization
import UpdraftCore
import UpdraftDatabase

/// Cinder's logic and persistence: volumes, snapshots, types, attachments and quotas, per
/// project, with Cinder's states and rules. It knows nothing of HTTP. As a `Service` it runs
/// the slow work (copies, deletes, extends) that the API accepts with 202, and at start it
/// finishes or undoes what a restart interrupted.
public final class BlockStorageService: Service, Sendable {
    public struct Configuration: Sendable {
        /// The one availability zone volumes live in.
        public var availabilityZone = "nova"
        /// Cinder's default quotas; -1 is unlimited.
        public var defaultQuotas: [String: Int] = [
            "volumes": 10, "gigabytes": 1000, "snapshots": 10, "backups": 10, "backup_gigabytes": 1000,
            "per_volume_gigabytes": -1, "groups": 10,
        ]
        /// The largest page a list returns.
        public var maxLimit = 1000
        /// The type a volume gets when it names none, made on first start.
        public var defaultTypeName = "__DEFAULT__"
        /// Where the volumes are kept, for the capacity the backend reports.
        public var dataDirectory = "."
        /// The object-store container a backup goes to unless it names one (Cinder's default).
        public var backupContainer = "volumebackups"
        /// The bytes of a volume one backup object holds; an incremental backup writes the
        /// chunks that changed.
        public var backupChunkBytes = 4 << 20

        public init() {}
    }

    /// Slow work, run by ``run()`` after the API has answered.
    enum Job: Sendable {
        case create(volume: String)
        case delete(volume: String)
        case extend(volume: String, size: Int)
        case snapshot(String)
        case deleteSnapshot(String)
        case upload(volume: String)
        case backup(String)
        case deleteBackup(String)
        case restore(volume: String)
    }

    /// What Cinder shows as the volume's host (`os-vol-host-attr:host`: host@backend#pool).
    public static let backendHost = "updraft@local#local"
    /// The one backend's `volume_backend_name`.
    public static let backendName = "local"
    /// What the backend offers that a type's extra specs may ask for, as Cinder's capabilities filter compares them.
    public static let capabilities = ["volume_backend_name": backendName, "storage_protocol": "file", "vendor_name": "Updraft"]

    /// What a type asks for that the backend does not offer (`vendor_name Acme`), or nil.
    static func unmetCapability(_ type: VolumeType) -> String? {
        for (key, offered) in capabilities.sorted(by: { $0.key < $1.key }) {
            if let wanted = type.extraSpecs[key], wanted != offered { return "\(key) \(wanted)" }
        }
        return nil
    }
    /// The volume service's id (`service_uuid`, 3.48+): one service per cloud.
    public static let serviceUUID = "8a3e1c5a-7d55-4d0c-9a55-0b9f5d7e1a01"

    public let configuration: Configuration
    let database: Database
    let backend: any VolumeBackend
    let images: (any VolumeImages)?
    /// Where backups are kept; nil when the cloud has no object store.
    let backupObjects: (any BackupObjects)?
    /// Asked before a volume, an extension or a snapshot adds to its project's stored
    /// gigabytes; nil when only the quotas limit them.
    let storageAllowance: (any StorageAllowance)?
    let logger: Logger
    /// One lock per volume (and per snapshot) for multi-step work.
    let locks = KeyedLocks<String>()
    private let jobs: AsyncStream<Job>
    private let jobSink: AsyncStream<Job>.Continuation
    /// The hypervisor side, for work on a volume a running guest holds; set once compute is built.
    private let hypervisorBox = Mutex<(any VolumeHypervisor)?>(nil)

    /// Where an upload to an image writes the converted copy of a volume before the image
    /// service takes it in: best on the image store's filesystem, so the file is moved.
    let scratchDirectory: String

    /// A service over `database`, its volumes in `backend`, its backups in `backupObjects`.
    /// Uploads to images and backups convert volumes into `scratchDirectory` (the system's
    /// temporary directory when nil).
    public init(
        configuration: Configuration = .init(), database: Database, backend: any VolumeBackend,
        images: (any VolumeImages)?, backupObjects: (any BackupObjects)? = nil, scratchDirectory: String? = nil,
        storageAllowance: (any StorageAllowance)? = nil, logger: Logger
    ) {
        self.storageAllowance = storageAllowance
        self.configuration = configuration
        self.database = database
        self.backend = backend
        self.images = images
        self.backupObjects = backupObjects
        self.scratchDirectory = scratchDirectory ?? NSTemporaryDirectory() + "updraft-volume-uploads"
        self.logger = logger
        (jobs, jobSink) = AsyncStream.makeStream(of: Job.self)
    }

    /// The hypervisor that extends and snapshots attached volumes in their running guests.
    public var hypervisor: (any VolumeHypervisor)? {
        get { hypervisorBox.withLock { $0 } }
        set { hypervisorBox.withLock { $0 = newValue } }
    }

    /// Runs accepted work until graceful shutdown; each job under its volume's lock.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for await job in self.jobs {
                    group.addTask { await self.execute(job) }
                }
            }
        }
    }

    func enqueue(_ job: Job) {
        jobSink.yield(job)
    }

    static var now: Date { Date.now }

    /// Cinder's timestamps: `2026-11-30T01:02:03.000000`, no zone.
    public static func timestamp(_ date: Date) -> String {
        String(Timestamp.microseconds(date).dropLast())
    }

    // MARK: Access

    /// Whether `caller` sees a resource of `project`: its own project, or an administrator.
    static func sees(_ caller: AuthContext, _ project: String) -> Bool {
        Policy.isAdmin(caller) || caller.projectID == project
    }

    /// Refuses a change by a caller who is not a member of `project` (or an administrator).
    static func authorizeChange(_ caller: AuthContext, _ project: String) throws(UpdraftError) {
        guard Policy.allows(caller, .projectMember(project)) else {
            throw UpdraftError(.forbidden, "Policy doesn't allow this change to a resource of project \(project).")
        }
    }

    /// The project of a new resource: the caller's token's.
    static func project(of caller: AuthContext) throws(UpdraftError) -> String {
        guard let project = caller.projectID else { throw .badRequest("A project-scoped token is required.") }
        return project
    }

    static func volumeNotFound(_ id: String) -> UpdraftError {
        UpdraftError(.notFound, "Volume \(id) could not be found.")
    }

    static func snapshotNotFound(_ id: String) -> UpdraftError {
        UpdraftError(.notFound, "Snapshot \(id) could not be found.")
    }

    // MARK: JSON columns

    static func json(_ value: [String: String]) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    static func map(_ text: String) throws -> [String: String] {
        try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
    }

    /// Checks a metadata map as Cinder does: keys of 1 to 255 characters, values up to 255.
    static func checkMetadata(_ metadata: [String: String]) throws(UpdraftError) {
        for (key, value) in metadata {
            guard !key.isEmpty, key.count <= 255 else {
                throw .badRequest("Invalid input received: metadata key '\(key)' must be 1 to 255 characters.")
            }
            guard value.count <= 255 else {
                throw .badRequest("Invalid input received: metadata value for '\(key)' is longer than 255 characters.")
            }
        }
    }
}

/// What block storage needs from the hypervisor for a volume a running guest holds: QEMU
/// has the file open and locked, so it grows and copies it itself. Compute provides it.
public protocol VolumeHypervisor: Sendable {
    /// Grows the volume inside the running guest of `instance`; false when no running guest holds it.
    func extend(volume: String, instance: String, sizeBytes: Int64) async throws -> Bool
    /// A crash-consistent copy written by the running guest's hypervisor to `path`; false
    /// when no running guest holds it.
    func snapshot(volume: String, instance: String, to path: String) async throws -> Bool
}

/// What block storage needs from the image service: an image's bytes to make a volume
/// from, and new images to upload volumes to.
public protocol VolumeImages: Sendable {
    /// An image the caller may see, with its bytes on local disk.
    func image(_ id: String, caller: AuthContext) async throws -> VolumeImage
    /// A new `queued` image, owned by the caller's project, to upload a volume to; its id.
    func reserveImage(_ reservation: VolumeImageReservation, caller: AuthContext) async throws -> String
    /// Brings `file` in (moving it) as the bytes of reserved image `id`, which becomes `active`.
    func completeImage(_ id: String, file: String) async throws
    /// Removes a reserved image whose upload failed or was cut short, even a protected one.
    func deleteImage(_ id: String) async
}

/// The image a volume upload makes, as the image service records it before any bytes.
public struct VolumeImageReservation: Sendable, Equatable {
    public var name: String
    public var diskFormat: String
    public var containerFormat: String
    /// `public`, `private`, `shared` or `community`.
    public var visibility: String
    public var protected: Bool
    public var minDisk: Int
    public var minRAM: Int
    public var properties: [String: String]

    public init(
        name: String, diskFormat: String, containerFormat: String, visibility: String, protected: Bool, minDisk: Int,
        minRAM: Int, properties: [String: String]
    ) {
        self.name = name
        self.diskFormat = diskFormat
        self.containerFormat = containerFormat
        self.visibility = visibility
        self.protected = protected
        self.minDisk = minDisk
        self.minRAM = minRAM
        self.properties = properties
    }
}

/// An image as a volume create reads it.
public struct VolumeImage: Sendable, Equatable {
    public var id: String
    public var name: String?
    public var path: String?
    public var diskFormat: String
    public var containerFormat: String
    /// Bytes of the file; the disk's virtual size when known.
    public var size: Int64
    public var virtualSize: Int64?
    public var minDisk: Int
    public var minRAM: Int
    public var checksum: String?
    public var properties: [String: String]

    public init(
        id: String, name: String?, path: String?, diskFormat: String, containerFormat: String, size: Int64,
        virtualSize: Int64?, minDisk: Int, minRAM: Int, checksum: String?, properties: [String: String]
    ) {
        self.id = id
        self.name = name
        self.path = path
        self.diskFormat = diskFormat
        self.containerFormat = containerFormat
        self.size = size
        self.virtualSize = virtualSize
        self.minDisk = minDisk
        self.minRAM = minRAM
        self.checksum = checksum
        self.properties = properties
    }
}
