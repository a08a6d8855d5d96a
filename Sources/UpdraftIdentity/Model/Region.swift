/// A catalog region.
public struct Region: Encodable, Sendable, Equatable {
    public var id: String
    public var description: String
    public var parentRegionID: String?

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.put("id", id)
        try c.put("description", description)
        try c.putOrNull("parent_region_id", parentRegionID)
        try c.put("links", Links.link(encoder, "regions/\(id)"))
    }
}
