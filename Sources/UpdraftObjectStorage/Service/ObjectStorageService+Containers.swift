import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Containers: create, read, change, delete, list.
extension ObjectStorageService {
    /// What a container PUT or POST sets besides metadata; nil leaves a field as it is, an
    /// empty string removes it.
    public struct ContainerChange: Sendable {
        public var metadata = MetadataChange()
        public var readACL: String?
        public var writeACL: String?
        /// `X-Versions-Location` / `X-History-Location`; `.some(nil)` removes versioning.
        public var versioning: Container.Versioning??

        public init() {}
    }

    /// A missing container; S3 names it `NoSuchBucket`.
    static let noSuchContainer = UpdraftError(.notFound, "The resource could not be found.", kind: "NoSuchBucket")

    /// Checks a container name: 1 to 256 bytes, no slash.
    func checkContainerName(_ name: String) throws(UpdraftError) {
        if name.isEmpty { throw Self.noSuchContainer }
        if name.utf8.count > limits.maxContainerNameLength {
            throw .badRequest("Container name length of \(name.utf8.count) longer than \(limits.maxContainerNameLength)")
        }
        if name.contains("/") { throw Self.noSuchContainer }
    }

    static func containerRow(_ project: String, _ name: String, _ db: any SQLDatabase) async throws -> Container? {
        try await db.raw("SELECT * FROM object_containers WHERE project_id = \(bind: project) AND name = \(bind: name)")
            .first().map(container)
    }

    /// The container, or 404.
    static func existingContainer(_ project: String, _ name: String, _ db: any SQLDatabase) async throws -> Container {
        guard let container = try await containerRow(project, name, db) else { throw noSuchContainer }
        return container
    }

    /// The container as `caller` may read it. Serves `HEAD /v1/AUTH_{project}/{container}`.
    public func container(_ project: String, _ name: String, caller: Caller) async throws(UpdraftError) -> Container {
        try checkContainerName(name)
        let container = try await read { db in try await Self.existingContainer(project, name, db) }
        try authorize(caller, project: project, container: container, .listContainer)
        return container
    }

    /// A container's static web site settings (its `web-*` metadata: `web-index`,
    /// `web-listings`, `web-error`, `web-listings-css`, `web-listings-label`), read without
    /// asking who wants them, as Swift's staticweb middleware does: they only shape answers to
    /// requests that are authorized on their own. Empty when the container does not exist.
    public func websiteSettings(_ project: String, _ name: String) async throws(UpdraftError) -> Metadata {
        try checkContainerName(name)
        let container = try await read { db in try await Self.containerRow(project, name, db) }
        return container?.metadata.filter { $0.key.hasPrefix("web-") } ?? [:]
    }

    /// Creates the container, or changes it when it exists; true when it was created.
    /// Serves `PUT /v1/AUTH_{project}/{container}`.
    @discardableResult
    public func putContainer(_ project: String, _ name: String, _ change: ContainerChange, caller: Caller)
        async throws(UpdraftError) -> Bool
    {
        try checkContainerName(name)
        try authorize(caller, project: project, container: nil, .writeAccount)
        try checkACLs(change)
        let limits = limits
        return try await write { db in
            try await Self.ensureAccount(project, db)
            if var container = try await Self.containerRow(project, name, db) {
                try Self.apply(change, to: &container, limits: limits)
                try await Self.save(container, db)
                return false
            }
            let now = Self.now
            var container = Container(
                id: Identifier.make(), projectID: project, name: name, objectCount: 0, bytesUsed: 0, createdAt: now,
                modifiedAt: now, metadata: [:])
            try Self.apply(change, to: &container, limits: limits)
            try await db.raw(
                """
                INSERT INTO object_containers (id, project_id, name, created_at, modified_at, object_count, bytes_used,
                  metadata, read_acl, write_acl, versions_mode, versions_location)
                VALUES (\(bind: container.id), \(bind: project), \(bind: name), \(bind: now), \(bind: now), 0, 0,
                  \(bind: Self.encode(container.metadata)), \(bind: container.readACL), \(bind: container.writeACL),
                  \(bind: container.versioning?.mode.rawValue), \(bind: container.versioning?.location))
                """
            ).run()
            return true
        }
    }

    /// Changes an existing container. Serves `POST /v1/AUTH_{project}/{container}`.
    public func updateContainer(_ project: String, _ name: String, _ change: ContainerChange, caller: Caller)
        async throws(UpdraftError)
    {
        try checkContainerName(name)
        try authorize(caller, project: project, container: nil, .writeAccount)
        try checkACLs(change)
        let limits = limits
        try await write { db in
            var container = try await Self.existingContainer(project, name, db)
            try Self.apply(change, to: &container, limits: limits)
            try await Self.save(container, db)
        }
    }

