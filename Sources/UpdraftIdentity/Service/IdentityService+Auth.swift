import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// `POST /v3/auth/tokens` and token validation.
extension IdentityService {
    /// A token just issued: the string for `X-Subject-Token` and the body to answer with.
    public struct IssuedToken: Sendable {
        public var token: String
        public var body: TokenBody
    }

    private struct Subject: Sendable {
        var userID: String
        var methods: [String]
        var auditChain: [String] = []
        var expiresAt: Double? = nil
        var applicationCredential: ApplicationCredentialRecord? = nil
        /// Scope inherited from a rescoped token when the request names none.
        var inheritedScope: AuthContext.Scope? = nil
    }

    /// Authenticates the `auth` object of a token request and issues a token.
    public func authenticate(_ auth: JSONObject, includeCatalog: Bool) async throws -> IssuedToken {
        guard let identity = try auth.object("identity"), let methods = try identity.strings("methods"), !methods.isEmpty else {
            throw UpdraftError.badRequest("Invalid input for field 'auth.identity': 'methods' is required.")
        }
        var subject: Subject
        switch methods[0] {
        case "password":
            guard let password = try identity.object("password"), let user = try password.object("user") else {
                throw UpdraftError.badRequest("Invalid input for field 'auth.identity.password.user'.")
            }
            subject = Subject(userID: try await checkPassword(user), methods: ["password"])
            // Before the scope is resolved: a first login may ask for the project it makes.
            try await loginObserver?.passwordLogin(userID: subject.userID)
        case "token":
            guard let token = try identity.object("token"), let id = try token.string("id") else {
                throw UpdraftError.badRequest("Invalid input for field 'auth.identity.token.id'.")
            }
            // Keystone answers 404 when the token being exchanged is no longer valid.
            let prior: TokenPayload
            do {
                prior = try tokens.validate(id)
            } catch {
                throw UpdraftError.notFound("Failed to validate token")
            }
            if prior.applicationCredentialID != nil || prior.trustID != nil {
                throw UpdraftError.forbidden("A token from an application credential or a trust cannot be rescoped.")
            }
            subject = Subject(
                userID: prior.userID, methods: Array(Set(prior.methods + ["token"])).sorted(),
                auditChain: [prior.auditIDs.last ?? ""], expiresAt: prior.expiresAt,
                inheritedScope: prior.authContext.scope)
        case "application_credential":
            guard let credential = try identity.object("application_credential") else {
                throw UpdraftError.badRequest("Invalid input for field 'auth.identity.application_credential'.")
            }
            let record = try await checkApplicationCredential(credential)
            subject = Subject(
                userID: record.credential.userID, methods: ["application_credential"], applicationCredential: record)
        default:
            throw UpdraftError.unauthorized("Unsupported authentication method: \(methods[0]).")
        }
        return try await issue(
            for: subject, scope: try auth.object("scope"), unscoped: (try? auth.string("scope")) == "unscoped",
            includeCatalog: includeCatalog)
    }

    private func checkPassword(_ user: JSONObject) async throws -> String {
        let password = try user.string("password") ?? ""
        let row: (any SQLRow)? = try await read { db in
            if let id = try user.string("id") {
                return try await db.raw("SELECT * FROM users WHERE id = \(bind: id)").first()
            }
            let name = try user.requiredString("name")
            guard let domain = try user.object("domain") else {
                throw UpdraftError.badRequest(
                    "Invalid input for field 'auth.identity.password.user.domain': a user name needs a domain.")
            }
            let domainID: String
            if let id = try domain.string("id") {
                domainID = id
            } else if let domainName = try domain.string("name"),
                let found = try? await Self.domain(name: domainName, db)
            {
                domainID = found.id
            } else {
                return nil
            }
            return try await db.raw("SELECT * FROM users WHERE name = \(bind: name) AND domain_id = \(bind: domainID)").first()
        }
        guard let row else { throw UpdraftError.unauthorized("The request you have made requires authentication.") }
        let userID = try row.string("id")
        if let lockedUntil = try row.optionalDouble("locked_until"), lockedUntil > Self.now {
            throw UpdraftError.unauthorized("The account is locked for user: \(userID).")
        }
        guard let hash = try row.optionalString("password_hash"), passwords.verify(password, against: hash) else {
            let failures = try row.int("failed_logins") + 1
            let lock: Double? =
                failures >= configuration.lockoutFailures ? Self.now + configuration.lockoutDuration : nil
            try await read { db in
                try await db.raw(
                    """
                    UPDATE users SET failed_logins = \(bind: lock == nil ? failures : 0), locked_until = \(bind: lock)
                    WHERE id = \(bind: userID)
                    """
                ).run()
            }
            if lock != nil { logger.warning("user locked after repeated failed logins", metadata: ["user_id": "\(userID)"]) }
            throw UpdraftError.unauthorized("The request you have made requires authentication.")
        }
        if try row.int("failed_logins") > 0 {
            try await read { db in
                try await db.raw("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = \(bind: userID)").run()
            }
        }
        return userID
    }

