/// One instance's state history with who owns it, as accounting reads it from compute.
public struct InstanceHistory: Sendable, Equatable {
    public var instanceID: String
    public var name: String
    public var projectID: String
    public var userID: String
    /// Rows in the order compute wrote them.
    public var changes: [StateChange]

    public init(instanceID: String, name: String, projectID: String, userID: String, changes: [StateChange]) {
        self.instanceID = instanceID
        self.name = name
        self.projectID = projectID
        self.userID = userID
        self.changes = changes
    }
}

/// Where charges come from: compute's timestamped history of every instance's state and
/// flavor. The composition root hands the compute service in once it is built.
public protocol UsageSource: Sendable {
    /// Every instance of `projectIDs` (every project when nil) with its whole history.
    func histories(projectIDs: [String]?) async throws -> [InstanceHistory]
}
