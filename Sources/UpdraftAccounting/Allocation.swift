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

    public init(id: String, name: String, projectID: String, resource: ResourceClass, award: Double, start: Date, end: Date) {
        self.id = id
        self.name = name
        self.projectID = projectID
        self.resource = resource
        self.award = award
        self.start = start
        self.end = end
    }

    /// The dates charges count inside.
    public var window: DateInterval { DateInterval(start: start, end: max(start, end)) }
}
