import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Domains and projects.
extension IdentityService {
    // MARK: Domains

    public func listDomains(query: [String: String]) async throws -> [Domain] {
        let filters = Self.filters(query, allowed: ["name": "name", "enabled": "enabled", "id": "id"])
        return try await read { db in try await db.raw(Self.select("domains", where: filters)).all().map(Self.domain) }
    }

    public func domain(id: String) async throws -> Domain {
        try await read { db in try await Self.domain(id: id, db) }
    }

    static func domain(id: String, _ db: any SQLDatabase) async throws -> Domain {
        return try domain(try await Self.row("domains", id: id, noun: "domain", db))
    }

    static func domain(name: String, _ db: any SQLDatabase) async throws -> Domain {
        guard let row = try await db.raw("SELECT * FROM domains WHERE name = \(bind: name)").first() else {
            throw UpdraftError.notFound("Could not find domain: \(name).")
        }
        return try domain(row)
    }

    public func createDomain(_ body: JSONObject, id: String? = nil) async throws -> Domain {
        let domain = Domain(
            id: id ?? Identifier.make(), name: try body.requiredString("name", maxLength: 64),
            description: try body.string("description") ?? "", enabled: try body.bool("enabled") ?? true,
            tags: try body.strings("tags") ?? [])
        try await write { db in
            try await db.raw(
                """
                INSERT INTO domains (id, name, description, enabled, tags, created_at)
                VALUES (\(bind: domain.id), \(bind: domain.name), \(bind: domain.description), \(bind: domain.enabled),
                \(bind: Self.tagsText(domain.tags)), \(bind: Self.now))
                """
            ).run()
        }
        return domain
    }

    public func updateDomain(id: String, _ body: JSONObject) async throws -> Domain {
        let updated = try await write { db in
            var domain = try await Self.domain(id: id, db)
            if let name = try body.string("name") { domain.name = name }
            if let description = try body.string("description") { domain.description = description }
            if let enabled = try body.bool("enabled") { domain.enabled = enabled }
            if let tags = try body.strings("tags") { domain.tags = tags }
            try await db.raw(
                """
                UPDATE domains SET name = \(bind: domain.name), description = \(bind: domain.description),
                enabled = \(bind: domain.enabled), tags = \(bind: Self.tagsText(domain.tags)) WHERE id = \(bind: id)
                """
            ).run()
            return domain
        }
        if !updated.enabled { try await tokens.revocations.revoke(.domain, id) }
        return updated
    }

    /// Keystone refuses to delete an enabled domain; deleting one removes everything in it.
    public func deleteDomain(id: String) async throws {
        try await write { db in
            let domain = try await Self.domain(id: id, db)
            guard !domain.enabled else {
                throw UpdraftError.forbidden("Cannot delete a domain that is enabled, please disable it first.")
            }
            for table in ["projects", "users", "identity_groups"] {
                try await Self.deleteGrants(
                    where: """
                        target_id IN (SELECT id FROM \(ident: table) WHERE domain_id = \(bind: id))
                        OR actor_id IN (SELECT id FROM \(ident: table) WHERE domain_id = \(bind: id))
                        """, db)
            }
            try await Self.deleteGrants(where: "target_type = 'domain' AND target_id = \(bind: id)", db)
            try await db.raw("DELETE FROM projects WHERE domain_id = \(bind: id)").run()
            try await db.raw("DELETE FROM users WHERE domain_id = \(bind: id)").run()
            try await db.raw("DELETE FROM identity_groups WHERE domain_id = \(bind: id)").run()
            try await db.raw("DELETE FROM roles WHERE domain_id = \(bind: id)").run()
            try await db.raw("DELETE FROM domains WHERE id = \(bind: id)").run()
        }
        try await tokens.revocations.revoke(.domain, id)
    }

    // MARK: Projects

    public func listProjects(query: [String: String]) async throws -> [Project] {
        let filters = Self.filters(
            query, allowed: ["name": "name", "domain_id": "domain_id", "enabled": "enabled", "parent_id": "parent_id"])
        return try await read { db in try await db.raw(Self.select("projects", where: filters)).all().map(Self.project) }
    }

    public func project(id: String) async throws -> Project {
        try await read { db in try await Self.project(id: id, db) }
    }

    static func project(id: String, _ db: any SQLDatabase) async throws -> Project {
        return try project(try await Self.row("projects", id: id, noun: "project", db))
    }

