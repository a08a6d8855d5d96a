import Foundation

/// What runs instances on one host. The QEMU driver is the default; the fake driver is
/// for fast tests and scale simulation only.
///
/// The compute service owns the state machine (vm_state, task_state) and the database;
/// a driver only makes the host match what it is told and reports what it sees. Every
/// method is idempotent where it can be: stopping a stopped instance succeeds.
public protocol HypervisorDriver: Sendable {
    /// The host this driver runs instances on, with its real capacity.
    func host() async throws -> HypervisorHost
    /// How long the host has been up and its load; zeros for what it cannot say.
    func uptime() async -> HostUptime

    /// Creates the instance's disks (a copy-on-write overlay on the cached base image,
    /// grown to the flavor's root disk, and the config drive) and boots it.
    func spawn(_ spec: InstanceSpec) async throws
    /// Boots an instance whose disks exist (after stop, or on unshelve with `spec`'s disks
    /// already created by `spawn`), with `spec`'s NICs and volumes.
    func powerOn(_ spec: InstanceSpec) async throws
    /// ACPI power-off, then a hard stop after `grace`.
    func powerOff(_ id: String, grace: Duration) async throws
    func reboot(_ id: String, hard: Bool) async throws
    /// Stops the vCPUs with memory resident.
    func pause(_ id: String) async throws
    func unpause(_ id: String) async throws
    /// Saves memory to a file in the instance directory and ends the process.
    func suspend(_ id: String) async throws
    /// Restores a suspended instance from its saved memory.
    func resume(_ spec: InstanceSpec) async throws
    /// A standalone copy of the instance's root disk (no backing file) in `format`
    /// written to `path`; the instance keeps running (it is paused for the copy when live).
    /// An instance whose root disk is a volume has none: `.invalidState`.
    func snapshot(_ id: String, to path: String, format: String) async throws
    /// Stops the instance if it runs and removes its disks and runtime files.
    func destroy(_ id: String) async throws
    /// Grows the root disk and changes vCPUs and memory for the next boot (only vCPUs and
    /// memory when the root disk is a volume).
    func resize(_ spec: InstanceSpec) async throws
    /// Replaces the root disk with a fresh overlay of `spec`'s image and boots it; the
    /// attached volumes stay.
    func rebuild(_ spec: InstanceSpec) async throws
    /// Plugs one more NIC into the instance: hot into a running guest, and in every later boot.
    func attachInterface(_ id: String, _ nic: InstanceSpec.NIC) async throws
    /// Unplugs the NIC of `portID`: from a running guest at once, and from every later boot.
    func detachInterface(_ id: String, portID: String) async throws
    /// Plugs a block-storage volume into the instance: hot into a running (or paused) guest,
    /// and in every later boot. Attaching an attached volume succeeds.
    func attachVolume(_ id: String, _ volume: VolumeDisk) async throws
    /// Unplugs the volume `volumeID`: from a running guest once the guest has released it (a
    /// guest that does not is `.failed`, and the volume stays attached), and from every later
    /// boot. Detaching a volume that is not attached succeeds.
    func detachVolume(_ id: String, volumeID: String) async throws
    /// Grows the attached volume `volumeID` to `sizeBytes` in the running hypervisor, which
    /// tells the guest at once; true when done. False, with nothing changed, when the instance
    /// does not run or the volume is not plugged in: then nothing holds the file and the
    /// caller grows it itself (a running hypervisor holds a write lock on the file).
    func resizeVolume(_ id: String, volumeID: String, sizeBytes: Int64) async throws -> Bool
    /// A crash-consistent point-in-time copy of the attached volume `volumeID`, made by the
    /// running hypervisor while the guest goes on, written to `path` as a standalone qcow2;
    /// true when done. False, with nothing written, when the instance does not run or the
    /// volume is not plugged in: then the caller copies the file itself.
    func snapshotVolume(_ id: String, volumeID: String, to path: String) async throws -> Bool
    /// Runs `body` with the guest's filesystems frozen by its agent (Nova's quiesce) and thaws
    /// them after, whether `body` succeeded or not. When the instance does not run, has no
    /// agent or the agent does not freeze, `body` runs all the same, unquiesced.
    func quiesced<T: Sendable>(_ id: String, _ body: @Sendable () async throws -> T) async throws -> T

    /// The power state of every instance this host knows, running or not.
    func powerStates() async throws -> [String: PowerState]
    /// Why an instance ``powerStates()`` reported `.crashed` stopped, in the hypervisor's
    /// words (QEMU's run state and what it wrote); nil when the host cannot say.
    func crashReason(_ id: String) async -> String?
    /// CPU seconds the instance's guest has used on all its vCPUs since it last started; nil
    /// when it does not run or the host cannot say. Idle detection reads it twice, hours apart.
    func cpuSeconds(_ id: String) async -> Double?
    /// The serial console log (its recent end when it is long); the compute service cuts
    /// Nova's line tail from it.
    func consoleOutput(_ id: String) async throws -> String
    /// Where a browser reaches the instance's graphical console over websocket VNC.
    func vncConsole(_ id: String) async throws -> VNCEndpoint
    /// Stops and removes every instance on the host whose id is not in `known` (left by a
    /// crash between creating it and recording it); returns the ids removed.
    func reapOrphans(known: Set<String>) async -> [String]
}

