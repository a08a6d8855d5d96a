/// What a project holds that the expiry lifecycle acts on.
public struct Holdings: Sendable, Equatable {
    /// Instance ids.
    public var instances: [String]
    /// Volume ids.
    public var volumes: [String]
    /// Image ids the project owns.
    public var images: [String]
    /// Container names.
    public var containers: [String]

    public init(instances: [String] = [], volumes: [String] = [], images: [String] = [], containers: [String] = []) {
        self.instances = instances
        self.volumes = volumes
        self.images = images
        self.containers = containers
    }

    public var isEmpty: Bool { instances.isEmpty && volumes.isEmpty && images.isEmpty && containers.isEmpty }
}

/// The services the expiry lifecycle reads and acts through: compute, block storage, images
/// and object storage, bridged by the composition root. Every call acts as the cloud itself.
public protocol ProjectHoldings: Sendable {
    /// The instances of `projectID` whose flavor is of `resource`: all that are not deleted,
    /// or with `burningOnly` those not yet shelved offloaded.
    func instances(projectID: String, resource: ResourceClass, burningOnly: Bool) async throws -> [String]
    /// The GB the project's storage holds: volumes and their snapshots, the images it owns,
    /// its objects. What a `storage` allocation shows as used.
    func storageGigabytes(projectID: String) async throws -> Double
    /// The project's volumes, its own images and its containers.
    func storage(projectID: String) async throws -> Holdings
    /// CPU seconds an ACTIVE instance's guest has used, and its vCPUs; nil when it is not
    /// ACTIVE or its host cannot say.
    func cpuUsage(instanceID: String) async throws -> (seconds: Double, vcpus: Int)?
    /// Shelves (and offloads) an instance.
    func shelve(instanceID: String) async throws
    /// Deletes what `holdings` names, in that order: instances, volumes, images, containers
    /// with their objects, and answers what went. What cannot go yet (a volume still attached
    /// to an instance being deleted) is left for the next round.
    func delete(_ holdings: Holdings, projectID: String) async -> Holdings
}
