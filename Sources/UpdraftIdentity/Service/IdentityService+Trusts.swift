import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// OS-TRUST: delegation of a trustor's roles in one project to a trustee.
extension IdentityService {
    static func trust(_ row: any SQLRow) throws -> Trust {
        let roles = (try? JSONDecoder().decode([TokenPayload.Role].self, from: Data(try row.string("roles").utf8))) ?? []
        return Trust(
            id: try row.string("id"), trustorUserID: try row.string("trustor_user_id"),
            trusteeUserID: try row.string("trustee_user_id"), projectID: try row.string("project_id"),
            impersonation: try row.bool("impersonation"),
            expiresAt: try row.optionalDouble("expires_at").map(Date.init(timeIntervalSince1970:)),
            remainingUses: try row.decode(column: "remaining_uses", as: Int?.self), roles: roles)
    }

    static func trust(id: String, _ db: any SQLDatabase) async throws -> Trust {
        try trust(try await row("trusts", id: id, noun: "trust", db))
    }

    /// Serves `POST /v3/OS-TRUST/trusts`: only the trustor creates, with roles they hold.
    public func createTrust(caller: AuthContext, _ body: JSONObject) async throws -> Trust {
        let trustor = try body.requiredString("trustor_user_id")
        let trustee = try body.requiredString("trustee_user_id")
        guard trustor == caller.userID else { throw UpdraftError.forbidden("Only the trustor may create a trust.") }
        guard let projectID = try body.string("project_id") ?? caller.projectID else {
            throw UpdraftError.badRequest("Invalid input for field 'trust.project_id': a project is required.")
        }
        var expiresAt: Date? = nil
        if let text = try body.string("expires_at") {
            guard let date = Timestamp.parse(text) else {
                throw UpdraftError.badRequest("Invalid input for field 'trust.expires_at': '\(text)' is not an ISO 8601 time.")
            }
            expiresAt = date
        }
        var wanted: [(id: String?, name: String?)] = []
        for role in try body.objects("roles") ?? [] { wanted.append((try role.string("id"), try role.string("name"))) }
        guard !wanted.isEmpty else { throw UpdraftError.badRequest("At least one role should be specified.") }
        let requested = wanted
        let impersonation = try body.bool("impersonation") ?? false
        let uses = try body.integer("remaining_uses", in: 1...Int(Int32.max))
        let expires = expiresAt
        return try await write { db in
            _ = try await Self.user(id: trustee, db)
            _ = try await Self.project(id: projectID, db)
            let held = try await Self.effectiveRoles(userID: trustor, on: .project, projectID, db)
            var roles: [TokenPayload.Role] = []
            for want in requested {
                guard let role = held.first(where: { $0.matches(id: want.id, name: want.name) }) else {
                    // Keystone looks the role up among the trustor's and answers 404 when it is not there.
                    throw UpdraftError.notFound(
                        "Could not find role: \(want.id ?? want.name ?? "?"); the trustor does not hold it on the project.")
                }
                roles.append(role)
            }
            let trust = Trust(
                id: Identifier.make(), trustorUserID: trustor, trusteeUserID: trustee, projectID: projectID,
                impersonation: impersonation, expiresAt: expires, remainingUses: uses, roles: roles)
            let rolesText = String(decoding: try JSONEncoder().encode(roles), as: UTF8.self)
            try await db.raw(
                """
                INSERT INTO trusts (id, trustor_user_id, trustee_user_id, project_id, impersonation, expires_at,
                remaining_uses, roles, created_at)
                VALUES (\(bind: trust.id), \(bind: trustor), \(bind: trustee), \(bind: projectID), \(bind: impersonation),
                \(bind: expires?.timeIntervalSince1970), \(bind: uses), \(bind: rolesText), \(bind: Self.now))
                """
            ).run()
            return trust
        }
    }

    /// Serves `GET /v3/OS-TRUST/trusts`: a user sees trusts they give or receive; an admin sees all.
    public func listTrusts(caller: AuthContext, query: [String: String]) async throws -> [Trust] {
        let admin = Policy.isAdmin(caller)
        let trustor = query["trustor_user_id"]
        let trustee = query["trustee_user_id"]
        if !admin && trustor != caller.userID && trustee != caller.userID {
            throw UpdraftError.forbidden("List trusts you give (trustor_user_id) or receive (trustee_user_id).")
        }
        let select = Self.select(
            "trusts",
            where: Self.filters(query, allowed: ["trustor_user_id": "trustor_user_id", "trustee_user_id": "trustee_user_id"]),
            order: "created_at")
        return try await read { db in try await db.raw(select).all().map(Self.trust) }
    }

    /// A trust its trustor, its trustee or an admin may see.
    public func trust(id: String, caller: AuthContext) async throws -> Trust {
        let trust = try await read { db in try await Self.trust(id: id, db) }
        guard Policy.isAdmin(caller) || caller.userID == trust.trustorUserID || caller.userID == trust.trusteeUserID
        else { throw UpdraftError.notFound("Could not find trust: \(id).") }
        return trust
    }

    /// Serves `DELETE /v3/OS-TRUST/trusts/{id}`; tokens issued through the trust die with it.
    public func deleteTrust(id: String, caller: AuthContext) async throws {
        let trust = try await self.trust(id: id, caller: caller)
        guard Policy.isAdmin(caller) || caller.userID == trust.trustorUserID else {
            throw UpdraftError.forbidden("Only the trustor may delete a trust.")
        }
        try await write { db in try await db.raw("DELETE FROM trusts WHERE id = \(bind: id)").run() }
        try await tokens.revocations.revoke(.trust, id)
    }

    /// Scopes a token to a trust: the trustee acts in the trust's project with the delegated
    /// roles the trustor still holds, as the trustor when the trust impersonates.
    static func applyTrust(_ payload: inout TokenPayload, trustID: String, user: User, _ db: any SQLDatabase) async throws {
        let trust: Trust
        do {
            trust = try await Self.trust(id: trustID, db)
        } catch {
            throw UpdraftError.unauthorized("Could not find trust: \(trustID).")
        }
        guard trust.trusteeUserID == user.id else { throw UpdraftError.forbidden("The user is not the trustee of this trust.") }
        if let expires = trust.expiresAt, expires < .now { throw UpdraftError.unauthorized("The trust has expired.") }
        if let uses = trust.remainingUses, uses <= 0 { throw UpdraftError.unauthorized("The trust has no remaining uses.") }
        let project = try await Self.project(id: trust.projectID, db)
        let trustor = try await Self.user(id: trust.trustorUserID, db)
        guard project.enabled, trustor.enabled else {
            throw UpdraftError.unauthorized("The trust's project or trustor is disabled.")
        }
        let delegated = try await expandImplied(Set(trust.roles.map(\.id)), db)
        let roles = try await effectiveRoles(userID: trustor.id, on: .project, project.id, db).filter {
            delegated.contains($0.id)
        }
        guard !roles.isEmpty else { throw UpdraftError.unauthorized("The trustor no longer holds the delegated roles.") }
        if trust.impersonation {
            payload.userID = trustor.id
            payload.userDomainID = trustor.domainID
        }
        payload.projectID = project.id
        payload.projectDomainID = project.domainID
        payload.roles = roles
        payload.trustID = trust.id
        if let expires = trust.expiresAt { payload.expiresAt = min(payload.expiresAt, expires.timeIntervalSince1970) }
        if trust.remainingUses != nil {
            try await db.raw("UPDATE trusts SET remaining_uses = remaining_uses - 1 WHERE id = \(bind: trust.id)").run()
        }
    }
}