/// One hypervisor host as Nova's `os-hypervisors` shows it.
public struct HypervisorHost: Sendable, Equatable {
    public var hostname: String
    /// `QEMU` for the real driver (as libvirt reports TCG and KVM alike), `fake` for the fake one.
    public var hypervisorType: String
    public var hypervisorVersion: Int
    /// `kvm` or `tcg`, and why when KVM is not used.
    public var accelerator: String
    public var acceleratorNote: String?
    public var vcpus: Int
    public var memoryMB: Int
    public var diskGB: Int
    public var hostIP: String

    public init(
        hostname: String, hypervisorType: String, hypervisorVersion: Int, accelerator: String,
        acceleratorNote: String? = nil, vcpus: Int, memoryMB: Int, diskGB: Int, hostIP: String = "127.0.0.1"
    ) {
        self.hostname = hostname
        self.hypervisorType = hypervisorType
        self.hypervisorVersion = hypervisorVersion
        self.accelerator = accelerator
        self.acceleratorNote = acceleratorNote
        self.vcpus = vcpus
        self.memoryMB = memoryMB
        self.diskGB = diskGB
        self.hostIP = hostIP
    }
}

/// How long a host has been up and how busy it is, as `uptime` tells it.
public struct HostUptime: Sendable, Equatable {
    /// Seconds since the host booted.
    public var seconds: Double
    /// The 1, 5 and 15 minute load averages.
    public var loadAverages: [Double]

    public init(seconds: Double, loadAverages: [Double]) {
        self.seconds = seconds
        self.loadAverages = loadAverages
    }
}

/// Nova's power states, with Nova's numbers.
public enum PowerState: Int, Sendable, Codable {
    case noState = 0
    case running = 1
    case paused = 3
    case shutdown = 4
    case crashed = 6
    case suspended = 7
}

/// Everything a driver needs to create or boot one instance.
public struct InstanceSpec: Sendable, Equatable {
    public struct BootImage: Sendable, Equatable {
        public var id: String
        /// The image's bytes on local disk.
        public var path: String
        /// `qcow2`, `raw`, or `ami` (a raw disk booted with `kernelPath` and `ramdiskPath`).
        public var diskFormat: String
        public var kernelPath: String?
        public var ramdiskPath: String?
        /// Extra kernel command line for a kernel+ramdisk boot (`os_command_line`).
        public var commandLine: String?

        public init(
            id: String, path: String, diskFormat: String, kernelPath: String? = nil, ramdiskPath: String? = nil,
            commandLine: String? = nil
        ) {
            self.id = id
            self.path = path
            self.diskFormat = diskFormat
            self.kernelPath = kernelPath
            self.ramdiskPath = ramdiskPath
            self.commandLine = commandLine
        }
    }

    /// The config drive's content, rendered by the driver as an ISO 9660 `config-2` volume.
    public struct Metadata: Sendable, Equatable {
        public var hostname: String
        public var name: String
        public var projectID: String
        public var availabilityZone: String
        public var metadata: [String: String]
        /// Key name and OpenSSH public key.
        public var publicKeys: [(name: String, key: String)]
        public var userData: Data?
        public var launchIndex: Int
        /// `vendor_data.json`: the cloud's vendor data, a JSON object (Nova's StaticJSON provider).
        public var vendorData: Data

        public init(
            hostname: String, name: String, projectID: String, availabilityZone: String, metadata: [String: String],
            publicKeys: [(name: String, key: String)], userData: Data?, launchIndex: Int, vendorData: Data = Data("{}".utf8)
        ) {
            self.hostname = hostname
            self.name = name
            self.projectID = projectID
            self.availabilityZone = availabilityZone
            self.metadata = metadata
            self.publicKeys = publicKeys
            self.userData = userData
            self.launchIndex = launchIndex
            self.vendorData = vendorData
        }

        public static func == (a: Metadata, b: Metadata) -> Bool {
            a.hostname == b.hostname && a.name == b.name && a.projectID == b.projectID
                && a.availabilityZone == b.availabilityZone && a.metadata == b.metadata
                && a.publicKeys.map(\.name) == b.publicKeys.map(\.name) && a.publicKeys.map(\.key) == b.publicKeys.map(\.key)
                && a.userData == b.userData && a.launchIndex == b.launchIndex && a.vendorData == b.vendorData
        }
    }

    /// A NIC: a tap device the network service made for one port, in the network namespace
    /// it lives in, which the driver opens there and hands to the hypervisor.
    public struct NIC: Sendable, Equatable, Codable {
        /// One IPv4 address of the port and how its subnet hands it out: by DHCP, or (a subnet
        /// without DHCP) only through `network_data.json`, which then carries the whole setup.
        public struct Address: Sendable, Equatable, Codable {
            public var address: String
            /// The subnet, `10.0.0.0/24`.
            public var cidr: String
            public var gateway: String?
            public var dhcp: Bool
            public var dnsServers: [String]

