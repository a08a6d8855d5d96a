import SQLKit

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
    /// The same, read in the transaction `db` is part of.
    func histories(projectIDs: [String]?, _ db: any SQLDatabase) async throws -> [InstanceHistory]
    /// Every project that has or had an instance.
    func projectsWithInstances(_ db: any SQLDatabase) async throws -> [String]
}

/// Told of each history row in the transaction that writes it, with the instance's row
/// before it: accounting's running sums move with the history, so a crash leaves them in step.
public protocol HistoryObserver: Sendable {
    func recorded(_ current: StateChange, after previous: StateChange?, _ db: any SQLDatabase) async throws
}
