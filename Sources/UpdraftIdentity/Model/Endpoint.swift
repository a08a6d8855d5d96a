/// One URL of a catalog service, per interface and region.
public struct Endpoint: Encodable, Sendable, Equatable {
    public var id: String
    public var serviceID: String
    public var interface: String
    public var regionID: String?
    public var url: String
    public var enabled: Bool

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.put("id", id)
        try c.put("service_id", serviceID)
        try c.put("interface", interface)
        try c.putOrNull("region_id", regionID)
        try c.putOrNull("region", regionID)
        try c.put("url", url)
        try c.put("enabled", enabled)
        try c.put("links", Links.link(encoder, "endpoints/\(id)"))
    }
}
