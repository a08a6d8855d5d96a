import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Roles, implied roles, and role assignments (grants).
extension IdentityService {
    public func listRoles(query: [String: String]) async throws -> [Role] {
        var filters = Self.filters(query, allowed: ["name": "name", "domain_id": "domain_id"])
        if query["domain_id"] == nil { filters.append(("domain_id", "")) }
        let select = Self.select("roles", where: filters)
        return try await read { db in try await db.raw(select).all().map(Self.role) }
    }

    public func role(id: String) async throws -> Role {
        try await read { db in try await Self.role(id: id, db) }
    }

    static func role(id: String, _ db: any SQLDatabase) async throws -> Role {
        return try role(try await Self.row("roles", id: id, noun: "role", db))
    }

    public func createRole(_ body: JSONObject, id: String? = nil) async throws -> Role {
        let role = Role(
            id: id ?? Identifier.make(), name: try body.requiredString("name", maxLength: 255),
            domainID: try body.string("domain_id"), description: try body.string("description") ?? "")
        try await write { db in
            try await db.raw(
                """
                INSERT INTO roles (id, name, domain_id, description)
                VALUES (\(bind: role.id), \(bind: role.name), \(bind: role.domainID ?? ""), \(bind: role.description))
                """
            ).run()
        }
        return role
    }

    public func updateRole(id: String, _ body: JSONObject) async throws -> Role {
        try await write { db in
            var role = try await Self.role(id: id, db)
            if let name = try body.string("name") { role.name = name }
            if let description = try body.string("description") { role.description = description }
            try await db.raw(
                "UPDATE roles SET name = \(bind: role.name), description = \(bind: role.description) WHERE id = \(bind: id)"
            ).run()
            return role
        }
    }

    public func deleteRole(id: String) async throws {
        let holders = try await assignments(query: ["role.id": id, "effective": "true"]).map(\.actor.id)
        try await write { db in
            _ = try await Self.role(id: id, db)
            try await Self.deleteGrants(where: "role_id = \(bind: id)", db)
            try await db.raw("DELETE FROM implied_roles WHERE prior_role_id = \(bind: id) OR implied_role_id = \(bind: id)").run()
            try await db.raw("DELETE FROM roles WHERE id = \(bind: id)").run()
        }
        for user in Set(holders) { try await tokens.revocations.revoke(.user, user) }
    }

    // MARK: Implied roles

    /// Every (prior, implied) pair.
    public func roleInferences() async throws -> [(prior: Role, implied: Role)] {
        try await read { db in
            let roles = Dictionary(
                uniqueKeysWithValues: try await db.raw("SELECT * FROM roles").all().map(Self.role).map { ($0.id, $0) })
            return try await db.raw("SELECT * FROM implied_roles ORDER BY prior_role_id").all().compactMap { row in
                guard let prior = roles[try row.string("prior_role_id")], let implied = roles[try row.string("implied_role_id")]
                else { return nil }
                return (prior, implied)
            }
        }
    }

    public func addImpliedRole(prior: String, implied: String) async throws -> (Role, Role) {
        guard prior != implied else { throw UpdraftError.badRequest("A role cannot imply itself.") }
        return try await write { db in
            let p = try await Self.role(id: prior, db)
            let i = try await Self.role(id: implied, db)
            guard p.domainID != nil || i.domainID == nil else {
                throw UpdraftError.forbidden("A global role cannot imply a domain-specific role.")
            }
            try await db.raw(
                "DELETE FROM implied_roles WHERE prior_role_id = \(bind: prior) AND implied_role_id = \(bind: implied)"
            ).run()
            try await db.raw(
                "INSERT INTO implied_roles (prior_role_id, implied_role_id) VALUES (\(bind: prior), \(bind: implied))"
            ).run()
            return (p, i)
        }
    }

    public func impliedRole(prior: String, implied: String) async throws -> (Role, Role) {
        try await read { db in
            let p = try await Self.role(id: prior, db)
            let i = try await Self.role(id: implied, db)
            guard
                try await db.raw(
                    "SELECT * FROM implied_roles WHERE prior_role_id = \(bind: prior) AND implied_role_id = \(bind: implied)"
                ).first() != nil
            else { throw UpdraftError.notFound("\(prior) does not imply \(implied).") }
            return (p, i)
        }
    }

