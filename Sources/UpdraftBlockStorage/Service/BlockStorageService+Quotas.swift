import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

extension BlockStorageService {
    /// The limits of `project`: defaults, with what an administrator set over them. Per-type
    /// limits (`volumes_<type>`, ...) are unlimited unless set.
    func limits(_ project: String, _ db: any SQLDatabase) async throws -> [String: Int] {
        var limits = try await classLimits(Self.defaultClass, db)
        for row in try await db.raw("SELECT resource, hard_limit FROM volume_quotas WHERE project_id = \(bind: project)")
            .all()
        {
            limits[try row.string("resource")] = try row.int("hard_limit")
        }
        return limits
    }

    /// Quota classes are kept beside projects' quotas under this prefix (`class:default`).
    static let classPrefix = "class:"
    static let defaultClass = "default"

    /// The limits of a quota class: the configured defaults, with what an administrator set
    /// for the class. Per-type limits are unlimited unless set.
    func classLimits(_ name: String, _ db: any SQLDatabase) async throws -> [String: Int] {
        var limits = configuration.defaultQuotas
        for type in try await Self.types(where: "1 = 1", db) {
            for resource in ["volumes", "gigabytes", "snapshots"] { limits["\(resource)_\(type.name)"] = -1 }
        }
        let key = Self.classPrefix + name
        for row in try await db.raw("SELECT resource, hard_limit FROM volume_quotas WHERE project_id = \(bind: key)").all() {
            limits[try row.string("resource")] = try row.int("hard_limit")
        }
        return limits
    }

    /// Serves `GET /os-quota-class-sets/{class}` (administrators).
    public func quotaClass(_ name: String, caller: AuthContext) async throws -> [String: Int] {
        try Policy.authorize(caller, .admin)
        return try await database.read { db in try await self.classLimits(name, db) }
    }

    /// Serves `PUT /os-quota-class-sets/{class}` (administrators): new defaults for every project
    /// that has set none of its own.
    public func updateQuotaClass(_ name: String, _ values: [String: Int], caller: AuthContext) async throws
        -> [String: Int]
    {
        _ = try await updateQuotaSet(Self.classPrefix + name, values, caller: caller)
        return try await database.read { db in try await self.classLimits(name, db) }
    }

    /// What `project` uses of each limited resource, per type too.
    func usage(_ project: String, _ db: any SQLDatabase) async throws -> [String: Int] {
        var usage = ["volumes": 0, "gigabytes": 0, "snapshots": 0, "backups": 0, "backup_gigabytes": 0, "groups": 0]
        let volumes = try await db.raw(
            """
            SELECT t.name AS type_name, COUNT(*) AS n, CAST(COALESCE(SUM(v.size), 0) AS BIGINT) AS gb FROM volumes v
            JOIN volume_types t ON t.id = v.type_id WHERE v.project_id = \(bind: project) GROUP BY t.name
            """
        ).all()
        for row in volumes {
            let type = try row.string("type_name")
            let (count, gigabytes) = (try row.int("n"), try row.int("gb"))
            usage["volumes", default: 0] += count
            usage["gigabytes", default: 0] += gigabytes
            usage["volumes_\(type)", default: 0] += count
            usage["gigabytes_\(type)", default: 0] += gigabytes
        }
        let snapshots = try await db.raw(
            """
            SELECT t.name AS type_name, COUNT(*) AS n, CAST(COALESCE(SUM(s.size), 0) AS BIGINT) AS gb FROM volume_snapshots s
            JOIN volumes v ON v.id = s.volume_id JOIN volume_types t ON t.id = v.type_id
            WHERE s.project_id = \(bind: project) GROUP BY t.name
            """
        ).all()
        for row in snapshots {
            let type = try row.string("type_name")
            let (count, gigabytes) = (try row.int("n"), try row.int("gb"))
            usage["snapshots", default: 0] += count
            usage["gigabytes", default: 0] += gigabytes
            usage["snapshots_\(type)", default: 0] += count
            usage["gigabytes_\(type)", default: 0] += gigabytes
        }
        let backups = try await db.raw(
            """
            SELECT COUNT(*) AS n, CAST(COALESCE(SUM(size), 0) AS BIGINT) AS gb FROM volume_backups
            WHERE project_id = \(bind: project)
            """
        ).all()
        for row in backups {
            usage["backups", default: 0] += try row.int("n")
            usage["backup_gigabytes", default: 0] += try row.int("gb")
        }
        return usage
    }

