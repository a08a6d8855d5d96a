import Foundation
import UpdraftCore

/// An OS-TRUST delegation: the trustor lets the trustee act in one project with some of the
/// trustor's roles, optionally as the trustor (impersonation). Orchestration will use these
/// to act for a user after their token has expired.
public struct Trust: Encodable, Sendable, Equatable {
    public var id: String
    public var trustorUserID: String
    public var trusteeUserID: String
    public var projectID: String
    public var impersonation: Bool
    public var expiresAt: Date?
    public var remainingUses: Int?
    public var roles: [TokenPayload.Role]

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        let base = encoder.userInfo[Links.baseKey] as? String ?? ""
        try c.put("id", id)
        try c.put("trustor_user_id", trustorUserID)
        try c.put("trustee_user_id", trusteeUserID)
        try c.put("project_id", projectID)
        try c.put("impersonation", impersonation)
        try c.putOrNull("expires_at", expiresAt.map(Timestamp.microseconds))
        try c.putOrNull("remaining_uses", remainingUses)
        try c.put("allow_redelegation", false)
        try c.put("redelegation_count", 0)
        try c.putOrNull("redelegated_trust_id", String?.none)
        try c.put("roles", roles.map { RoleLink($0, base: base) })
        try c.put("roles_links", ["self": "\(base)/v3/OS-TRUST/trusts/\(id)/roles"])
        try c.put("links", ["self": "\(base)/v3/OS-TRUST/trusts/\(id)"])
    }
}

/// A role as trusts list it, with its link.
public struct RoleLink: Encodable, Sendable {
    public var id: String
    public var name: String
    public var links: [String: String]

    public init(_ role: TokenPayload.Role, base: String) {
        id = role.id
        name = role.name
        links = ["self": "\(base)/v3/roles/\(role.id)"]
    }
}
