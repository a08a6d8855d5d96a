import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Accounts: one per project, made on first write, read as zeros before.
extension ObjectStorageService {
    /// Metadata keys only a cloud administrator sets on an account (Swift's account quotas).
    static let adminAccountKeys: Set<String> = ["quota-bytes", "quota-count"]

    /// The account of `project` with its totals. Serves `HEAD /v1/AUTH_{project}`.
    public func account(_ project: String, caller: Caller) async throws(UpdraftError) -> Account {
        try authorize(caller, project: project, container: nil, .readAccount)
        return try await read { db in try await Self.account(project, db) }
    }

    static func account(_ project: String, _ db: any SQLDatabase) async throws -> Account {
        let row = try await db.raw("SELECT * FROM object_accounts WHERE project_id = \(bind: project)").first()
        let totals = try await db.raw(
            """
            SELECT COUNT(*) AS containers, CAST(COALESCE(SUM(object_count), 0) AS BIGINT) AS objects,
              CAST(COALESCE(SUM(bytes_used), 0) AS BIGINT) AS bytes
            FROM object_containers WHERE project_id = \(bind: project)
            """
        ).first()
        return Account(
            projectID: project, containerCount: Int64(try totals?.int("containers") ?? 0),
            objectCount: Int64(try totals?.int("objects") ?? 0), bytesUsed: Int64(try totals?.int("bytes") ?? 0),
            createdAt: try row?.double("created_at") ?? now, metadata: decode(try row?.string("metadata")))
    }

    /// The account row, made when missing, inside a write.
    static func ensureAccount(_ project: String, _ db: any SQLDatabase) async throws {
        if try await db.raw("SELECT project_id FROM object_accounts WHERE project_id = \(bind: project)").first() == nil {
            let now = now
            try await db.raw(
                """
                INSERT INTO object_accounts (project_id, created_at, modified_at, metadata)
                VALUES (\(bind: project), \(bind: now), \(bind: now), '{}')
                """
            ).run()
        }
    }

    /// Sets and removes account metadata; the quota only by an administrator.
    /// Serves `POST /v1/AUTH_{project}`.
    public func updateAccount(_ project: String, _ change: MetadataChange, caller: Caller) async throws(UpdraftError) {
        try authorize(caller, project: project, container: nil, .writeAccount)
        let touchesQuota = !Self.adminAccountKeys.isDisjoint(with: Set(change.assigned.keys).union(change.removed))
        if touchesQuota {
            guard case .user(let context) = caller, Policy.isAdmin(context) else {
                throw .forbidden("Only an administrator sets an account's quota.")
            }
            for key in Self.adminAccountKeys {
                if let quota = change.assigned[key], Int64(quota) == nil { throw .badRequest("Invalid quota: \(quota)") }
            }
        }
        let limits = limits
        try await write { db in
            try await Self.ensureAccount(project, db)
            let account = try await Self.account(project, db)
            let metadata = change.applied(to: account.metadata)
            try MetadataChange.check(metadata, kind: "account", limits: limits, system: Self.systemKeys)
            try await db.raw(
                """
                UPDATE object_accounts SET metadata = \(bind: Self.encode(metadata)), modified_at = \(bind: Self.now)
                WHERE project_id = \(bind: project)
                """
            ).run()
        }
    }

    /// Metadata Updraft reads itself, not counted against the user's metadata limits.
    static let systemKeys: Set<String> = [
        "quota-bytes", "quota-count", "temp-url-key", "temp-url-key-2", "web-index", "web-listings", "web-error",
        "web-listings-css",
    ]

    /// The containers of `project` that `query` selects, with the account.
    /// Serves `GET /v1/AUTH_{project}`.
    public func listContainers(_ project: String, _ query: ListingQuery, caller: Caller) async throws(UpdraftError) -> (
        Account, [ListingEntry]
    ) {
        try authorize(caller, project: project, container: nil, .readAccount)
        let limit = try Self.limit(query, max: limits.accountListingLimit)
        return try await read { db in
            let account = try await Self.account(project, db)
            let entries = try await Self.collect(query, limit: limit) { bounds, count in
                var sql: SQLQueryString =
                    "SELECT name, object_count, bytes_used, modified_at FROM object_containers WHERE project_id = \(bind: project)"
                sql += bounds.sql
                sql += " LIMIT \(unsafeRaw: String(count))"
                return try await db.raw(sql).all().map { row in
                    ListingEntry.container(
                        name: try row.string("name"), objectCount: Int64(try row.int("object_count")),
                        bytesUsed: Int64(try row.int("bytes_used")), modifiedAt: try row.double("modified_at"))
                }
            }
            return (account, entries)
        }
    }
}
