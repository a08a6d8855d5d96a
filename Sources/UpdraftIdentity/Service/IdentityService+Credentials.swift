import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// An application credential as stored, with the hash of its secret.
struct ApplicationCredentialRecord: Sendable {
    var credential: ApplicationCredential
    var secretHash: String
}

/// Application credentials and EC2 credentials.
extension IdentityService {
    static func applicationCredential(_ row: any SQLRow) throws -> ApplicationCredentialRecord {
        let roles = (try? JSONDecoder().decode([TokenPayload.Role].self, from: Data(try row.string("roles").utf8))) ?? []
        return ApplicationCredentialRecord(
            credential: ApplicationCredential(
                id: try row.string("id"), name: try row.string("name"), userID: try row.string("user_id"),
                projectID: try row.string("project_id"), description: try row.string("description"),
                expiresAt: try row.optionalDouble("expires_at").map(Date.init(timeIntervalSince1970:)),
                unrestricted: try row.bool("unrestricted"), roles: roles),
            secretHash: try row.string("secret_hash"))
    }

    /// Serves `POST /v3/users/{id}/application_credentials`, for the project of the caller's token.
    public func createApplicationCredential(userID: String, caller: TokenPayload, _ body: JSONObject) async throws
        -> ApplicationCredential
    {
        guard let projectID = caller.projectID, caller.userID == userID else {
            throw UpdraftError.forbidden("Application credentials are created with a project-scoped token of their own user.")
        }
        if caller.applicationCredentialID != nil {
            throw UpdraftError.forbidden("An application credential cannot create another application credential.")
        }
        let name = try body.requiredString("name")
        let secret = try body.string("secret") ?? Base64URL.encode(Data((0..<48).map { _ in UInt8.random(in: 0...255) }))
        let expiresAt = try (try body.string("expires_at")).map { text throws(UpdraftError) in
            guard let date = Timestamp.parse(text) else {
                throw .badRequest("Invalid input for field 'application_credential.expires_at': not an ISO 8601 time.")
            }
            return date
        }
        if let expiresAt, expiresAt < .now {
            throw UpdraftError.badRequest("Invalid input for field 'application_credential.expires_at': the time is in the past.")
        }
        var requested: [(id: String?, name: String?)] = []
        for role in try body.objects("roles") ?? [] { requested.append((try role.string("id"), try role.string("name"))) }
        let chosen = requested
        let rules = try Self.requestedAccessRules(body)
        let hash = try passwords.hash(secret)
        return try await write { db in
            let held = try await Self.effectiveRoles(userID: userID, on: .project, projectID, db)
            var roles: [TokenPayload.Role] = []
            if chosen.isEmpty {
                roles = caller.roles
            } else {
                for want in chosen {
                    guard let role = held.first(where: { $0.matches(id: want.id, name: want.name) }) else {
                        // Keystone answers 404 (RoleAssignmentNotFound) for a role the user does not hold.
                        throw UpdraftError.notFound(
                            "Could not find role assignment for role \(want.name ?? want.id ?? "?"): you can delegate only roles you hold."
                        )
                    }
                    roles.append(role)
                }
            }
            var credential = ApplicationCredential(
                id: Identifier.make(), name: name, userID: userID, projectID: projectID,
                description: try body.string("description") ?? "", expiresAt: expiresAt,
                unrestricted: try body.bool("unrestricted") ?? false, roles: roles, secret: secret)
            let rolesText = String(decoding: try JSONEncoder().encode(roles), as: UTF8.self)
            try await db.raw(
                """
                INSERT INTO application_credentials (id, name, user_id, project_id, secret_hash, description, expires_at,
                unrestricted, roles, created_at)
                VALUES (\(bind: credential.id), \(bind: name), \(bind: userID), \(bind: projectID), \(bind: hash),
                \(bind: credential.description), \(bind: expiresAt?.timeIntervalSince1970), \(bind: credential.unrestricted),
                \(bind: rolesText), \(bind: Self.now))
                """
            ).run()
            credential.accessRules = try await Self.attachAccessRules(rules, credentialID: credential.id, userID: userID, db)
            return credential
        }
    }

