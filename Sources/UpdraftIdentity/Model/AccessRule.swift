/// An application credential access rule: the one service, HTTP method and path (with `*`
/// for one segment and `**` for any rest) the credential's tokens may call. Rules belong to
/// a user and are shared by the credentials that name the same rule.
public struct AccessRule: Encodable, Sendable, Equatable {
    public var id: String
    public var service: String
    public var method: String
    public var path: String
    /// Set when listed on its own (`/v3/users/{id}/access_rules`), where Keystone adds links.
    public var userID: String?

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.put("id", id)
        try c.put("service", service)
        try c.put("method", method)
        try c.put("path", path)
        if let userID { try c.put("links", Links.link(encoder, "users/\(userID)/access_rules/\(id)")) }
    }
}
