import Foundation
import UpdraftCore

/// What every Neutron resource carries (its "standard attributes"): id, owner, name,
/// description, tags, timestamps and revision. Each model holds one and reads its fields
/// through dynamic member lookup (`network.id`, `port.projectID`).
public struct StandardAttributes: Sendable, Equatable {
    public var id: String
    /// Nil for resources Neutron gives no name (rules, floating IPs).
    public var name: String?
    public var description: String
    public var projectID: String
    public var tags: [String]
    public var createdAt: Date
    public var updatedAt: Date
    public var revision: Int

    public init(
        id: String, name: String?, description: String = "", projectID: String, tags: [String] = [],
        createdAt: Date = .now, revision: Int = 1
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.projectID = projectID
        self.tags = tags
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.revision = revision
    }

    /// Records a change: a new update time and the next revision.
    public mutating func touch(at date: Date) {
        updatedAt = date
        revision += 1
    }

    /// Writes the attributes as Neutron shows them, `project_id` twice (as `tenant_id` too).
    func write(to c: inout KeyedEncodingContainer<FieldKey>) throws {
        try c.put("id", id)
        if let name { try c.put("name", name) }
        try c.put("description", description)
        try c.put("project_id", projectID)
        try c.put("tenant_id", projectID)
        try c.put("tags", tags)
        try c.put("created_at", Timestamp.iso8601(createdAt))
        try c.put("updated_at", Timestamp.iso8601(updatedAt))
        try c.put("revision_number", revision)
    }
}

/// A model that holds its ``StandardAttributes`` and reads them as its own fields.
@dynamicMemberLookup
public protocol NeutronResource: Sendable, Encodable {
    var standard: StandardAttributes { get set }
}

extension NeutronResource {
    public subscript<T>(dynamicMember keyPath: WritableKeyPath<StandardAttributes, T>) -> T {
        get { standard[keyPath: keyPath] }
        set { standard[keyPath: keyPath] = newValue }
    }
}

extension CodingUserInfoKey {
    /// `false` when the reader is not an administrator: provider and binding attributes are
    /// then left out of networks and ports, as Neutron's policy hides them.
    public static let neutronAdminView: CodingUserInfoKey = {
        guard let key = CodingUserInfoKey(rawValue: "updraft.neutron.admin-view") else {
            preconditionFailure("invalid user info key")
        }
        return key
    }()
}

extension Encoder {
    /// Whether this body is for an administrator (unset means yes: Updraft's own reads).
    var neutronAdminView: Bool { userInfo[.neutronAdminView] as? Bool ?? true }
}