            public init(address: String, cidr: String, gateway: String?, dhcp: Bool, dnsServers: [String] = []) {
                self.address = address
                self.cidr = cidr
                self.gateway = gateway
                self.dhcp = dhcp
                self.dnsServers = dnsServers
            }

            enum CodingKeys: String, CodingKey {
                case address, cidr, gateway, dhcp
                case dnsServers = "dns_servers"
            }
        }

        public var portID: String
        public var networkID: String
        public var mac: String
        public var mtu: Int
        public var tap: String
        public var namespace: String
        /// Its IPv4 addresses (absent in records written before they were kept).
        public var addresses: [Address]?

        public init(
            portID: String, networkID: String, mac: String, mtu: Int = 1500, tap: String, namespace: String,
            addresses: [Address]? = nil
        ) {
            self.portID = portID
            self.networkID = networkID
            self.mac = mac
            self.mtu = mtu
            self.tap = tap
            self.namespace = namespace
            self.addresses = addresses
        }

        enum CodingKeys: String, CodingKey {
            case portID = "port_id"
            case networkID = "network_id"
            case mac
            case mtu
            case tap
            case namespace
            case addresses
        }
    }

    /// The instance UUID; also the SMBIOS system serial, as Nova sets it.
    public var id: String
    public var vcpus: Int
    public var memoryMB: Int
    public var rootGB: Int
    /// The image the root disk is made from; nil when the root disk is a volume
    /// (``rootVolume``), which then wins over an image given anyway.
    public var image: BootImage?
    public var configDrive: Bool
    public var metadata: Metadata
    /// Its NICs in the order the guest sees them; none on a cloud without networking.
    public var nics: [NIC]
    /// The block-storage volumes attached to it, the root volume of a server booted from
    /// volume among them.
    public var volumes: [VolumeDisk]
    /// Its image has the QEMU guest agent (`hw_qemu_guest_agent=yes`, on the image or, for a
    /// root volume, in the volume's image metadata): the guest gets the agent's port, a stop
    /// asks the agent first, a snapshot freezes the filesystems around the copy.
    public var guestAgent = false

    public init(
        id: String, vcpus: Int, memoryMB: Int, rootGB: Int, image: BootImage?, configDrive: Bool, metadata: Metadata,
        nics: [NIC] = [], volumes: [VolumeDisk] = []
    ) {
        self.nics = nics
        self.volumes = volumes
        self.id = id
        self.vcpus = vcpus
        self.memoryMB = memoryMB
        self.rootGB = rootGB
        self.image = image
        self.configDrive = configDrive
        self.metadata = metadata
    }
}

extension InstanceSpec {
    /// The volume the instance boots from (`bootIndex` 0), if its root disk is a volume.
    public var rootVolume: VolumeDisk? {
        volumes.first { $0.bootIndex == 0 }
    }
}

/// A block-storage volume as the hypervisor attaches it: where its bytes are and how the guest sees it.
public struct VolumeDisk: Sendable, Equatable, Codable {
    /// Where QEMU reads the volume. Only local files today; a Ceph RBD case would be added here.
    public enum Source: Sendable, Equatable, Codable {
        /// An image file on this host in `format`, `qcow2` or `raw` (never probed).
        case file(path: String, format: String)
    }

    /// The block-storage volume's id.
    public var volumeID: String
    public var source: Source
    /// Whether the guest may only read it (a read-only attachment).
    public var readOnly: Bool
    /// The serial the guest sees (/dev/disk/by-id/virtio-<serial>): the volume id's first 20 characters, as Nova sets it.
    public var serial: String
    /// 0 when the volume is the root disk of a server booted from volume; nil for a data volume.
    public var bootIndex: Int?

    /// The volume `volumeID` read from `source`; its serial is the id's first 20 characters.
    public init(volumeID: String, source: Source, readOnly: Bool = false, bootIndex: Int? = nil) {
        self.volumeID = volumeID
        self.source = source
        self.readOnly = readOnly
        self.serial = String(volumeID.prefix(20))
        self.bootIndex = bootIndex
    }

    enum CodingKeys: String, CodingKey {
        case volumeID = "volume_id"
        case source
        case readOnly = "read_only"
        case serial
        case bootIndex = "boot_index"
    }
}

/// A websocket VNC endpoint on the host.
public struct VNCEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// Errors a driver reports; the compute service maps them to ``UpdraftError``.
public enum HypervisorError: Error, Sendable, Equatable {
    /// The host has no instance with this id.
    case notFound(String)
    /// The instance is not in a state the operation needs (e.g. unpause of a running one).
    case invalidState(String)
    /// The operation failed on the host; the message names the program and what it said.
    case failed(String)
}
