import Foundation
import Logging
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Glance's logic and persistence: image records, their members, and their bytes under
/// one 0700 directory (`DATA/images/<id>`). Knows nothing of HTTP.
///
/// Compute calls the public methods directly: ``image(_:caller:)`` and ``dataPath(of:)`` to
/// boot from an image, ``create(_:caller:)`` with ``importFile(_:from:)`` for snapshots and
/// shelving, ``kill(_:)`` or ``delete(_:caller:)`` when a snapshot fails.
public final class ImageService: Sendable {
    let database: Database
    /// Where image bytes live: `<id>` for a finished image, `<id>.<uuid>.partial` while one arrives.
    public let directory: String
    /// The project that owns built-in images (the bootstrap `admin` project).
    let adminProjectID: String?
    /// Asked before an upload adds to its owner's stored bytes; nil when nothing limits them.
    let storageAllowance: (any StorageAllowance)?
    let logger: Logger

    /// - Parameters:
    ///   - directory: the image data directory, normally `DATA/images`; created 0700 by ``start()``.
    ///   - adminProjectID: owner of images from ``registerBuiltIn(name:file:diskFormat:containerFormat:properties:description:)``.
    ///   - storageAllowance: asked before a user's upload adds to its project's stored bytes.
    public init(
        database: Database, directory: String, adminProjectID: String?,
        storageAllowance: (any StorageAllowance)? = nil, logger: Logger
    ) {
        self.database = database
        self.directory = directory
        self.adminProjectID = adminProjectID
        self.storageAllowance = storageAllowance
        self.logger = logger
    }

    /// One page of `GET /v2/images`.
    public struct Page: Sendable {
        public var images: [Image]
        /// The marker for the next page, when there is one.
        public var nextMarker: String?
    }

    // MARK: Reads

    /// The image `id` as `caller` may see it; 404 when it does not exist or is not visible.
    /// Serves `GET /v2/images/{id}`.
    public func image(_ id: String, caller: AuthContext) async throws(UpdraftError) -> Image {
        try await read { db in try await Self.visibleImage(id, caller: caller, db) }
    }

    /// The bytes of every image `projectID` owns, whatever its visibility: what a storage
    /// allocation counts of the image service.
    public func bytesOwned(by projectID: String) async throws(UpdraftError) -> Int64 {
        try await read { db in
            let row = try await db.raw(
                "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes FROM images WHERE owner = \(bind: projectID)"
            ).first()
            return Int64(try row?.int("bytes") ?? 0)
        }
    }

    /// The images `caller` may list that pass `query`, in its order, one page.
    /// Serves `GET /v2/images`.
    public func list(_ query: ImageListQuery, caller: AuthContext) async throws(UpdraftError) -> Page {
        let (rows, memberships) = try await read { db in
            var sql: SQLQueryString = "SELECT * FROM images"
            var memberships: [String: ImageMember.Status] = [:]
            if let project = caller.projectID {
                for row in try await db.raw(
                    "SELECT image_id, status FROM image_members WHERE member_id = \(bind: project)"
                ).all() {
                    memberships[try row.string("image_id")] = ImageMember.Status(rawValue: try row.string("status"))
                }
            }
            if !Policy.isAdmin(caller) {
                sql +=
                    """
                     WHERE visibility IN ('public', 'community') OR owner = \(bind: caller.projectID ?? "")
                     OR id IN (SELECT image_id FROM image_members WHERE member_id = \(bind: caller.projectID ?? ""))
                    """
            }
            return (try await db.raw(sql).all().map(Self.image), memberships)
        }
        var images = rows.filter {
            query.matches($0) && ImageAccess.isListed($0, membership: memberships[$0.id], caller: caller, query: query)
        }
        images.sort(by: Self.order(query))
        var start = 0
        if let marker = query.marker {
            guard let index = images.firstIndex(where: { $0.id == marker }) else {
                throw .badRequest("Invalid marker. Image \(marker) could not be found.")
            }
            start = index + 1
        }
        let end = min(images.count, start + query.limit)
        let page = Array(images[start..<end])
        return Page(images: page, nextMarker: end < images.count && !page.isEmpty ? page.last?.id : nil)
    }

