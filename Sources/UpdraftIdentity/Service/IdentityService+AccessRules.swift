import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Application credential access rules (`/v3/users/{id}/access_rules`).
extension IdentityService {
    static func accessRule(_ row: any SQLRow, withOwner: Bool) throws -> AccessRule {
        AccessRule(
            id: try row.string("id"), service: try row.string("service"), method: try row.string("method"),
            path: try row.string("path"), userID: withOwner ? try row.string("user_id") : nil)
    }

    /// Reads the `access_rules` of an application credential request.
    static func requestedAccessRules(_ body: JSONObject) throws -> [(id: String?, service: String, method: String, path: String)]
    {
        var rules: [(id: String?, service: String, method: String, path: String)] = []
        for rule in try body.objects("access_rules") ?? [] {
            if let id = try rule.string("id"), !rule.has("service") {
                rules.append((id, "", "", ""))
                continue
            }
            let method = try rule.requiredString("method").uppercased()
            guard ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"].contains(method) else {
                throw UpdraftError.badRequest("Invalid input for field '\(rule.path).method': \(method) is not an HTTP method.")
            }
            let path = try rule.requiredString("path", maxLength: 255)
            guard path.hasPrefix("/") else {
                throw UpdraftError.badRequest("Invalid input for field '\(rule.path).path': a path starts with '/'.")
            }
            rules.append((try rule.string("id"), try rule.requiredString("service", maxLength: 64), method, path))
        }
        return rules
    }

    /// Links an application credential to its rules, reusing a user's identical rule as Keystone does.
    static func attachAccessRules(
        _ rules: [(id: String?, service: String, method: String, path: String)], credentialID: String, userID: String,
        _ db: any SQLDatabase
    ) async throws -> [AccessRule] {
        var attached: [AccessRule] = []
        for rule in rules {
            var row: (any SQLRow)?
            if let id = rule.id, rule.service.isEmpty {
                row = try await db.raw("SELECT * FROM access_rules WHERE id = \(bind: id) AND user_id = \(bind: userID)").first()
                guard row != nil else { throw UpdraftError.notFound("Could not find access rule: \(id).") }
            } else {
                row = try await db.raw(
                    """
                    SELECT * FROM access_rules WHERE user_id = \(bind: userID) AND service = \(bind: rule.service)
                    AND method = \(bind: rule.method) AND path = \(bind: rule.path)
                    """
                ).first()
            }
            let accessRule: AccessRule
            if let row {
                accessRule = try Self.accessRule(row, withOwner: false)
            } else {
                accessRule = AccessRule(id: Identifier.make(), service: rule.service, method: rule.method, path: rule.path)
                try await db.raw(
                    """
                    INSERT INTO access_rules (id, user_id, service, method, path)
                    VALUES (\(bind: accessRule.id), \(bind: userID), \(bind: rule.service), \(bind: rule.method), \(bind: rule.path))
                    """
                ).run()
            }
            try await db.raw(
                """
                INSERT INTO application_credential_access_rules (application_credential_id, access_rule_id)
                VALUES (\(bind: credentialID), \(bind: accessRule.id))
                """
            ).run()
            attached.append(accessRule)
        }
        return attached
    }

    /// The access rules of one application credential.
    static func accessRules(ofCredential credentialID: String, _ db: any SQLDatabase) async throws -> [AccessRule] {
        try await db.raw(
            """
            SELECT r.* FROM access_rules r JOIN application_credential_access_rules l ON l.access_rule_id = r.id
            WHERE l.application_credential_id = \(bind: credentialID) ORDER BY r.path
            """
        ).all().map { try Self.accessRule($0, withOwner: false) }
    }

    public func listAccessRules(userID: String) async throws -> [AccessRule] {
        try await read { db in
            _ = try await Self.user(id: userID, db)
            return try await db.raw("SELECT * FROM access_rules WHERE user_id = \(bind: userID) ORDER BY path").all().map {
                try Self.accessRule($0, withOwner: true)
            }
        }
    }

    public func accessRule(userID: String, id: String) async throws -> AccessRule {
        try await read { db in
            guard
                let row = try await db.raw("SELECT * FROM access_rules WHERE id = \(bind: id) AND user_id = \(bind: userID)")
                    .first()
            else { throw UpdraftError.notFound("Could not find access rule: \(id).") }
            return try Self.accessRule(row, withOwner: true)
        }
    }

    /// Keystone refuses (403) to delete a rule an application credential still uses.
    public func deleteAccessRule(userID: String, id: String) async throws {
        _ = try await accessRule(userID: userID, id: id)
        try await write { db in
            if try await db.raw(
                "SELECT access_rule_id FROM application_credential_access_rules WHERE access_rule_id = \(bind: id)"
            )
            .first() != nil {
                throw UpdraftError.forbidden("Access rule \(id) is in use by an application credential.")
            }
            try await db.raw("DELETE FROM access_rules WHERE id = \(bind: id)").run()
        }
    }
}
