/// A Keystone domain: a namespace of projects, users and groups.
public struct Domain: Encodable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String
    public var enabled: Bool
    public var tags: [String]

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.put("id", id)
        try c.put("name", name)
        try c.put("description", description)
        try c.put("enabled", enabled)
        try c.put("tags", tags)
        try c.put("options", [String: String]())
        try c.put("links", Links.link(encoder, "domains/\(id)"))
    }
}