    private func issue(for subject: Subject, scope: JSONObject?, unscoped: Bool, includeCatalog: Bool) async throws
        -> IssuedToken
    {
        let now = Self.now
        let lifetime = configuration.tokens.lifetime
        var payload = try await read { db -> TokenPayload in
            let user = try await Self.user(id: subject.userID, db)
            let userDomain = try await Self.domain(id: user.domainID, db)
            guard user.enabled, userDomain.enabled else {
                throw UpdraftError.unauthorized("The request you have made requires authentication.")
            }
            var payload = TokenPayload(
                userID: user.id, userDomainID: user.domainID, methods: subject.methods, issuedAt: now,
                expiresAt: min(subject.expiresAt ?? .infinity, now + lifetime),
                auditIDs: [Self.auditID()] + subject.auditChain.filter { !$0.isEmpty })
            if let record = subject.applicationCredential {
                let project = try await Self.project(id: record.credential.projectID, db)
                let granted = try await Self.expandImplied(Set(record.credential.roles.map(\.id)), db)
                let roles = try await Self.effectiveRoles(userID: user.id, on: .project, project.id, db).filter {
                    granted.contains($0.id)
                }
                guard project.enabled, !roles.isEmpty else {
                    throw UpdraftError.unauthorized("The application credential's user no longer holds its roles.")
                }
                payload.projectID = project.id
                payload.projectDomainID = project.domainID
                payload.roles = roles
                payload.applicationCredentialID = record.credential.id
                if let expires = record.credential.expiresAt {
                    payload.expiresAt = min(payload.expiresAt, expires.timeIntervalSince1970)
                }
                return payload
            }
            if let trustID = try scope?.object("OS-TRUST:trust")?.string("id") {
                try await Self.applyTrust(&payload, trustID: trustID, user: user, db)
                return payload
            }
            try await Self.applyScope(
                &payload, scope: scope, unscoped: unscoped, inherited: subject.inheritedScope, user: user, db)
            return payload
        }
        payload.roles.sort { $0.name < $1.name }
        let token = try tokens.issue(payload)
        return IssuedToken(token: token, body: try await render(payload, token: token, includeCatalog: includeCatalog))
    }

    private static func applyScope(
        _ payload: inout TokenPayload, scope: JSONObject?, unscoped: Bool, inherited: AuthContext.Scope?, user: User,
        _ db: any SQLDatabase
    ) async throws {
        enum Target { case project(Project), domain(Domain), system, none }
        var target = Target.none
        if let scope {
            if let p = try scope.object("project") {
                if let id = try p.string("id") {
                    target = .project(try await projectForScope { try await Self.project(id: id, db) })
                } else {
                    let name = try p.requiredString("name")
                    guard let d = try p.object("domain") else {
                        throw UpdraftError.badRequest(
                            "Invalid input for field 'auth.scope.project.domain': a project name needs a domain.")
                    }
                    let domainID = try await projectForScope {
                        if let id = try d.string("id") { return id }
                        return try await Self.domain(name: try d.requiredString("name"), db).id
                    }
                    target = .project(try await projectForScope { try await Self.project(name: name, domainID: domainID, db) })
                }
            } else if let d = try scope.object("domain") {
                let domain = try await projectForScope {
                    if let id = try d.string("id") { return try await Self.domain(id: id, db) }
                    return try await Self.domain(name: try d.requiredString("name"), db)
                }
                target = .domain(domain)
            } else if try scope.object("system") != nil {
                target = .system
            }
        } else if !unscoped, let inherited {
            switch inherited {
            case .project(let id, _): target = .project(try await projectForScope { try await Self.project(id: id, db) })
            case .domain(let id): target = .domain(try await Self.domain(id: id, db))
            case .system: target = .system
            case .unscoped: target = .none
            }
        } else if !unscoped, let defaultProject = user.defaultProjectID,
            let project = try? await Self.project(id: defaultProject, db), project.enabled,
            !(try await effectiveRoleIDs(userID: user.id, on: .project, project.id, db)).isEmpty
        {
            target = .project(project)
        }
        switch target {
        case .project(let project):
            let domain = try await Self.domain(id: project.domainID, db)
            guard project.enabled, domain.enabled else {
                throw UpdraftError.unauthorized("Project \(project.id) is disabled.")
            }
            payload.roles = try await effectiveRoles(userID: user.id, on: .project, project.id, db)
            guard !payload.roles.isEmpty else {
                throw UpdraftError.unauthorized("User \(user.id) has no access to project \(project.id).")
            }
            payload.projectID = project.id
            payload.projectDomainID = project.domainID
        case .domain(let domain):
            guard domain.enabled else { throw UpdraftError.unauthorized("Domain \(domain.id) is disabled.") }
            payload.roles = try await effectiveRoles(userID: user.id, on: .domain, domain.id, db)
            guard !payload.roles.isEmpty else {
                throw UpdraftError.unauthorized("User \(user.id) has no access to domain \(domain.id).")
            }
            payload.domainID = domain.id
        case .system:
            payload.roles = try await effectiveRoles(userID: user.id, on: .system, "all", db)
            guard !payload.roles.isEmpty else {
                throw UpdraftError.unauthorized("User \(user.id) has no access to the system scope.")
            }
            payload.system = true
        case .none:
            break
        }
    }

