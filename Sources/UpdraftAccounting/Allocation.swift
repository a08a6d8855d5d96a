import Foundation

/// A project's award of one resource for a time: SUs for the classes instances burn, GB for
/// storage. Supplements add to `award`, extensions move `end`; each is a ledger entry.
public struct Allocation: Sendable, Equatable, Codable {
    public var id: String
    /// What the facility calls it (`TG-ABC190028`).
    public var name: String
    public var projectID: String
    public var resource: ResourceClass
    public var award: Double
    public var start: Date
    public var end: Date
    /// The kind of award (`explore`, `discover`, `accelerate`, `maximize`, `campus`, `education`,
    /// `trial`), for reports by tier.
    public var tier: String?
    public var description: String?
    /// The only flavors (by name) its instances may use; nil for any. A trial's are small.
    public var flavors: [String]?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, name: String, projectID: String, resource: ResourceClass, award: Double, start: Date, end: Date,
        tier: String? = nil, description: String? = nil, flavors: [String]? = nil, createdAt: Date? = nil,
        updatedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.projectID = projectID
        self.resource = resource
        self.award = award
        self.start = start
        self.end = end
        self.tier = tier
        self.description = description
        self.flavors = flavors
        self.createdAt = createdAt ?? start
        self.updatedAt = updatedAt ?? createdAt ?? start
    }

    /// The dates charges count inside.
    public var window: DateInterval { DateInterval(start: start, end: max(start, end)) }

    /// SUs for the classes instances burn, GB for storage.
    public var unit: String { resource == .storage ? "GB" : "SU" }
}
