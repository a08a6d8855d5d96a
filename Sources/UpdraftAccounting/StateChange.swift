import Foundation

/// One row of an instance's state history as accounting reads it: from `at` on, the
/// instance was in `vmState` with `vcpus` of class `resourceClass`. Compute writes a row for
/// every change of state or flavor, in the transaction that makes the change.
public struct StateChange: Sendable, Equatable {
    public var instanceID: String
    public var projectID: String
    public var at: Date
    public var vmState: String
    public var vcpus: Int
    public var resourceClass: ResourceClass

    public init(
        instanceID: String, projectID: String, at: Date, vmState: String, vcpus: Int, resourceClass: ResourceClass
    ) {
        self.instanceID = instanceID
        self.projectID = projectID
        self.at = at
        self.vmState = vmState
        self.vcpus = vcpus
        self.resourceClass = resourceClass
    }
}
