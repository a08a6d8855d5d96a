import UpdraftCore

/// A Keystone project: the unit of ownership and, in Updraft, of allocation.
public struct Project: Encodable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var domainID: String
    public var parentID: String?
    public var description: String
    public var enabled: Bool
    public var tags: [String]
    /// Properties a client set beyond Keystone's attributes (`openstack project create
    /// --property field_of_science=Physics`), written back flat as Keystone does.
    public var extra: [String: JSONValue] = [:]

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.put("id", id)
        try c.put("name", name)
        try c.put("domain_id", domainID)
        try c.putOrNull("parent_id", parentID ?? domainID)
        try c.put("description", description)
        try c.put("enabled", enabled)
        try c.put("is_domain", false)
        try c.put("tags", tags)
        try c.put("options", [String: String]())
        try c.put("links", Links.link(encoder, "projects/\(id)"))
        for (key, value) in extra { try c.put(key, value) }
    }
}
