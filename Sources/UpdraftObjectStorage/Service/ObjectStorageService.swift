import Foundation
import Logging
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Swift's and S3's logic and persistence: accounts, containers and objects, their records
/// in SQL and their bytes in a ``BlobStore``. Both APIs call it; it knows nothing of HTTP.
///
/// An object write stages the bytes, commits the record (replacing any previous version,
/// whose blob is then removed), and publishes the blob, so an acknowledged object survives a
/// crash and an interrupted one is never listed.
public final class ObjectStorageService: Sendable {
    public struct Configuration: Sendable {
        public var limits = StorageLimits()
        /// How often expired objects and blobs left by replaced objects are removed.
        public var reapInterval: Duration = .seconds(10)

        public init() {}
    }

    let database: Database
    public let blobs: any BlobStore
    public let configuration: Configuration
    /// Asked before an object adds to its account's stored bytes; nil when nothing limits them.
    let storageAllowance: (any StorageAllowance)?
    let logger: Logger

    public var limits: StorageLimits { configuration.limits }

    public init(
        database: Database, blobs: any BlobStore, configuration: Configuration = .init(),
        storageAllowance: (any StorageAllowance)? = nil, logger: Logger
    ) {
        self.database = database
        self.blobs = blobs
        self.configuration = configuration
        self.storageAllowance = storageAllowance
        self.logger = logger
    }

    /// Publishes or removes what a crash left staged. Call once at start.
    public func start() async throws(UpdraftError) {
        do {
            try await blobs.recover { id in
                try await self.database.withConnection { db in
                    if try await db.raw("SELECT blob FROM object_entries WHERE blob = \(bind: id)").first() != nil {
                        return true
                    }
                    return try await db.raw("SELECT blob FROM object_upload_parts WHERE blob = \(bind: id)").first() != nil
                }
            }
        } catch {
            throw Self.map(error)
        }
    }

    /// Who is asking: a token's caller, nobody, or a TempURL whose signature the edge checked.
    public enum Caller: Sendable {
        case anonymous
        case user(AuthContext)
        /// A TempURL valid for the object path and method of this request, or a FormPOST form
        /// whose signature the service checked.
        case signed
    }

    /// What a request needs of an account.
    enum Need {
        case readAccount, writeAccount, listContainer, readObject, writeObject
    }

    /// The one access rule of object storage: a project's own readers read and its members
    /// write (administrators everything); a container's read ACL lets others read its objects
    /// (and list it), its write ACL write them; `.r:*` lets anyone without a token read, with
    /// `.rlistings` list. Nobody without a token gets 401, others 403.
    func authorize(_ caller: Caller, project: String, container: Container?, _ need: Need) throws(UpdraftError) {
        switch caller {
        case .signed:
            if need == .readObject || need == .writeObject { return }
            throw .unauthorized()
        case .user(let context):
            if Policy.allows(context, .projectMember(project)) { return }
            let reads: Set<Need> = [.readAccount, .listContainer, .readObject]
            if reads.contains(need), Policy.allows(context, .projectReader(project)) { return }
            if let container {
                if need == .readObject || need == .listContainer, let acl = try? container.readACL.map(ContainerACL.init),
                    acl.grants(context) || acl.publicRead && (need == .readObject || acl.listings)
                {
                    return
                }
                if need == .writeObject, let acl = try? container.writeACL.map(ContainerACL.init), acl.grants(context) {
                    return
                }
            }
            throw .forbidden("Access was denied to this resource.")
        case .anonymous:
            if let container, let acl = try? container.readACL.map(ContainerACL.init), acl.publicRead {
                if need == .readObject || (need == .listContainer && acl.listings) { return }
            }
            throw .unauthorized()
        }
    }

    // MARK: SQL

