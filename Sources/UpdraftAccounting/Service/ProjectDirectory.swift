/// What identity knows of a project that a funder's report counts.
public struct ProjectFacts: Sendable, Equatable {
    public var id: String
    public var name: String
    /// Its own properties (`field_of_science`, `institution`), as text.
    public var properties: [String: String]
    /// The users holding a role on it.
    public var members: [String]

    public init(id: String, name: String, properties: [String: String], members: [String]) {
        self.id = id
        self.name = name
        self.properties = properties
        self.members = members
    }
}

/// Identity's projects, for reports and per-project choices; bridged by the composition root.
public protocol ProjectDirectory: Sendable {
    func projects() async throws -> [ProjectFacts]
    /// Every project's own properties, by project id (cheaper than ``projects()``: no members).
    func projectProperties() async throws -> [String: [String: String]]
    /// The e-mail addresses of the project's members that have one.
    func memberEmails(projectID: String) async throws -> [String]
}