    public func deleteImpliedRole(prior: String, implied: String) async throws {
        _ = try await impliedRole(prior: prior, implied: implied)
        try await write { db in
            try await db.raw(
                "DELETE FROM implied_roles WHERE prior_role_id = \(bind: prior) AND implied_role_id = \(bind: implied)"
            ).run()
        }
    }

    /// Expands role ids with every role they imply, transitively.
    static func expandImplied(_ roleIDs: Set<String>, _ db: any SQLDatabase) async throws -> Set<String> {
        var edges: [String: [String]] = [:]
        for row in try await db.raw("SELECT * FROM implied_roles").all() {
            edges[try row.string("prior_role_id"), default: []].append(try row.string("implied_role_id"))
        }
        var result = roleIDs
        var queue = Array(roleIDs)
        while let next = queue.popLast() {
            for implied in edges[next] ?? [] where result.insert(implied).inserted { queue.append(implied) }
        }
        return result
    }

    /// Direct grants live in `assignments`; OS-INHERIT grants, which apply to the projects
    /// below their target rather than to the target itself, in `inherited_assignments`.
    static func grantTable(_ inherited: Bool) -> String { inherited ? "inherited_assignments" : "assignments" }

    /// Deletes direct and inherited grants matching a condition (when their actor, target or role goes).
    static func deleteGrants(where condition: SQLQueryString, _ db: any SQLDatabase) async throws {
        for table in [grantTable(false), grantTable(true)] {
            try await db.raw("DELETE FROM \(ident: table) WHERE " + condition).run()
        }
    }

    // MARK: Grants

    /// Serves `PUT /v3/{projects|domains|system}/.../{users|groups}/{id}/roles/{role}`.
    public func grant(
        role: String, actor: RoleAssignment.ActorType, _ actorID: String, on target: RoleAssignment.TargetType,
        _ targetID: String, inherited: Bool = false
    ) async throws {
        try await write { db in
            try await Self.checkGrantParts(role: role, actor: actor, actorID, target: target, targetID, db)
            try await db.raw(
                """
                DELETE FROM \(ident: Self.grantTable(inherited)) WHERE actor_type = \(bind: actor.rawValue) AND actor_id = \(bind: actorID)
                AND target_type = \(bind: target.rawValue) AND target_id = \(bind: targetID) AND role_id = \(bind: role)
                """
            ).run()
            try await db.raw(
                """
                INSERT INTO \(ident: Self.grantTable(inherited)) (actor_type, actor_id, target_type, target_id, role_id)
                VALUES (\(bind: actor.rawValue), \(bind: actorID), \(bind: target.rawValue), \(bind: targetID), \(bind: role))
                """
            ).run()
        }
    }

    public func hasGrant(
        role: String, actor: RoleAssignment.ActorType, _ actorID: String, on target: RoleAssignment.TargetType,
        _ targetID: String, inherited: Bool = false
    ) async throws -> Bool {
        try await read { db in
            try await Self.checkGrantParts(role: role, actor: actor, actorID, target: target, targetID, db)
            return try await db.raw(
                """
                SELECT role_id FROM \(ident: Self.grantTable(inherited)) WHERE actor_type = \(bind: actor.rawValue) AND actor_id = \(bind: actorID)
                AND target_type = \(bind: target.rawValue) AND target_id = \(bind: targetID) AND role_id = \(bind: role)
                """
            ).first() != nil
        }
    }

    public func revoke(
        role: String, actor: RoleAssignment.ActorType, _ actorID: String, on target: RoleAssignment.TargetType,
        _ targetID: String, inherited: Bool = false
    ) async throws {
        guard try await hasGrant(role: role, actor: actor, actorID, on: target, targetID, inherited: inherited) else {
            throw UpdraftError.notFound("Could not find role assignment with role: \(role), \(actor.rawValue): \(actorID).")
        }
        try await write { db in
            try await db.raw(
                """
                DELETE FROM \(ident: Self.grantTable(inherited)) WHERE actor_type = \(bind: actor.rawValue) AND actor_id = \(bind: actorID)
                AND target_type = \(bind: target.rawValue) AND target_id = \(bind: targetID) AND role_id = \(bind: role)
                """
            ).run()
        }
        let users = actor == .user ? [actorID] : try await groupMembers(groupID: actorID).map(\.id)
        for user in users {
            // An inherited grant reaches every project below its target: revoke all the user's tokens.
            if inherited {
                try await tokens.revocations.revoke(.user, user)
            } else {
                try await tokens.revocations.revoke(.grant, RevocationList.grantKey(user: user, target: targetID))
            }
        }
    }

