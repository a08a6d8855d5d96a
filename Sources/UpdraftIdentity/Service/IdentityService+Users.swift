import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Users, passwords and groups.
extension IdentityService {
    /// Attributes a user body may carry that are not stored in `extra`.
    private static let userColumns: Set<String> = [
        "id", "name", "domain_id", "enabled", "password", "default_project_id", "links", "options", "password_expires_at",
        "federated",
    ]

    public func listUsers(query: [String: String]) async throws -> [User] {
        let filters = Self.filters(query, allowed: ["name": "name", "domain_id": "domain_id", "enabled": "enabled"])
        return try await read { db in try await db.raw(Self.select("users", where: filters)).all().map(Self.user) }
    }

    public func user(id: String) async throws -> User {
        try await read { db in try await Self.user(id: id, db) }
    }

    static func user(id: String, _ db: any SQLDatabase) async throws -> User {
        return try user(try await Self.row("users", id: id, noun: "user", db))
    }

    public func createUser(_ body: JSONObject, id: String? = nil) async throws -> User {
        let name = try body.requiredString("name", maxLength: 255)
        let domainID = try body.string("domain_id") ?? "default"
        let password = try body.string("password")
        let hash = try password.map { try passwords.hash($0) }
        let user = User(
            id: id ?? Identifier.make(), name: name, domainID: domainID, enabled: try body.bool("enabled") ?? true,
            defaultProjectID: try body.string("default_project_id"),
            extra: body.fields.filter { !Self.userColumns.contains($0.key) })
        try await write { db in
            _ = try await Self.domain(id: domainID, db)
            try await db.raw(
                """
                INSERT INTO users (id, name, domain_id, enabled, password_hash, default_project_id, extra, created_at,
                password_changed_at)
                VALUES (\(bind: user.id), \(bind: name), \(bind: domainID), \(bind: user.enabled), \(bind: hash),
                \(bind: user.defaultProjectID), \(bind: JSONValue.object(user.extra).jsonText), \(bind: Self.now), \(bind: Self.now))
                """
            ).run()
        }
        return user
    }

    public func updateUser(id: String, _ body: JSONObject) async throws -> User {
        let newHash = try (try body.string("password")).map { try passwords.hash($0) }
        let (before, after) = try await write { db in
            let before = try await Self.user(id: id, db)
            var user = before
            if let name = try body.string("name") { user.name = name }
            if let enabled = try body.bool("enabled") { user.enabled = enabled }
            if body.has("default_project_id") { user.defaultProjectID = try body.string("default_project_id") }
            for (key, value) in body.fields where !Self.userColumns.contains(key) {
                user.extra[key] = value == .null ? nil : value
            }
            try await db.raw(
                """
                UPDATE users SET name = \(bind: user.name), enabled = \(bind: user.enabled),
                default_project_id = \(bind: user.defaultProjectID), extra = \(bind: JSONValue.object(user.extra).jsonText)
                WHERE id = \(bind: id)
                """
            ).run()
            if let newHash {
                try await db.raw(
                    """
                    UPDATE users SET password_hash = \(bind: newHash), password_changed_at = \(bind: Self.now),
                    failed_logins = 0, locked_until = NULL WHERE id = \(bind: id)
                    """
                ).run()
            }
            return (before, user)
        }
        if newHash != nil || (before.enabled && !after.enabled) {
            try await tokens.revocations.revoke(.user, id)
        }
        return after
    }

    /// Serves `POST /v3/users/{id}/password`: a user changes their own password.
    public func changePassword(userID: String, original: String, new: String) async throws {
        let row = try await read { db in
            try await db.raw("SELECT password_hash FROM users WHERE id = \(bind: userID)").first()
        }
        guard let row else { throw UpdraftError.notFound("Could not find user: \(userID).") }
        guard let stored = try row.optionalString("password_hash"), passwords.verify(original, against: stored) else {
            throw UpdraftError.unauthorized("The original password is incorrect.")
        }
        let hash = try passwords.hash(new)
        try await write { db in
            try await db.raw(
                "UPDATE users SET password_hash = \(bind: hash), password_changed_at = \(bind: Self.now) WHERE id = \(bind: userID)"
            ).run()
        }
        try await tokens.revocations.revoke(.user, userID)
    }

    public func deleteUser(id: String) async throws {
        try await write { db in
            _ = try await Self.user(id: id, db)
            try await Self.deleteGrants(where: "actor_type = 'user' AND actor_id = \(bind: id)", db)
            try await db.raw("DELETE FROM group_members WHERE user_id = \(bind: id)").run()
            try await db.raw("DELETE FROM application_credentials WHERE user_id = \(bind: id)").run()
            try await db.raw("DELETE FROM credentials WHERE user_id = \(bind: id)").run()
            try await db.raw("DELETE FROM users WHERE id = \(bind: id)").run()
        }
        try await tokens.revocations.revoke(.user, id)
    }