    func read<R: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> R) async throws(UpdraftError) -> R {
        do {
            return try await database.withConnection(body)
        } catch {
            throw Self.map(error)
        }
    }

    func write<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws(UpdraftError) -> R {
        do {
            return try await database.transaction(body)
        } catch {
            throw Self.map(error)
        }
    }

    static func map(_ error: any Error) -> UpdraftError {
        error as? UpdraftError ?? Database.mapError(error)
    }

    static func encode(_ metadata: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func decode(_ text: String?) -> [String: String] {
        guard let text, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String] else {
            return [:]
        }
        return object
    }

    static func container(_ row: any SQLRow) throws -> Container {
        var versioning: Container.Versioning?
        if let mode = try row.optionalString("versions_mode").flatMap(Container.Versioning.Mode.init(rawValue:)),
            let location = try row.optionalString("versions_location")
        {
            versioning = .init(mode: mode, location: location)
        }
        return Container(
            id: try row.string("id"), projectID: try row.string("project_id"), name: try row.string("name"),
            objectCount: Int64(try row.int("object_count")), bytesUsed: Int64(try row.int("bytes_used")),
            createdAt: try row.double("created_at"), modifiedAt: try row.double("modified_at"),
            metadata: decode(try row.string("metadata")), readACL: try row.optionalString("read_acl"),
            writeACL: try row.optionalString("write_acl"), versioning: versioning)
    }

    static func object(_ row: any SQLRow) throws -> StoredObject {
        StoredObject(
            containerID: try row.string("container_id"), name: try row.string("name"),
            kind: ObjectKind(rawValue: try row.string("kind")) ?? .plain, blob: try row.optionalString("blob"),
            blobSize: Int64(try row.int("blob_size")), size: Int64(try row.int("size")), etag: try row.string("etag"),
            contentType: try row.string("content_type"), modifiedAt: try row.double("modified_at"),
            metadata: decode(try row.string("metadata")), headers: decode(try row.string("headers")),
            deleteAt: try row.optionalDouble("delete_at"), manifest: try row.optionalString("manifest"))
    }

    /// Seconds since 1970, now.
    static var now: Double { Date.now.timeIntervalSince1970 }
}

extension ObjectStorageService {
    /// The tables: names compare byte by byte on both engines (PostgreSQL's `COLLATE "C"`),
    /// so listings come in Swift's order and a page is one index range.
    public static let migrations: [Migration] = [
        Migration(
            "objects-1", schema(collate: ""), postgres: schema(collate: " COLLATE \"C\"")),
        Migration(
            "objects-2",
            [
                """
                CREATE TABLE object_uploads (id TEXT PRIMARY KEY, container_id TEXT NOT NULL, name TEXT NOT NULL,
                  created_at DOUBLE PRECISION NOT NULL, content_type TEXT NOT NULL, metadata TEXT NOT NULL, headers TEXT NOT NULL)
                """,
                """
                CREATE TABLE object_upload_parts (upload_id TEXT NOT NULL, part_number BIGINT NOT NULL, blob TEXT NOT NULL,
                  size BIGINT NOT NULL, etag TEXT NOT NULL, modified_at DOUBLE PRECISION NOT NULL,
                  PRIMARY KEY (upload_id, part_number))
                """,
                "CREATE INDEX object_upload_parts_blob ON object_upload_parts (blob)",
            ]),
    ]

    static func schema(collate: String) -> [String] {
        [
            """
            CREATE TABLE object_accounts (project_id TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL,
              modified_at DOUBLE PRECISION NOT NULL, metadata TEXT NOT NULL)
            """,
            """
            CREATE TABLE object_containers (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT\(collate) NOT NULL,
              created_at DOUBLE PRECISION NOT NULL, modified_at DOUBLE PRECISION NOT NULL,
              object_count BIGINT NOT NULL, bytes_used BIGINT NOT NULL, metadata TEXT NOT NULL,
              read_acl TEXT, write_acl TEXT, versions_mode TEXT, versions_location TEXT, UNIQUE (project_id, name))
            """,
            """
            CREATE TABLE object_entries (container_id TEXT NOT NULL, name TEXT\(collate) NOT NULL, kind TEXT NOT NULL,
              blob TEXT, blob_size BIGINT NOT NULL, size BIGINT NOT NULL, etag TEXT NOT NULL, content_type TEXT NOT NULL,
              modified_at DOUBLE PRECISION NOT NULL, metadata TEXT NOT NULL, headers TEXT NOT NULL,
              delete_at DOUBLE PRECISION, manifest TEXT, PRIMARY KEY (container_id, name))
            """,
            "CREATE INDEX object_entries_blob ON object_entries (blob)",
            "CREATE INDEX object_entries_delete_at ON object_entries (delete_at)",
            "CREATE TABLE object_garbage (blob TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL)",
        ]
    }
}
