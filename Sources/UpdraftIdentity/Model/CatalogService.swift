/// A service in the catalog (`identity`, `compute`, ...).
public struct CatalogService: Encodable, Sendable, Equatable {
    public var id: String
    public var type: String
    public var name: String
    public var description: String
    public var enabled: Bool

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.put("id", id)
        try c.put("type", type)
        try c.put("name", name)
        try c.put("description", description)
        try c.put("enabled", enabled)
        try c.put("links", Links.link(encoder, "services/\(id)"))
    }
}
