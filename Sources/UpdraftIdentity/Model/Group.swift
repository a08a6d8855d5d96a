/// A Keystone group of users; roles granted to it apply to its members.
public struct Group: Encodable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var domainID: String
    public var description: String

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.put("id", id)
        try c.put("name", name)
        try c.put("domain_id", domainID)
        try c.put("description", description)
        try c.put("links", Links.link(encoder, "groups/\(id)"))
    }
}
