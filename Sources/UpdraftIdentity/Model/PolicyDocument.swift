/// A policy blob stored for other services (Keystone's deprecated `/v3/policies`); Updraft
/// keeps it for compatibility and does not evaluate it.
public struct PolicyDocument: Encodable, Sendable, Equatable {
    public var id: String
    public var type: String
    public var blob: String

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.put("id", id)
        try c.put("type", type)
        try c.put("blob", blob)
        try c.put("links", Links.link(encoder, "policies/\(id)"))
    }
}