    public func listApplicationCredentials(userID: String, query: [String: String]) async throws -> [ApplicationCredential] {
        var filters = Self.filters(query, allowed: ["name": "name"])
        filters.append(("user_id", userID))
        let query = Self.select("application_credentials", where: filters)
        return try await read { db in
            _ = try await Self.user(id: userID, db)
            var credentials: [ApplicationCredential] = []
            for row in try await db.raw(query).all() {
                var credential = try Self.applicationCredential(row).credential
                credential.accessRules = try await Self.accessRules(ofCredential: credential.id, db)
                credentials.append(credential)
            }
            return credentials
        }
    }

    public func applicationCredential(userID: String, id: String) async throws -> ApplicationCredential {
        try await read { db in
            guard
                let row = try await db.raw(
                    "SELECT * FROM application_credentials WHERE id = \(bind: id) AND user_id = \(bind: userID)"
                ).first()
            else { throw UpdraftError.notFound("Could not find Application Credential: \(id).") }
            var credential = try Self.applicationCredential(row).credential
            credential.accessRules = try await Self.accessRules(ofCredential: id, db)
            return credential
        }
    }

    public func deleteApplicationCredential(userID: String, id: String) async throws {
        _ = try await applicationCredential(userID: userID, id: id)
        try await write { db in
            try await db.raw("DELETE FROM application_credential_access_rules WHERE application_credential_id = \(bind: id)")
                .run()
            try await db.raw("DELETE FROM application_credentials WHERE id = \(bind: id)").run()
        }
        try await tokens.revocations.revoke(.applicationCredential, id)
    }

    /// Checks the `application_credential` auth method: by id, or by name and user.
    func checkApplicationCredential(_ body: JSONObject) async throws -> ApplicationCredentialRecord {
        let secret = try body.string("secret") ?? ""
        let record: ApplicationCredentialRecord? = try await read { db in
            if let id = try body.string("id") {
                return try await db.raw("SELECT * FROM application_credentials WHERE id = \(bind: id)").first().map(
                    Self.applicationCredential)
            }
            guard let name = try body.string("name"), let user = try body.object("user") else { return nil }
            var userID = try user.string("id")
            if userID == nil, let userName = try user.string("name"), let domain = try user.object("domain") {
                let domainID: String? =
                    if let id = try domain.string("id") { id } else {
                        try? await Self.domain(name: try domain.requiredString("name"), db).id
                    }
                userID = try await db.raw("SELECT id FROM users WHERE name = \(bind: userName) AND domain_id = \(bind: domainID)")
                    .first()?.string("id")
            }
            guard let userID else { return nil }
            return try await db.raw(
                "SELECT * FROM application_credentials WHERE name = \(bind: name) AND user_id = \(bind: userID)"
            ).first().map(Self.applicationCredential)
        }
        // An unknown or deleted credential is a failed authentication (401), as in Keystone.
        guard let record else { throw UpdraftError.unauthorized("The request you have made requires authentication.") }
        guard passwords.verify(secret, against: record.secretHash) else {
            throw UpdraftError.unauthorized("The request you have made requires authentication.")
        }
        if let expires = record.credential.expiresAt, expires < .now {
            throw UpdraftError.unauthorized("The application credential has expired.")
        }
        return record
    }

    // MARK: Credentials and EC2

    static func credential(_ row: any SQLRow, sealer: Sealer) throws -> Credential {
        let blob = sealer.open(try row.string("sealed_blob")).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return Credential(
            id: try row.string("id"), userID: try row.string("user_id"), projectID: try row.optionalString("project_id"),
            type: try row.string("type"), blob: blob)
    }

    /// Serves `POST /v3/credentials` and, for EC2, `POST /v3/users/{id}/credentials/OS-EC2`.
    public func createCredential(userID: String, projectID: String?, type: String, blob: String) async throws -> Credential {
        var access: String? = nil
        var id = Identifier.make()
        if type == "ec2" {
            guard case .object(let fields) = JSONValue.decode(text: blob), case .string(let key)? = fields["access"] else {
                throw UpdraftError.badRequest("Invalid input for field 'credential.blob': an ec2 blob needs 'access'.")
            }
            guard projectID != nil else { throw UpdraftError.badRequest("An ec2 credential needs a project_id.") }
            access = key
            id = SHA256Hex.digest(key)
        }
        let credential = Credential(id: id, userID: userID, projectID: projectID, type: type, blob: blob)
        let accessKey = access
        let sealed = try credentialSealer.seal(Data(blob.utf8))
        try await write { db in
            _ = try await Self.user(id: userID, db)
            if let projectID { _ = try await Self.project(id: projectID, db) }
            try await db.raw(
                """
                INSERT INTO credentials (id, user_id, project_id, type, sealed_blob, access_key, created_at)
                VALUES (\(bind: credential.id), \(bind: userID), \(bind: projectID), \(bind: type), \(bind: sealed), \(bind: accessKey),
                \(bind: Self.now))
                """
            ).run()
        }
        return credential
    }

