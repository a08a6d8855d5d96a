import SQLKit
import UpdraftCore
import UpdraftDatabase

extension NetworkService {
    /// The table each quota counts.
    static let quotaTables = [
        "network": "networks", "subnet": "subnets", "port": "ports", "router": "routers", "floatingip": "floating_ips",
        "security_group": "security_groups", "security_group_rule": "security_group_rules",
    ]

    /// A project's limits: its own where set, the defaults otherwise (-1 is unlimited).
    public func quotas(_ project: String) async throws -> [String: Int] {
        try await database.read { db in try await self.quotas(project, db) }
    }

    func quotas(_ project: String, _ db: any SQLDatabase) async throws -> [String: Int] {
        var limits = configuration.defaultQuotas
        for row in try await db.raw("SELECT resource, hard_limit FROM network_quotas WHERE project_id = \(bind: project)").all() {
            limits[try row.string("resource")] = try row.int("hard_limit")
        }
        return limits
    }

    /// What a project uses, per quota.
    public func quotaUsage(_ project: String) async throws -> [String: Int] {
        try await database.read { db in
            var used: [String: Int] = [:]
            for (resource, table) in Self.quotaTables {
                used[resource] =
                    try await db.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table) WHERE project_id = \(bind: project)").first()?
                    .int("n") ?? 0
            }
            return used
        }
    }

    /// Serves `PUT /v2.0/quotas/{project}`: each value an integer ≥ -1; with `checkLimit`
    /// (`check_limit`, as the CLI sends it) none may be set below what the project uses.
    public func setQuotas(_ project: String, _ values: [String: Int], checkLimit: Bool = false) async throws
        -> [String: Int]
    {
        for (resource, limit) in values {
            guard Self.quotaTables[resource] != nil else {
                throw UpdraftError(.badRequest, "Unrecognized attribute(s) '\(resource)'", kind: "HTTPBadRequest")
            }
            guard limit >= -1 else {
                throw UpdraftError(
                    .badRequest, "Invalid input for \(resource). Reason: '\(limit)' should be >= -1.", kind: "HTTPBadRequest")
            }
        }
        let used = checkLimit ? try await quotaUsage(project) : [:]
        for (resource, limit) in values.sorted(by: { $0.key < $1.key }) where limit >= 0 && (used[resource] ?? 0) > limit {
            throw UpdraftError(
                .badRequest,
                "Quota limit \(limit) for \(resource) must be greater than or equal to already used and reserved \(used[resource] ?? 0).",
                kind: "InvalidQuotaValue")
        }
        return try await database.write { db in
            for (resource, limit) in values {
                try await db.raw(
                    "DELETE FROM network_quotas WHERE project_id = \(bind: project) AND resource = \(bind: resource)"
                ).run()
                try await db.raw(
                    "INSERT INTO network_quotas (project_id, resource, hard_limit) VALUES (\(bind: project), \(bind: resource), \(bind: limit))"
                ).run()
            }
            return try await self.quotas(project, db)
        }
    }

    /// Serves `DELETE /v2.0/quotas/{project}`: back to the defaults.
    public func resetQuotas(_ project: String) async throws {
        try await database.write { db in
            try await db.raw("DELETE FROM network_quotas WHERE project_id = \(bind: project)").run()
        }
    }

    /// Refuses with Neutron's 409 `OverQuota` when `adding` more of `resource` would pass the limit.
    func checkQuota(_ resource: String, project: String, adding: Int, _ db: any SQLDatabase) async throws {
        guard let table = Self.quotaTables[resource] else { return }
        let limit = try await quotas(project, db)[resource] ?? -1
        guard limit >= 0 else { return }
        let used =
            try await db.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table) WHERE project_id = \(bind: project)").first()?
            .int("n") ?? 0
        guard used + adding <= limit else {
            throw UpdraftError(.conflict, "Quota exceeded for resources: ['\(resource)'].", kind: "OverQuota")
        }
    }
}