    static func project(name: String, domainID: String, _ db: any SQLDatabase) async throws -> Project {
        guard
            let row = try await db.raw("SELECT * FROM projects WHERE name = \(bind: name) AND domain_id = \(bind: domainID)")
                .first()
        else { throw UpdraftError.notFound("Could not find project: \(name).") }
        return try project(row)
    }

    /// Attributes a project body may carry that are not stored in `extra`.
    private static let projectColumns: Set<String> = [
        "id", "name", "domain_id", "parent_id", "description", "enabled", "tags", "is_domain", "options", "links",
    ]

    public func createProject(_ body: JSONObject, id: String? = nil) async throws -> Project {
        if try body.bool("is_domain") == true {
            throw UpdraftError.badRequest("Projects acting as domains are not supported; create a domain instead.")
        }
        let name = try body.requiredString("name", maxLength: 64)
        let description = try body.string("description") ?? ""
        let enabled = try body.bool("enabled") ?? true
        let tags = try body.strings("tags") ?? []
        let requestedDomain = try body.string("domain_id")
        let parent = try body.string("parent_id")
        return try await write { db in
            var domainID = requestedDomain ?? "default"
            var parentID: String? = nil
            if let parent, parent != domainID {
                if let parentProject = try? await Self.project(id: parent, db) {
                    parentID = parentProject.id
                    domainID = requestedDomain ?? parentProject.domainID
                } else {
                    _ = try await Self.domain(id: parent, db)
                    domainID = parent
                }
            }
            _ = try await Self.domain(id: domainID, db)
            let project = Project(
                id: id ?? Identifier.make(), name: name, domainID: domainID, parentID: parentID, description: description,
                enabled: enabled, tags: tags,
                extra: body.fields.filter { !Self.projectColumns.contains($0.key) && $0.value != .null })
            try await db.raw(
                """
                INSERT INTO projects (id, name, domain_id, parent_id, description, enabled, tags, extra, created_at)
                VALUES (\(bind: project.id), \(bind: name), \(bind: domainID), \(bind: parentID), \(bind: description),
                \(bind: enabled), \(bind: Self.tagsText(tags)), \(bind: JSONValue.object(project.extra).jsonText),
                \(bind: Self.now))
                """
            ).run()
            return project
        }
    }

    public func updateProject(id: String, _ body: JSONObject) async throws -> Project {
        if body.has("domain_id") || body.has("is_domain") {
            throw UpdraftError.badRequest("A project's domain cannot be changed.")
        }
        let updated = try await write { db in
            var project = try await Self.project(id: id, db)
            if let name = try body.string("name") { project.name = name }
            if let description = try body.string("description") { project.description = description }
            if let enabled = try body.bool("enabled") { project.enabled = enabled }
            if let tags = try body.strings("tags") { project.tags = tags }
            for (key, value) in body.fields where !Self.projectColumns.contains(key) {
                project.extra[key] = value == .null ? nil : value
            }
            try await db.raw(
                """
                UPDATE projects SET name = \(bind: project.name), description = \(bind: project.description),
                enabled = \(bind: project.enabled), tags = \(bind: Self.tagsText(project.tags)),
                extra = \(bind: JSONValue.object(project.extra).jsonText) WHERE id = \(bind: id)
                """
            ).run()
            return project
        }
        if !updated.enabled { try await tokens.revocations.revoke(.project, id) }
        return updated
    }

    public func deleteProject(id: String) async throws {
        try await write { db in
            _ = try await Self.project(id: id, db)
            if try await db.raw("SELECT id FROM projects WHERE parent_id = \(bind: id)").first() != nil {
                throw UpdraftError.forbidden("Cannot delete project \(id): it has child projects.")
            }
            try await Self.deleteGrants(where: "target_type = 'project' AND target_id = \(bind: id)", db)
            try await db.raw("DELETE FROM application_credentials WHERE project_id = \(bind: id)").run()
            try await db.raw("DELETE FROM projects WHERE id = \(bind: id)").run()
        }
        try await tokens.revocations.revoke(.project, id)
    }

    // MARK: Project tags

    /// Changes a project's tags in one transaction: `change` receives the current tags and
    /// returns the new ones (or throws, changing nothing).
    public func updateProjectTags(id: String, _ change: @escaping @Sendable ([String]) throws -> [String]) async throws
        -> [String]
    {
        try await write { db in
            let tags = try change(try await Self.project(id: id, db).tags)
            try await db.raw("UPDATE projects SET tags = \(bind: Self.tagsText(tags)) WHERE id = \(bind: id)").run()
            return tags
        }
    }
}
