/// A Keystone role. Global roles have no domain.
public struct Role: Encodable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var domainID: String?
    public var description: String

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.put("id", id)
        try c.put("name", name)
        try c.putOrNull("domain_id", domainID)
        try c.put("description", description)
        try c.put("options", [String: String]())
        try c.put("links", Links.link(encoder, "roles/\(id)"))
    }
}