    public func createEC2Credential(userID: String, projectID: String) async throws -> EC2Credential {
        let access = Identifier.make()
        let secret = Identifier.make()
        let blob = JSONValue.object(["access": .string(access), "secret": .string(secret)]).jsonText
        let credential = try await createCredential(userID: userID, projectID: projectID, type: "ec2", blob: blob)
        guard let ec2 = credential.ec2 else { throw UpdraftError.internal("ec2 credential lost its blob") }
        return ec2
    }

    public func listCredentials(query: [String: String]) async throws -> [Credential] {
        let filters = Self.filters(query, allowed: ["user_id": "user_id", "type": "type"])
        let sealer = credentialSealer
        return try await read { db in
            try await db.raw(Self.select("credentials", where: filters, order: "created_at")).all().map {
                try Self.credential($0, sealer: sealer)
            }
        }
    }

    public func credential(id: String) async throws -> Credential {
        let sealer = credentialSealer
        return try await read { db in
            return try Self.credential(try await Self.row("credentials", id: id, noun: "credential", db), sealer: sealer)
        }
    }

    /// Looks up an EC2 credential by its access key (for the S3 API and `OS-EC2/{access}`).
    public func ec2Credential(access: String) async throws -> EC2Credential {
        guard let ec2 = try await credential(id: SHA256Hex.digest(access)).ec2 else {
            throw UpdraftError.notFound("Could not find credential: \(access).")
        }
        return ec2
    }

    public func updateCredential(id: String, _ body: JSONObject) async throws -> Credential {
        let sealer = credentialSealer
        return try await write { db in
            var credential = try Self.credential(
                try await Self.row("credentials", id: id, noun: "credential", db), sealer: sealer)
            if let blob = try body.string("blob") { credential.blob = blob }
            if let project = try body.string("project_id") { credential.projectID = project }
            if let type = try body.string("type") { credential.type = type }
            let sealed = try sealer.seal(Data(credential.blob.utf8))
            try await db.raw(
                """
                UPDATE credentials SET sealed_blob = \(bind: sealed), project_id = \(bind: credential.projectID),
                type = \(bind: credential.type) WHERE id = \(bind: id)
                """
            ).run()
            return credential
        }
    }

    public func deleteCredential(id: String) async throws {
        _ = try await credential(id: id)
        try await write { db in try await db.raw("DELETE FROM credentials WHERE id = \(bind: id)").run() }
    }
}

extension IdentityService {
    /// Who an EC2 access key acts as, for the S3 API: the credential's secret (to check the
    /// request's signature with) and the caller it stands for, with the user's effective
    /// roles on the credential's project now. 401 for an unknown key, a disabled user or
    /// project, or a user who no longer holds a role there.
    public func ec2Caller(access: String) async throws -> (secret: String, caller: AuthContext) {
        let credential: EC2Credential
        do {
            credential = try await ec2Credential(access: access)
        } catch {
            throw UpdraftError.unauthorized("The AWS access key Id you provided does not exist in our records.")
        }
        let (user, project, roles) = try await read { db in
            let user = try await Self.user(id: credential.userID, db)
            let project = try await Self.project(id: credential.projectID, db)
            let roles = try await Self.effectiveRoles(userID: user.id, on: .project, project.id, db)
            return (user, project, roles)
        }
        guard user.enabled, project.enabled, !roles.isEmpty else {
            throw UpdraftError.unauthorized("The credential's user cannot act in its project.")
        }
        let caller = AuthContext(
            userID: user.id, userDomainID: user.domainID, scope: .project(id: project.id, domainID: project.domainID),
            roles: Set(roles.map(\.name)), auditID: "ec2-" + access.prefix(8))
        return (credential.secret, caller)
    }
}
