import Foundation
import UpdraftCore

/// A secret a user mints to let a program act for them in one project, with a subset of
/// their roles. The secret is shown once, at creation.
public struct ApplicationCredential: Encodable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var userID: String
    public var projectID: String
    public var description: String
    public var expiresAt: Date?
    public var unrestricted: Bool
    public var roles: [TokenPayload.Role]
    public var accessRules: [AccessRule] = []
    /// Only set in the answer to the create call.
    public var secret: String?

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.put("id", id)
        try c.put("name", name)
        try c.put("user_id", userID)
        try c.put("project_id", projectID)
        try c.putOrNull("description", description)
        // Keystone writes application credential expiry without a zone designator.
        try c.putOrNull("expires_at", expiresAt.map { String(Timestamp.microseconds($0).dropLast()) })
        try c.put("unrestricted", unrestricted)
        try c.put("roles", roles.map { ["id": $0.id, "name": $0.name] })
        try c.put("access_rules", accessRules)
        if let secret { try c.put("secret", secret) }
        try c.put("links", Links.link(encoder, "users/\(userID)/application_credentials/\(id)"))
    }
}