    /// Serves `GET /v3/users/{id}/projects`: projects where the user holds a role, directly,
    /// through a group, or inherited from the domain or a parent project.
    public func projects(ofUser userID: String) async throws -> [Project] {
        _ = try await user(id: userID)
        let ids = Set(
            try await assignments(query: ["user.id": userID, "effective": ""]).filter { $0.targetType == .project }.map(
                \.target.id))
        return try await listProjects(query: [:]).filter { ids.contains($0.id) }
    }

    // MARK: Groups

    public func listGroups(query: [String: String]) async throws -> [Group] {
        let filters = Self.filters(query, allowed: ["name": "name", "domain_id": "domain_id"])
        return try await read { db in try await db.raw(Self.select("identity_groups", where: filters)).all().map(Self.group) }
    }

    public func group(id: String) async throws -> Group {
        try await read { db in try await Self.group(id: id, db) }
    }

    static func group(id: String, _ db: any SQLDatabase) async throws -> Group {
        return try group(try await Self.row("identity_groups", id: id, noun: "group", db))
    }

    public func createGroup(_ body: JSONObject) async throws -> Group {
        let group = Group(
            id: Identifier.make(), name: try body.requiredString("name", maxLength: 64),
            domainID: try body.string("domain_id") ?? "default", description: try body.string("description") ?? "")
        try await write { db in
            _ = try await Self.domain(id: group.domainID, db)
            try await db.raw(
                """
                INSERT INTO identity_groups (id, name, domain_id, description)
                VALUES (\(bind: group.id), \(bind: group.name), \(bind: group.domainID), \(bind: group.description))
                """
            ).run()
        }
        return group
    }

    public func updateGroup(id: String, _ body: JSONObject) async throws -> Group {
        try await write { db in
            var group = try await Self.group(id: id, db)
            if let name = try body.string("name") { group.name = name }
            if let description = try body.string("description") { group.description = description }
            try await db.raw(
                "UPDATE identity_groups SET name = \(bind: group.name), description = \(bind: group.description) WHERE id = \(bind: id)"
            ).run()
            return group
        }
    }

    public func deleteGroup(id: String) async throws {
        let members = try await groupMembers(groupID: id)
        try await write { db in
            try await Self.deleteGrants(where: "actor_type = 'group' AND actor_id = \(bind: id)", db)
            try await db.raw("DELETE FROM group_members WHERE group_id = \(bind: id)").run()
            try await db.raw("DELETE FROM identity_groups WHERE id = \(bind: id)").run()
        }
        for member in members { try await tokens.revocations.revoke(.user, member.id) }
    }

    public func groupMembers(groupID: String) async throws -> [User] {
        try await read { db in
            _ = try await Self.group(id: groupID, db)
            return try await db.raw(
                "SELECT u.* FROM users u JOIN group_members m ON m.user_id = u.id WHERE m.group_id = \(bind: groupID) ORDER BY u.name"
            ).all().map(Self.user)
        }
    }

    public func groups(ofUser userID: String) async throws -> [Group] {
        try await read { db in
            _ = try await Self.user(id: userID, db)
            return try await db.raw(
                "SELECT g.* FROM identity_groups g JOIN group_members m ON m.group_id = g.id WHERE m.user_id = \(bind: userID) ORDER BY g.name"
            ).all().map(Self.group)
        }
    }

    public func addGroupMember(groupID: String, userID: String) async throws {
        try await write { db in
            _ = try await Self.group(id: groupID, db)
            _ = try await Self.user(id: userID, db)
            try await db.raw("DELETE FROM group_members WHERE group_id = \(bind: groupID) AND user_id = \(bind: userID)").run()
            try await db.raw("INSERT INTO group_members (group_id, user_id) VALUES (\(bind: groupID), \(bind: userID))").run()
        }
    }

    public func isGroupMember(groupID: String, userID: String) async throws -> Bool {
        try await read { db in
            _ = try await Self.group(id: groupID, db)
            _ = try await Self.user(id: userID, db)
            return try await db.raw(
                "SELECT user_id FROM group_members WHERE group_id = \(bind: groupID) AND user_id = \(bind: userID)"
            ).first() != nil
        }
    }

    public func removeGroupMember(groupID: String, userID: String) async throws {
        guard try await isGroupMember(groupID: groupID, userID: userID) else {
            throw UpdraftError.notFound("User \(userID) is not a member of group \(groupID).")
        }
        try await write { db in
            try await db.raw("DELETE FROM group_members WHERE group_id = \(bind: groupID) AND user_id = \(bind: userID)").run()
        }
        try await tokens.revocations.revoke(.user, userID)
    }
}
