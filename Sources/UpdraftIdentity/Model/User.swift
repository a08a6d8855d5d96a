import UpdraftCore

/// A Keystone user. Attributes Keystone does not model (email, description, ...) are kept
/// in `extra` and written back flat, as Keystone does.
public struct User: Encodable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var domainID: String
    public var enabled: Bool
    public var defaultProjectID: String?
    public var extra: [String: JSONValue]

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        for (key, value) in extra { try c.put(key, value) }
        try c.put("id", id)
        try c.put("name", name)
        try c.put("domain_id", domainID)
        try c.put("enabled", enabled)
        if let defaultProjectID { try c.put("default_project_id", defaultProjectID) }
        try c.putOrNull("password_expires_at", String?.none)
        try c.put("options", [String: String]())
        try c.put("links", Links.link(encoder, "users/\(id)"))
    }
}
