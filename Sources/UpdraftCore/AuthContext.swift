/// Who is calling, as established from a validated token.
///
/// Every service receives one per request and asks ``Policy`` what it may do.
public struct AuthContext: Sendable, Equatable {
    /// What the token is scoped to.
    public enum Scope: Sendable, Equatable {
        case project(id: String, domainID: String)
        case domain(id: String)
        case system
        case unscoped
    }

    public var userID: String
    public var userDomainID: String
    public var scope: Scope
    /// Effective role names (implied roles expanded): `admin` implies `member` implies `reader`.
    public var roles: Set<String>
    public var auditID: String
    public var applicationCredentialID: String?

    public init(
        userID: String, userDomainID: String, scope: Scope, roles: Set<String>, auditID: String,
        applicationCredentialID: String? = nil
    ) {
        self.userID = userID
        self.userDomainID = userDomainID
        self.scope = scope
        self.roles = roles
        self.auditID = auditID
        self.applicationCredentialID = applicationCredentialID
    }

    /// The project the token is scoped to, if any.
    public var projectID: String? {
        if case .project(let id, _) = scope { return id }
        return nil
    }

    /// The domain the token is scoped to, if any.
    public var domainID: String? {
        if case .domain(let id) = scope { return id }
        return nil
    }

    /// The domain of the project the token is scoped to, if any.
    public var projectDomainID: String? {
        if case .project(_, let domainID) = scope { return domainID }
        return nil
    }

    /// Updraft itself, acting for no user: restart recovery, jobs, the built-in image. It is
    /// a cloud administrator, so every visibility rule lets it see what it works on.
    public static let system = AuthContext(
        userID: "updraft", userDomainID: "default", scope: .system, roles: ["admin", "member", "reader"],
        auditID: "updraft-system")
}
