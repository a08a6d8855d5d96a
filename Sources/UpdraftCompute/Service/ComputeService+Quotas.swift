import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Nova quotas: per-project limits over the defaults, and what a project uses.
extension ComputeService {
    /// What a project uses now: instances, cores and ram (shelved-offloaded instances hold
    /// no cores or RAM), and its users' key pairs are counted per user elsewhere.
    public struct Usage: Sendable, Equatable {
        public var instances = 0
        public var cores = 0
        public var ram = 0
    }

    /// The limits in force for a project: the defaults overlaid with its own. -1 is unlimited.
    public func quotaLimits(_ projectID: String) async throws -> [String: Int] {
        try await database.read { db in try await self.quotaLimits(projectID, db) }
    }

    func quotaLimits(_ projectID: String, _ db: any SQLDatabase) async throws -> [String: Int] {
        var limits = configuration.defaultQuotas
        for row in try await db.raw("SELECT resource, hard_limit FROM compute_quotas WHERE project_id = \(bind: projectID)")
            .all()
        {
            limits[try row.string("resource")] = try row.int("hard_limit")
        }
        return limits
    }

    public func usage(_ projectID: String) async throws -> Usage {
        try await database.read { db in try await Self.usage(projectID, db) }
    }

    static func usage(_ projectID: String, _ db: any SQLDatabase) async throws -> Usage {
        let row = try await db.raw(
            """
            SELECT COUNT(*) AS n,
              CAST(COALESCE(SUM(CASE WHEN vm_state = 'shelved_offloaded' THEN 0 ELSE vcpus END), 0) AS BIGINT) AS cores,
              CAST(COALESCE(SUM(CASE WHEN vm_state = 'shelved_offloaded' THEN 0 ELSE memory_mb END), 0) AS BIGINT) AS ram
            FROM instances WHERE project_id = \(bind: projectID) AND deleted = \(bind: false)
            """
        ).first()
        return Usage(instances: try row?.int("n") ?? 0, cores: try row?.int("cores") ?? 0, ram: try row?.int("ram") ?? 0)
    }

    /// Serves `PUT /os-quota-sets/{project_id}` (admin). Unknown resources are a 400.
    public func setQuotas(_ projectID: String, _ values: [String: Int]) async throws -> [String: Int] {
        for (resource, value) in values {
            guard configuration.defaultQuotas[resource] != nil else {
                throw UpdraftError.badRequest("Bad key(s) \(resource) in quota_set")
            }
            guard value >= -1 else {
                throw UpdraftError.badRequest("Quota limit \(value) for \(resource) must be -1 or greater.")
            }
        }
        return try await database.write { db in
            for (resource, value) in values {
                try await db.raw(
                    "DELETE FROM compute_quotas WHERE project_id = \(bind: projectID) AND resource = \(bind: resource)"
                ).run()
                try await db.raw(
                    """
                    INSERT INTO compute_quotas (project_id, resource, hard_limit)
                    VALUES (\(bind: projectID), \(bind: resource), \(bind: value))
                    """
                ).run()
            }
            return try await self.quotaLimits(projectID, db)
        }
    }

    /// Serves `DELETE /os-quota-sets/{project_id}`: back to the defaults.
    public func resetQuotas(_ projectID: String) async throws {
        try await database.write { db in
            try await db.raw("DELETE FROM compute_quotas WHERE project_id = \(bind: projectID)").run()
        }
    }

    /// Throws Nova's 403 when adding `instances`, `cores` and `ram` would pass a limit.
    func checkQuota(_ projectID: String, instances: Int, cores: Int, ram: Int, _ db: any SQLDatabase) async throws {
        let limits = try await quotaLimits(projectID, db)
        let used = try await Self.usage(projectID, db)
        let wanted = [("instances", instances, used.instances), ("cores", cores, used.cores), ("ram", ram, used.ram)]
        var over: [(String, Int, Int, Int)] = []
        for (resource, requested, inUse) in wanted {
            let limit = limits[resource] ?? -1
            if limit >= 0 && requested > 0 && inUse + requested > limit { over.append((resource, requested, inUse, limit)) }
        }
        guard over.isEmpty else {
            let names = over.map(\.0).joined(separator: ", ")
            let detail = over.map { "Requested \($0.1), but already used \($0.2) of \($0.3) \($0.0)" }.joined(separator: "; ")
            throw UpdraftError.forbidden("Quota exceeded for \(names): \(detail)")
        }
    }
}
