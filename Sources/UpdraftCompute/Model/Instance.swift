import Foundation

/// One server as the compute service stores it.
public struct Instance: Sendable, Equatable {
    /// The flavor as it was when the instance was created or resized (Nova embeds a copy).
    public var flavor: Flavor
    public var oldFlavor: Flavor?
    public var id: String
    public var name: String
    public var projectID: String
    public var userID: String
    public var imageID: String
    public var vmState: VMState
    public var taskState: TaskState?
    public var powerState: PowerState
    public var host: String?
    public var availabilityZone: String
    public var keyName: String?
    public var keyData: String?
    /// Base64 as the client sent it.
    public var userData: String?
    public var metadata: [String: String]
    public var tags: [String]
    public var configDrive: Bool
    public var launchIndex: Int
    public var reservationID: String
    public var hostname: String
    public var description: String?
    public var locked: Bool
    public var lockedReason: String?
    public var accessIPv4: String
    public var accessIPv6: String
    public var progress: Int
    public var createdAt: Date
    public var updatedAt: Date
    public var launchedAt: Date?
    public var terminatedAt: Date?
    /// `{"code", "message", "created"}` when the instance is in ERROR.
    public var fault: Fault?
    /// The image holding the disk while shelved.
    public var shelvedImageID: String?
    /// The kernel and ramdisk images of an ami image, resolved at create.
    public var kernelID: String?
    public var ramdiskID: String?
    /// A small integer, unique per cloud, for Nova's `instance-0000000a` names.
    public var sequence: Int = 0
    /// The NICs it asked for, resolved at create (and the ports it was given later): what a
    /// spawn plugs, and which ports are the user's to keep when it goes.
    public var requestedNICs: [NICRequest] = []
    /// The security groups its ports get (ids), from the create's `security_groups`.
    public var securityGroups: [String] = []

    public struct Fault: Sendable, Equatable, Codable {
        public var code: Int
        public var message: String
        public var created: Date

        public init(code: Int, message: String, created: Date) {
            self.code = code
            self.message = message
            self.created = created
        }
    }

    public var status: String { ServerStatus.of(vmState, taskState) }

    public init(
        id: String, name: String, projectID: String, userID: String, imageID: String, flavor: Flavor,
        availabilityZone: String, createdAt: Date
    ) {
        self.id = id
        self.name = name
        self.projectID = projectID
        self.userID = userID
        self.imageID = imageID
        self.flavor = flavor
        self.vmState = .building
        self.taskState = .scheduling
        self.powerState = .noState
        self.availabilityZone = availabilityZone
        self.metadata = [:]
        self.tags = []
        self.configDrive = false
        self.launchIndex = 0
        self.reservationID = ""
        self.hostname = name
        self.locked = false
        self.accessIPv4 = ""
        self.accessIPv6 = ""
        self.progress = 0
        self.createdAt = createdAt
        self.updatedAt = createdAt
    }
}