    /// Asks the project's storage allocation before `gigabytes` more are stored: 413 with the
    /// allocation's numbers when they would pass it. Outside any transaction: the answer reads
    /// what the project holds in every storage service.
    func allowStorage(_ project: String, gigabytes: Int) async throws {
        guard gigabytes > 0, let storageAllowance else { return }
        try await storageAllowance.authorizeStorage(projectID: project, adding: Int64(gigabytes) << 30)
    }

    /// Refuses (413, Cinder's words) a change that would take `project` past a limit:
    /// `adding` counts per resource (per-type ones derived from `type`), and a single
    /// volume of `volumeSize` past `per_volume_gigabytes`.
    func checkQuota(project: String, type: String, adding: [String: Int], volumeSize: Int?, _ db: any SQLDatabase)
        async throws
    {
        let limits = try await limits(project, db)
        if let volumeSize, let perVolume = limits["per_volume_gigabytes"], perVolume >= 0, volumeSize > perVolume {
            throw UpdraftError(
                .overLimit,
                "VolumeSizeExceedsLimit: Requested volume size \(volumeSize)G is larger than maximum allowed limit \(perVolume)G."
            )
        }
        let usage = try await usage(project, db)
        var wanted = adding
        for (resource, count) in adding where ["volumes", "gigabytes", "snapshots"].contains(resource) {
            wanted["\(resource)_\(type)"] = count
        }
        for (resource, count) in wanted.sorted(by: { $0.key < $1.key }) {
            guard let limit = limits[resource], limit >= 0 else { continue }
            let used = usage[resource] ?? 0
            guard used + count <= limit else {
                if resource == "backup_gigabytes" {
                    throw UpdraftError(
                        .overLimit,
                        "VolumeBackupSizeExceedsAvailableQuota: Requested backup exceeds allowed Backup gigabytes quota. Requested \(count)G, quota is \(limit)G and \(used)G has been consumed."
                    )
                }
                if resource.hasPrefix("gigabytes") {
                    throw UpdraftError(
                        .overLimit,
                        "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed \(resource) quota. Requested \(count)G, quota is \(limit)G and \(used)G has been consumed."
                    )
                }
                let kind =
                    resource.hasPrefix("snapshots")
                    ? "SnapshotLimitExceeded" : resource == "backups" ? "BackupLimitExceeded" : "VolumeLimitExceeded"
                throw UpdraftError(.overLimit, "\(kind): Maximum number of \(resource) allowed (\(limit)) exceeded")
            }
        }
    }

    /// Serves `GET /os-quota-sets/{project}`: limits, with what is used when `usage` is asked.
    public func quotaSet(_ project: String, caller: AuthContext) async throws -> (limits: [String: Int], usage: [String: Int]) {
        guard Self.sees(caller, project) else { throw UpdraftError.forbidden() }
        return try await database.read { db in (try await self.limits(project, db), try await self.usage(project, db)) }
    }

    /// Serves `GET /os-quota-sets/{project}/defaults`.
    public func defaultQuotaSet() async throws -> [String: Int] {
        try await database.read { db in try await self.classLimits(Self.defaultClass, db) }
    }

    /// Serves `PUT /os-quota-sets/{project}` (administrators): known resources only, -1 or more.
    public func updateQuotaSet(_ project: String, _ values: [String: Int], caller: AuthContext) async throws -> [String: Int] {
        try Policy.authorize(caller, .admin)
        return try await database.write { db in
            let known = try await self.limits(project, db)
            for (resource, value) in values {
                guard known[resource] != nil else { throw UpdraftError.badRequest("Bad key(s) in quota set: \(resource)") }
                guard value >= -1 else {
                    throw UpdraftError.badRequest("Quota limit \(value) for \(resource) must be -1 or greater.")
                }
            }
            for (resource, value) in values {
                try await db.raw(
                    "DELETE FROM volume_quotas WHERE project_id = \(bind: project) AND resource = \(bind: resource)"
                ).run()
                try await db.raw(
                    """
                    INSERT INTO volume_quotas (project_id, resource, hard_limit)
                    VALUES (\(bind: project), \(bind: resource), \(bind: value))
                    """
                ).run()
            }
            return try await self.limits(project, db)
        }
    }

    /// Serves `DELETE /os-quota-sets/{project}` (administrators): back to the defaults.
    public func resetQuotaSet(_ project: String, caller: AuthContext) async throws {
        try Policy.authorize(caller, .admin)
        try await database.write { db in
            try await db.raw("DELETE FROM volume_quotas WHERE project_id = \(bind: project)").run()
        }
    }
}