    /// A scope that names something that does not exist is a 401, as Keystone answers.
    private static func projectForScope<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as UpdraftError where error.code == .notFound {
            throw UpdraftError.unauthorized(error.message)
        }
    }

    static func auditID() -> String {
        Base64URL.encode(Data((0..<16).map { _ in UInt8.random(in: 0...255) }))
    }

    // MARK: Validation

    /// Authenticates a request's token: who is calling, for policy. No database read.
    public func authenticate(token: String) throws(UpdraftError) -> AuthContext {
        try tokens.validate(token).authContext
    }

    /// The whole validated token, for the identity API's own calls that act on its roles
    /// (an application credential takes the token's roles). No database read.
    public func token(_ token: String) throws(UpdraftError) -> TokenPayload {
        try tokens.validate(token)
    }

    /// A validated token: its payload, and the `{"token": ...}` answer already encoded.
    public struct ValidatedToken: Sendable {
        public var payload: TokenPayload
        public var json: Data
    }

    /// Serves `GET /v3/auth/tokens`: the subject token's body, or 404 when it is not valid.
    /// The encoded answer is cached until the next identity change (names or catalog may move).
    public func validate(subjectToken: String, includeCatalog: Bool) async throws -> ValidatedToken {
        let payload: TokenPayload
        do {
            payload = try tokens.validate(subjectToken)
        } catch {
            throw UpdraftError.notFound("Failed to validate token")
        }
        let current = generation.load(ordering: .relaxed)
        let key = includeCatalog ? subjectToken : "nocatalog:" + subjectToken
        if let cached = tokenBodies.withLock({ $0[key] }), cached.generation == current {
            return ValidatedToken(payload: payload, json: cached.json)
        }
        let body = try await render(payload, token: subjectToken, includeCatalog: includeCatalog)
        let json = try Links.encoder(base: "").encode(["token": body])
        tokenBodies.withLock { cache in
            if cache.count >= 10_000 { cache.removeAll(keepingCapacity: true) }
            cache[key] = (current, json)
        }
        return ValidatedToken(payload: payload, json: json)
    }

    /// Revokes a token (`DELETE /v3/auth/tokens`).
    public func revokeToken(_ token: String) async throws {
        let payload: TokenPayload
        do {
            payload = try tokens.validate(token)
        } catch {
            throw UpdraftError.notFound("Failed to validate token")
        }
        try await tokens.revocations.revoke(.auditID, payload.auditIDs.first ?? "")
        changed()
    }

    /// Fills in the names a token body shows.
    func render(_ payload: TokenPayload, token: String, includeCatalog: Bool) async throws -> TokenBody {
        // Unscoped tokens carry no catalog, as in Keystone.
        let scoped = payload.projectID != nil || payload.domainID != nil || payload.system
        let catalog = includeCatalog && scoped ? try await catalog(projectID: payload.projectID) : nil
        return try await read { db in
            let user = try await Self.user(id: payload.userID, db)
            var body = TokenBody(
                payload: payload, userName: user.name, userDomainName: try await Self.domain(id: user.domainID, db).name,
                catalog: catalog)
            if let projectID = payload.projectID {
                let project = try await Self.project(id: projectID, db)
                body.projectName = project.name
                body.projectDomainName = try await Self.domain(id: project.domainID, db).name
            }
            if let domainID = payload.domainID { body.domainName = try await Self.domain(id: domainID, db).name }
            if let trustID = payload.trustID {
                body.trust = try? await Self.trust(id: trustID, db)
            }
            if let credentialID = payload.applicationCredentialID,
                let row = try await db.raw(
                    "SELECT name, unrestricted FROM application_credentials WHERE id = \(bind: credentialID)"
                ).first()
            {
                body.applicationCredentialName = try row.string("name")
                body.applicationCredentialRestricted = !(try row.bool("unrestricted"))
            }
            return body
        }
    }

    // MARK: What a token may scope to

    /// Serves `GET /v3/auth/projects`.
    public func scopableProjects(userID: String) async throws -> [Project] {
        try await projects(ofUser: userID).filter(\.enabled)
    }

    /// Serves `GET /v3/auth/domains`.
    public func scopableDomains(userID: String) async throws -> [Domain] {
        try await read { db in
            try await db.raw(
                """
                SELECT * FROM domains WHERE enabled = \(bind: true) AND id IN (
                  SELECT target_id FROM assignments WHERE target_type = 'domain' AND actor_type = 'user' AND actor_id = \(bind: userID)
                  UNION SELECT a.target_id FROM assignments a JOIN group_members m ON a.actor_type = 'group' AND a.actor_id = m.group_id
                  WHERE a.target_type = 'domain' AND m.user_id = \(bind: userID)) ORDER BY name
                """
            ).all().map(Self.domain)
        }
    }

    /// Serves `GET /v3/auth/system`: whether the user holds a role on the system.
    public func hasSystemAccess(userID: String) async throws -> Bool {
        try await read { db in !(try await Self.effectiveRoleIDs(userID: userID, on: .system, "all", db)).isEmpty }
    }
}