    /// The list order: the client's keys then id; without any, featured images first, then
    /// newest first, as Glance's default `created_at desc`.
    static func order(_ query: ImageListQuery) -> @Sendable (Image, Image) -> Bool {
        var keys = query.sort
        if keys.isEmpty { keys = [("created_at", .desc)] }
        if !keys.contains(where: { $0.key == "id" }) { keys.append(("id", keys.last?.direction ?? .desc)) }
        let featuredFirst = !query.sortRequested
        let sortKeys = keys
        return { a, b in
            if featuredFirst, a.isFeatured != b.isFeatured { return a.isFeatured }
            for (key, direction) in sortKeys {
                let result = compare(a, b, key)
                if result != 0 { return direction == .asc ? result < 0 : result > 0 }
            }
            return false
        }
    }

    /// -1, 0 or 1; a missing value sorts before any value.
    static func compare(_ a: Image, _ b: Image, _ key: String) -> Int {
        func cmp<T: Comparable>(_ x: T?, _ y: T?) -> Int {
            switch (x, y) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let x?, let y?): return x < y ? -1 : (x > y ? 1 : 0)
            }
        }
        switch key {
        case "name": return cmp(a.name, b.name)
        case "status": return cmp(a.status.rawValue, b.status.rawValue)
        case "container_format": return cmp(a.containerFormat, b.containerFormat)
        case "disk_format": return cmp(a.diskFormat, b.diskFormat)
        case "size": return cmp(a.size, b.size)
        case "virtual_size": return cmp(a.virtualSize, b.virtualSize)
        case "created_at": return cmp(a.createdAt, b.createdAt)
        case "updated_at": return cmp(a.updatedAt, b.updatedAt)
        case "visibility": return cmp(a.visibility.rawValue, b.visibility.rawValue)
        case "owner": return cmp(a.owner, b.owner)
        case "min_disk": return cmp(a.minDisk, b.minDisk)
        case "min_ram": return cmp(a.minRAM, b.minRAM)
        case "protected": return cmp(a.protected ? 1 : 0, b.protected ? 1 : 0)
        case "os_hidden": return cmp(a.hidden ? 1 : 0, b.hidden ? 1 : 0)
        default: return cmp(a.id, b.id)
        }
    }

    // MARK: Store access

    /// The image row, visibility-checked: `notFound` when missing or not visible to `caller`.
    static func visibleImage(_ id: String, caller: AuthContext, _ db: any SQLDatabase, lock: Bool = false) async throws
        -> Image
    {
        let image = try await row(id, db, lock: lock)
        guard ImageAccess.canSee(image, membership: try await membership(id, caller: caller, db), caller: caller) else {
            throw UpdraftError.notFound("No image found with ID \(id)")
        }
        return image
    }

    /// A visible image `caller` may change; 404 when not visible, 403 when only visible.
    static func changeableImage(_ id: String, caller: AuthContext, _ db: any SQLDatabase) async throws -> Image {
        let image = try await visibleImage(id, caller: caller, db, lock: true)
        guard ImageAccess.canChange(image, caller: caller) else {
            throw UpdraftError.forbidden("You are not permitted to modify image \(id).")
        }
        return image
    }

    static func row(_ id: String, _ db: any SQLDatabase, lock: Bool = false) async throws -> Image {
        var sql: SQLQueryString = "SELECT * FROM images WHERE id = \(bind: id)"
        // PostgreSQL: hold the row for a read-modify-write; SQLite's BEGIN IMMEDIATE already holds the store.
        if lock, db.dialect.name == "postgresql" { sql += " FOR UPDATE" }
        guard let row = try await db.raw(sql).first() else {
            throw UpdraftError.notFound("No image found with ID \(id)")
        }
        return try image(row)
    }

    static func membership(_ id: String, caller: AuthContext, _ db: any SQLDatabase) async throws -> ImageMember.Status? {
        guard let project = caller.projectID else { return nil }
        let row = try await db.raw(
            "SELECT status FROM image_members WHERE image_id = \(bind: id) AND member_id = \(bind: project)"
        ).first()
        return try row.flatMap { ImageMember.Status(rawValue: try $0.string("status")) }
    }

    /// Runs a change in one transaction, mapping store errors.
    func write<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws(UpdraftError) -> R {
        do {
            return try await database.transaction(body)
        } catch {
            throw Self.map(error)
        }
    }

    func read<R: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> R) async throws(UpdraftError) -> R {
        do {
            return try await database.withConnection(body)
        } catch {
            throw Self.map(error)
        }
    }

    static func map(_ error: any Error) -> UpdraftError {
        if let error = error as? UpdraftError { return error }
        let text = String(reflecting: error)
        if text.contains("UNIQUE constraint") || text.contains("duplicate key") || text.contains("23505") {
            return .conflict("An image with the given identifier already exists")
        }
        return .internal("database error", cause: error)
    }

    static var now: Double { Date.now.timeIntervalSince1970 }
}
