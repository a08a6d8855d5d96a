import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// `GET /v3/role_assignments` with Keystone's filters, `effective` and `include_names`.
extension IdentityService {
    public func assignments(query: [String: String]) async throws -> [RoleAssignment] {
        let effective = query.keys.contains("effective")
        let includeNames = ["true", "1", ""].contains(query["include_names"]?.lowercased() ?? "false")
        return try await read { db in
            var result: [RoleAssignment] = []
            let members = try await db.raw("SELECT group_id, user_id FROM group_members").all().map {
                (group: try $0.string("group_id"), user: try $0.string("user_id"))
            }
            var implied: [String: [String]] = [:]
            for row in try await db.raw("SELECT * FROM implied_roles").all() {
                implied[try row.string("prior_role_id"), default: []].append(try row.string("implied_role_id"))
            }
            var domainRoles: Set<String> = []
            for row in try await db.raw("SELECT id FROM roles WHERE domain_id <> ''").all() {
                domainRoles.insert(try row.string("id"))
            }
            // Projects by domain and by parent, to spread OS-INHERIT grants over the projects below them.
            var projectsInDomain: [String: [String]] = [:]
            var children: [String: [String]] = [:]
            for row in try await db.raw("SELECT id, domain_id, parent_id FROM projects").all() {
                let id = try row.string("id")
                projectsInDomain[try row.string("domain_id"), default: []].append(id)
                if let parent = try row.optionalString("parent_id") { children[parent, default: []].append(id) }
            }
            func below(_ project: String) -> [String] {
                var result: [String] = []
                var queue = children[project] ?? []
                while let next = queue.popLast(), result.count < 100_000 {
                    result.append(next)
                    queue += children[next] ?? []
                }
                return result
            }
            var rows: [(row: any SQLRow, inherited: Bool)] = []
            for inherited in [false, true] {
                rows += try await db.raw("SELECT * FROM \(ident: Self.grantTable(inherited))").all().map { ($0, inherited) }
            }
            for (row, inherited) in rows {
                guard let actorType = RoleAssignment.ActorType(rawValue: try row.string("actor_type")),
                    let targetType = RoleAssignment.TargetType(rawValue: try row.string("target_type"))
                else { continue }
                var base = RoleAssignment(
                    actorType: actorType, actor: .init(id: try row.string("actor_id")), targetType: targetType,
                    target: .init(id: try row.string("target_id")), role: .init(id: try row.string("role_id")))
                base.inherited = inherited
                var expanded = [base]
                if effective {
                    if inherited {
                        let projects = targetType == .domain ? projectsInDomain[base.target.id] ?? [] : below(base.target.id)
                        expanded = projects.map { project in
                            var a = base
                            a.inherited = false
                            a.targetType = .project
                            a.target = .init(id: project)
                            return a
                        }
                    }
                    expanded = expanded.flatMap { base in
                        guard base.actorType == .group else { return [base] }
                        return members.filter { $0.group == base.actor.id }.map { member in
                            var a = base
                            a.actorType = .user
                            a.actor = .init(id: member.user)
                            a.viaGroup = base.actor.id
                            return a
                        }
                    }
                    expanded = expanded.flatMap { assignment in
                        var all = [assignment]
                        var queue = [assignment.role.id]
                        var seen: Set<String> = [assignment.role.id]
                        while let next = queue.popLast() {
                            for role in implied[next] ?? [] where seen.insert(role).inserted {
                                var a = assignment
                                a.role = .init(id: role)
                                all.append(a)
                                queue.append(role)
                            }
                        }
                        return all
                    }
                }
                // Domain-specific roles only lend the roles they imply; they are not effective themselves.
                result += effective ? expanded.filter { !domainRoles.contains($0.role.id) } : expanded
            }
            result = result.filter { Self.matches($0, query) }
            var seen: Set<String> = []
            result = result.filter {
                seen.insert("\($0.actorType)/\($0.actor.id)/\($0.targetType)/\($0.target.id)/\($0.role.id)/\($0.inherited)")
                    .inserted
            }
            if includeNames { result = try await Self.name(result, db) }
            return result
        }
    }

    private static func matches(_ a: RoleAssignment, _ query: [String: String]) -> Bool {
        if let user = query["user.id"], a.actorType != .user || a.actor.id != user { return false }
        if let group = query["group.id"], a.actorType != .group || a.actor.id != group { return false }
        if let role = query["role.id"], a.role.id != role { return false }
        if let project = query["scope.project.id"], a.targetType != .project || a.target.id != project { return false }
        if let domain = query["scope.domain.id"], a.targetType != .domain || a.target.id != domain { return false }
        if query["scope.system"] != nil, a.targetType != .system { return false }
        return true
    }

    private static func name(_ assignments: [RoleAssignment], _ db: any SQLDatabase) async throws -> [RoleAssignment] {
        var domains: [String: String] = [:]
        for row in try await db.raw("SELECT id, name FROM domains").all() {
            domains[try row.string("id")] = try row.string("name")
        }
        func named(_ table: String) async throws -> [String: (name: String, domain: String)] {
            var map: [String: (String, String)] = [:]
            for row in try await db.raw("SELECT id, name, domain_id FROM \(ident: table)").all() {
                map[try row.string("id")] = (try row.string("name"), try row.string("domain_id"))
            }
            return map
        }
        let users = try await named("users")
        let groups = try await named("identity_groups")
        let projects = try await named("projects")
        let roles = try await named("roles")
        func domainRef(_ id: String) -> [String: String] { ["id": id, "name": domains[id] ?? ""] }
        return assignments.map { a in
            var a = a
            let actor = a.actorType == .user ? users[a.actor.id] : groups[a.actor.id]
            a.actor.name = actor?.name
            a.actor.domain = actor.map { domainRef($0.domain) }
            if let role = roles[a.role.id] {
                a.role.name = role.name
                if !role.domain.isEmpty { a.role.domain = domainRef(role.domain) }
            }
            switch a.targetType {
            case .project:
                a.target.name = projects[a.target.id]?.name
                a.target.domain = projects[a.target.id].map { domainRef($0.domain) }
            case .domain: a.target.name = domains[a.target.id]
            case .system: break
            }
            return a
        }
    }
}