    /// Deletes an empty container; 409 while it holds objects.
    /// Serves `DELETE /v1/AUTH_{project}/{container}`.
    public func deleteContainer(_ project: String, _ name: String, caller: Caller) async throws(UpdraftError) {
        try checkContainerName(name)
        try authorize(caller, project: project, container: nil, .writeAccount)
        try await write { db in
            let container = try await Self.existingContainer(project, name, db)
            if try await db.raw("SELECT name FROM object_entries WHERE container_id = \(bind: container.id) LIMIT 1").first()
                != nil
            {
                throw UpdraftError(
                    .conflict, "There was a conflict when trying to complete your request.", kind: "BucketNotEmpty")
            }
            // Uploads in progress end with the container; their parts' blobs go to the reaper.
            for row in try await db.raw(
                """
                SELECT blob FROM object_upload_parts WHERE upload_id IN
                  (SELECT id FROM object_uploads WHERE container_id = \(bind: container.id))
                """
            ).all() {
                try await Self.collectGarbage(try row.string("blob"), db)
            }
            try await db.raw(
                "DELETE FROM object_upload_parts WHERE upload_id IN (SELECT id FROM object_uploads WHERE container_id = \(bind: container.id))"
            ).run()
            try await db.raw("DELETE FROM object_uploads WHERE container_id = \(bind: container.id)").run()
            try await db.raw("DELETE FROM object_containers WHERE id = \(bind: container.id)").run()
        }
    }

    /// The objects of a container that `query` selects. Serves `GET /v1/AUTH_{project}/{container}`.
    public func listObjects(_ project: String, _ name: String, _ query: ListingQuery, caller: Caller)
        async throws(UpdraftError) -> (Container, [ListingEntry])
    {
        let container = try await container(project, name, caller: caller)
        let limit = try Self.limit(query, max: limits.containerListingLimit)
        let entries = try await read { db in
            try await Self.collect(query, limit: limit) { bounds, count in
                var sql: SQLQueryString = """
                    SELECT name, size, etag, content_type, modified_at\(unsafeRaw: query.s3ETags ? ", headers" : "")
                    FROM object_entries WHERE container_id = \(bind: container.id)
                    """
                sql += bounds.sql
                sql += " LIMIT \(unsafeRaw: String(count))"
                return try await db.raw(sql).all().map { row in
                    var etag = try row.string("etag")
                    if query.s3ETags, let headers = try row.optionalString("headers"), headers != "{}",
                        let s3 = Self.decode(headers)[Self.s3ETagHeader]
                    {
                        etag = s3
                    }
                    return ListingEntry.object(
                        name: try row.string("name"), size: Int64(try row.int("size")), etag: etag,
                        contentType: try row.string("content_type"), modifiedAt: try row.double("modified_at"))
                }
            }
        }
        return (container, entries)
    }

    func checkACLs(_ change: ContainerChange) throws(UpdraftError) {
        for acl in [change.readACL, change.writeACL].compactMap({ $0 }) { _ = try ContainerACL(parsing: acl) }
        if let quota = change.metadata.assigned["quota-bytes"], Int64(quota) == nil {
            throw .badRequest("Invalid bytes quota: \(quota)")
        }
        if let quota = change.metadata.assigned["quota-count"], Int64(quota) == nil {
            throw .badRequest("Invalid count quota: \(quota)")
        }
    }

    static func apply(_ change: ContainerChange, to container: inout Container, limits: StorageLimits) throws(UpdraftError) {
        container.metadata = change.metadata.applied(to: container.metadata)
        try MetadataChange.check(container.metadata, kind: "container", limits: limits, system: systemKeys)
        if let read = change.readACL { container.readACL = read.isEmpty ? nil : read }
        if let write = change.writeACL { container.writeACL = write.isEmpty ? nil : write }
        if let versioning = change.versioning { container.versioning = versioning }
        container.modifiedAt = now
    }

    static func save(_ container: Container, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            UPDATE object_containers SET metadata = \(bind: encode(container.metadata)), read_acl = \(bind: container.readACL),
              write_acl = \(bind: container.writeACL), versions_mode = \(bind: container.versioning?.mode.rawValue),
              versions_location = \(bind: container.versioning?.location), modified_at = \(bind: container.modifiedAt)
            WHERE id = \(bind: container.id)
            """
        ).run()
    }

    /// The project whose container `name` an S3 request means, as buckets are named within a
    /// project. A request of project `preferred` means its own container when it has one, else
    /// the only other project's (whose ACL then decides), else its own (where it is missing).
    /// An unsigned request (`preferred` nil) means the one container of that name anyone may
    /// read; nil when there is not exactly one.
    public func containerOwner(_ name: String, preferring preferred: String?) async throws(UpdraftError) -> String? {
        let rows = try await read { db in
            try await db.raw("SELECT project_id, read_acl FROM object_containers WHERE name = \(bind: name)").all().map {
                (try $0.string("project_id"), try $0.optionalString("read_acl"))
            }
        }
        guard let preferred else {
            let owners = rows.filter { row in row.1.map { (try? ContainerACL(parsing: $0).publicRead) == true } ?? false }
            return owners.count == 1 ? owners[0].0 : nil
        }
        if rows.contains(where: { $0.0 == preferred }) || rows.count != 1 { return preferred }
        return rows[0].0
    }
}
