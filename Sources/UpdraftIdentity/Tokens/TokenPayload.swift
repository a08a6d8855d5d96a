import Foundation
import UpdraftCore

/// What a token carries, sealed inside it: enough to authorise a request without a
/// database read. Short keys keep tokens small.
public struct TokenPayload: Codable, Sendable, Equatable {
    public struct Role: Codable, Sendable, Equatable {
        public var id: String
        public var name: String

        enum CodingKeys: String, CodingKey {
            case id = "i"
            case name = "n"
        }

        public init(id: String, name: String) {
            self.id = id
            self.name = name
        }

        /// True when a request's role reference names this role. A reference whose `id` is a
        /// role name also matches: clients that may not list roles (openstack CLI as a
        /// member) send the name they were given as the id.
        public func matches(id: String?, name: String?) -> Bool {
            (id != nil && (id == self.id || id == self.name)) || (name != nil && name == self.name)
        }
    }

    public var userID: String
    public var userDomainID: String
    public var methods: [String]
    public var projectID: String?
    public var projectDomainID: String?
    public var domainID: String?
    public var system: Bool
    /// Effective roles in the scope, implied roles expanded.
    public var roles: [Role]
    public var issuedAt: Double
    public var expiresAt: Double
    /// The token's own audit id first, then the chain it was rescoped from.
    public var auditIDs: [String]
    public var applicationCredentialID: String?
    /// The OS-TRUST trust this token acts through.
    public var trustID: String?

    enum CodingKeys: String, CodingKey {
        case userID = "u"
        case userDomainID = "ud"
        case methods = "m"
        case projectID = "p"
        case projectDomainID = "pd"
        case domainID = "d"
        case system = "s"
        case roles = "r"
        case issuedAt = "ia"
        case expiresAt = "ea"
        case auditIDs = "a"
        case applicationCredentialID = "c"
        case trustID = "t"
    }

    public init(
        userID: String, userDomainID: String, methods: [String], projectID: String? = nil, projectDomainID: String? = nil,
        domainID: String? = nil, system: Bool = false, roles: [Role] = [], issuedAt: Double, expiresAt: Double,
        auditIDs: [String], applicationCredentialID: String? = nil
    ) {
        self.userID = userID
        self.userDomainID = userDomainID
        self.methods = methods
        self.projectID = projectID
        self.projectDomainID = projectDomainID
        self.domainID = domainID
        self.system = system
        self.roles = roles
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.auditIDs = auditIDs
        self.applicationCredentialID = applicationCredentialID
    }

    /// The caller this token speaks for.
    public var authContext: AuthContext {
        let scope: AuthContext.Scope
        if let projectID, let projectDomainID {
            scope = .project(id: projectID, domainID: projectDomainID)
        } else if let domainID {
            scope = .domain(id: domainID)
        } else if system {
            scope = .system
        } else {
            scope = .unscoped
        }
        return AuthContext(
            userID: userID, userDomainID: userDomainID, scope: scope, roles: Set(roles.map(\.name)),
            auditID: auditIDs.first ?? "", applicationCredentialID: applicationCredentialID)
    }
}
