import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Flavors, their extra specs and access lists.
extension ComputeService {
    static func flavor(_ row: any SQLRow) throws -> Flavor {
        Flavor(
            id: try row.string("id"), name: try row.string("name"), vcpus: try row.int("vcpus"), ram: try row.int("ram"),
            disk: try row.int("disk"), ephemeral: try row.int("ephemeral"), swap: try row.int("swap"),
            rxtxFactor: try row.double("rxtx_factor"), isPublic: try row.bool("is_public"), disabled: try row.bool("disabled"),
            description: try row.optionalString("description"),
            extraSpecs: InstanceRepository.decode([String: String].self, try row.string("extra_specs")) ?? [:])
    }

    /// Creates the default flavors on an empty cloud.
    func seedFlavors() async throws {
        try await database.write { db in
            guard try await db.raw("SELECT id FROM flavors LIMIT 1").first() == nil else { return }
            for flavor in Flavor.defaults { try await Self.insert(flavor, db) }
        }
    }

    static func insert(_ f: Flavor, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO flavors (id, name, vcpus, ram, disk, ephemeral, swap, rxtx_factor, is_public, disabled, description,
              extra_specs, created_at)
            VALUES (\(bind: f.id), \(bind: f.name), \(bind: f.vcpus), \(bind: f.ram), \(bind: f.disk), \(bind: f.ephemeral),
              \(bind: f.swap), \(bind: f.rxtxFactor), \(bind: f.isPublic), \(bind: f.disabled), \(bind: f.description),
              \(bind: InstanceRepository.json(f.extraSpecs)), \(bind: Date.now.timeIntervalSince1970))
            """
        ).run()
    }

    /// Flavors visible to `caller`: public ones and private ones shared with their project;
    /// an admin asking `is_public=none` sees all. Sorted and paginated as Nova does.
    public func listFlavors(
        caller: AuthContext, isPublic: Bool?, minDisk: Int?, minRam: Int?, sortKey: String, ascending: Bool,
        limit: Int?, marker: String?
    ) async throws -> [Flavor] {
        let admin = Policy.isAdmin(caller)
        let project = caller.projectID ?? ""
        var all = try await database.read { db in
            let shared = Set(
                try await db.raw("SELECT flavor_id FROM flavor_projects WHERE project_id = \(bind: project)").all().map {
                    try $0.string("flavor_id")
                })
            return try await db.raw("SELECT * FROM flavors").all().map(Self.flavor).filter { flavor in
                if admin && isPublic == nil { return true }
                if admin, let isPublic, !isPublic { return !flavor.isPublic }
                return flavor.isPublic || shared.contains(flavor.id)
            }
        }
        if let minDisk { all = all.filter { $0.disk >= minDisk } }
        if let minRam { all = all.filter { $0.ram >= minRam } }
        let key =
            ["name", "memory_mb", "vcpus", "root_gb", "ephemeral_gb", "swap", "rxtx_factor", "flavorid", "id"]
                .contains(sortKey) ? sortKey : "flavorid"
        all.sort { a, b in
            let (x, y) = ascending ? (a, b) : (b, a)
            switch key {
            case "name": return (x.name, x.id) < (y.name, y.id)
            case "memory_mb": return (x.ram, x.id) < (y.ram, y.id)
            case "vcpus": return (x.vcpus, x.id) < (y.vcpus, y.id)
            case "root_gb": return (x.disk, x.id) < (y.disk, y.id)
            case "ephemeral_gb": return (x.ephemeral, x.id) < (y.ephemeral, y.id)
            case "swap": return (x.swap, x.id) < (y.swap, y.id)
            case "rxtx_factor": return (x.rxtxFactor, x.id) < (y.rxtxFactor, y.id)
            default: return x.id.localizedStandardCompare(y.id) == .orderedAscending
            }
        }
        if let marker {
            guard let index = all.firstIndex(where: { $0.id == marker }) else {
                throw UpdraftError.badRequest("marker [\(marker)] not found")
            }
            all = Array(all[(index + 1)...])
        }
        return Array(all.prefix(max(0, min(limit ?? configuration.maxLimit, configuration.maxLimit))))
    }

    /// One flavor; a private flavor is 404 to a project without access, as in Nova.
    public func flavor(_ id: String, caller: AuthContext) async throws -> Flavor {
        try await database.read { db in try await self.flavor(id, caller: caller, db) }
    }

    /// The flavor a server asks for (create, resize): one it cannot see is a bad request (400), as in Nova.
    func requestedFlavor(_ id: String, caller: AuthContext) async throws -> Flavor {
        do {
            return try await flavor(id, caller: caller)
        } catch let error as UpdraftError where error.code == .notFound {
            throw UpdraftError.badRequest(error.message)
        }
    }

    func flavor(_ id: String, caller: AuthContext, _ db: any SQLDatabase) async throws -> Flavor {
        guard let row = try await db.raw("SELECT * FROM flavors WHERE id = \(bind: id)").first() else {
            throw UpdraftError.notFound("Flavor \(id) could not be found.")
        }
        let flavor = try Self.flavor(row)
        if !flavor.isPublic, !Policy.isAdmin(caller) {
            let access = try await db.raw(
                "SELECT flavor_id FROM flavor_projects WHERE flavor_id = \(bind: id) AND project_id = \(bind: caller.projectID ?? "")"
            ).first()
            if access == nil { throw UpdraftError.notFound("Flavor \(id) could not be found.") }
        }
        return flavor
    }

    /// Serves `POST /flavors` (admin). `id` "auto" or nil makes a UUID.
    public func createFlavor(_ flavor: Flavor) async throws -> Flavor {
        var flavor = flavor
        if flavor.id.isEmpty || flavor.id == "auto" { flavor.id = UUID().uuidString.lowercased() }
        let created = flavor
        try await database.write { db in
            if try await db.raw("SELECT id FROM flavors WHERE id = \(bind: created.id)").first() != nil {
                throw UpdraftError.conflict("Flavor with ID \(created.id) already exists.")
            }
            if try await db.raw("SELECT id FROM flavors WHERE name = \(bind: created.name)").first() != nil {
                throw UpdraftError.conflict("Flavor with name \(created.name) already exists.")
            }
            try await Self.insert(created, db)
        }
        return created
    }

    /// Serves `PUT /flavors/{id}` (2.55: the description only).
    public func updateFlavor(_ id: String, description: String?) async throws -> Flavor {
        try await database.write { db in
            var flavor = try await self.flavor(id, caller: .system, db)
            flavor.description = description
            try await db.raw("UPDATE flavors SET description = \(bind: description) WHERE id = \(bind: id)").run()
            return flavor
        }
    }

    public func deleteFlavor(_ id: String) async throws {
        try await database.write { db in
            _ = try await self.flavor(id, caller: .system, db)
            try await db.raw("DELETE FROM flavors WHERE id = \(bind: id)").run()
        }
    }

    /// Sets (merges) extra specs; `remove` deletes one key (404 when absent).
    public func updateExtraSpecs(_ id: String, set: [String: String], remove: String? = nil) async throws -> [String: String] {
        try await database.write { db in
            var flavor = try await self.flavor(id, caller: .system, db)
            flavor.extraSpecs.merge(set) { $1 }
            if let remove {
                guard flavor.extraSpecs.removeValue(forKey: remove) != nil else {
                    throw UpdraftError.notFound("Flavor \(id) has no extra specs with key \(remove).")
                }
            }
            try await db.raw(
                "UPDATE flavors SET extra_specs = \(bind: InstanceRepository.json(flavor.extraSpecs)) WHERE id = \(bind: id)"
            ).run()
            return flavor.extraSpecs
        }
    }

    static func flavorProjects(_ id: String, _ db: any SQLDatabase) async throws -> [String] {
        try await db.raw("SELECT project_id FROM flavor_projects WHERE flavor_id = \(bind: id) ORDER BY project_id").all()
            .map { try $0.string("project_id") }
    }

    /// The projects a private flavor is shared with.
    public func flavorAccess(_ id: String) async throws -> [String] {
        try await database.read { db in
            let flavor = try await self.flavor(id, caller: .system, db)
            guard !flavor.isPublic else {
                throw UpdraftError.notFound("Access list not available for public flavors.")
            }
            return try await Self.flavorProjects(id, db)
        }
    }

    /// Serves the `addTenantAccess` and `removeTenantAccess` flavor actions.
    public func setFlavorAccess(_ id: String, project: String, granted: Bool) async throws -> [String] {
        try await database.write { db in
            let flavor = try await self.flavor(id, caller: .system, db)
            guard !flavor.isPublic else { throw UpdraftError.conflict("Can not add access to a public flavor.") }
            let exists =
                try await db.raw(
                    "SELECT flavor_id FROM flavor_projects WHERE flavor_id = \(bind: id) AND project_id = \(bind: project)"
                ).first() != nil
            if granted {
                guard !exists else {
                    throw UpdraftError.conflict(
                        "Flavor access already exists for flavor \(id) and project \(project) combination.")
                }
                try await db.raw("INSERT INTO flavor_projects (flavor_id, project_id) VALUES (\(bind: id), \(bind: project))")
                    .run()
            } else {
                guard exists else {
                    throw UpdraftError.notFound("Flavor access not found for \(id) / \(project) combination.")
                }
                try await db.raw("DELETE FROM flavor_projects WHERE flavor_id = \(bind: id) AND project_id = \(bind: project)")
                    .run()
            }
            return try await Self.flavorProjects(id, db)
        }
    }
}