    /// Roles granted directly to an actor on a target (`GET /v3/projects/{p}/users/{u}/roles`).
    public func grantedRoles(
        actor: RoleAssignment.ActorType, _ actorID: String, on target: RoleAssignment.TargetType, _ targetID: String,
        inherited: Bool = false
    ) async throws -> [Role] {
        try await read { db in
            try await Self.checkGrantParts(role: nil, actor: actor, actorID, target: target, targetID, db)
            return try await db.raw(
                """
                SELECT r.* FROM roles r JOIN \(ident: Self.grantTable(inherited)) a ON a.role_id = r.id WHERE a.actor_type = \(bind: actor.rawValue)
                AND a.actor_id = \(bind: actorID) AND a.target_type = \(bind: target.rawValue) AND a.target_id = \(bind: targetID)
                ORDER BY r.name
                """
            ).all().map(Self.role)
        }
    }

    private static func checkGrantParts(
        role: String?, actor: RoleAssignment.ActorType, _ actorID: String, target: RoleAssignment.TargetType,
        _ targetID: String, _ db: any SQLDatabase
    ) async throws {
        if let role { _ = try await Self.role(id: role, db) }
        switch actor {
        case .user: _ = try await Self.user(id: actorID, db)
        case .group: _ = try await Self.group(id: actorID, db)
        }
        switch target {
        case .project: _ = try await Self.project(id: targetID, db)
        case .domain: _ = try await Self.domain(id: targetID, db)
        case .system: break
        }
    }

    /// Effective role ids of a user on a target: direct, through groups, inherited from the
    /// project's domain and ancestors (OS-INHERIT), and implied.
    static func effectiveRoleIDs(
        userID: String, on target: RoleAssignment.TargetType, _ targetID: String, _ db: any SQLDatabase
    ) async throws -> Set<String> {
        var sources: [(table: String, type: String, id: String)] = [("assignments", target.rawValue, targetID)]
        if target == .project {
            let project = try await Self.project(id: targetID, db)
            sources.append(("inherited_assignments", "domain", project.domainID))
            for ancestor in try await ancestors(of: project, db) {
                sources.append(("inherited_assignments", "project", ancestor))
            }
        }
        var direct: Set<String> = []
        for source in sources {
            let rows = try await db.raw(
                """
                SELECT role_id FROM \(ident: source.table) WHERE actor_type = 'user' AND actor_id = \(bind: userID)
                  AND target_type = \(bind: source.type) AND target_id = \(bind: source.id)
                UNION SELECT a.role_id FROM \(ident: source.table) a JOIN group_members m ON a.actor_type = 'group'
                  AND a.actor_id = m.group_id
                  WHERE m.user_id = \(bind: userID) AND a.target_type = \(bind: source.type) AND a.target_id = \(bind: source.id)
                """
            ).all()
            for row in rows { direct.insert(try row.string("role_id")) }
        }
        return direct.isEmpty ? [] : try await expandImplied(direct, db)
    }

    /// The ids of a project's parents, nearest first.
    static func ancestors(of project: Project, _ db: any SQLDatabase) async throws -> [String] {
        var result: [String] = []
        var next = project.parentID
        while let id = next, !result.contains(id), result.count < 64 {
            result.append(id)
            next = try await db.raw("SELECT parent_id FROM projects WHERE id = \(bind: id)").first()?.optionalString("parent_id")
        }
        return result
    }

    /// Effective roles as (id, name), sorted by name.
    static func effectiveRoles(
        userID: String, on target: RoleAssignment.TargetType, _ targetID: String, _ db: any SQLDatabase
    ) async throws -> [TokenPayload.Role] {
        let ids = try await effectiveRoleIDs(userID: userID, on: target, targetID, db)
        guard !ids.isEmpty else { return [] }
        return try await db.raw("SELECT id, name FROM roles WHERE id IN (\(binds: Array(ids))) ORDER BY name").all().map {
            TokenPayload.Role(id: try $0.string("id"), name: try $0.string("name"))
        }
    }
}
