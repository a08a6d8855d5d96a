import Foundation
import Logging
import SQLKit
import ServiceLifecycle
import UpdraftAccounting
import UpdraftCore
import UpdraftDatabase

/// Nova's logic and persistence: flavors, key pairs, servers and their lifecycle, quotas
/// and hosts. Knows nothing of HTTP. Long work (spawn, stop, snapshot, shelve, ...) runs
/// as jobs on this service's own loop (``run()``), which the server's `ServiceGroup` owns.
public final class ComputeService: Service, Sendable {
    public struct Configuration: Sendable {
        public var availabilityZone = "nova"
        /// Nova's `cpu_allocation_ratio`, `ram_allocation_ratio` and `disk_allocation_ratio`.
        public var cpuAllocationRatio = 16.0
        public var ramAllocationRatio = 1.5
        public var diskAllocationRatio = 1.0
        /// RAM kept for the host itself (Nova's `reserved_host_memory_mb`).
        public var reservedHostMemoryMB = 512
        /// Nova's default quotas.
        public var defaultQuotas: [String: Int] = [
            "instances": 10, "cores": 20, "ram": 51200, "key_pairs": 100, "metadata_items": 128,
            "server_groups": 10, "server_group_members": 10, "injected_files": 5,
            "injected_file_content_bytes": 10240, "injected_file_path_bytes": 255,
        ]
        /// How long a guest gets to power off on ACPI before it is stopped hard (Nova's `shutdown_timeout`).
        public var shutdownGrace: Duration = .seconds(60)
        /// The most items one list answers with (Nova's `max_limit`).
        public var maxLimit = 1000
        /// How long a spawn waits for the network to wire its ports (Nova's `vif_plugging_timeout`).
        public var portWiringTimeout: Duration = .seconds(120)
        /// What every guest reads as `vendor_data.json`, from the metadata service and the config
        /// drive: a JSON object, Nova's StaticJSON vendor data (`vendordata_jsonfile_path`). Its
        /// `cloud-init` member, a cloud-config, is what cloud-init applies before the user's data.
        public var vendorData = Data("{}".utf8)

        public init() {}
    }

    /// Work that runs after the API has answered.
    enum Job: Sendable {
        case spawn(String)
        case operate(String, ServerAction, Parameters)
        case destroy(String)
        /// Plugging or unplugging one volume of a server.
        case volume(String, VolumeJob)
    }

    /// What an action carries beyond the instance: the new image, flavor or snapshot id.
    struct Parameters: Sendable {
        var imageID: String?
        var flavor: Flavor?
        var snapshotID: String?
        var name: String?
        var metadata: [String: String]?
    }

    public let configuration: Configuration
    let database: Database
    public let images: any ComputeImages
    /// The network service's ports; nil on a cloud without networking (servers get no NIC).
    public let networks: (any ComputeNetworks)?
    /// The block-storage service's volumes; nil on a cloud without it.
    public let volumes: (any ComputeVolumes)?
    /// The drivers of the hosts this controller runs instances on, by hostname. One today;
    /// agents on other hosts join here later.
    let drivers: [String: any HypervisorDriver]
    /// Instance rows, with the flavors decoded from them cached for this service.
    let repository: InstanceRepository
    /// The time stamped on state changes, launches and terminations, which accounting charges by.
    public let clock: any WallClock
    /// Asked before an instance starts to burn SUs; nil on a cloud without accounting.
    public let allocations: (any ComputeAllocations)?
    /// One lock per instance: a job or a power-state sync holds it for its whole sequence of awaits.
    let locks = KeyedLocks<String>()
    let logger: Logger
    private let jobs: AsyncStream<Job>
    private let submit: AsyncStream<Job>.Continuation

    public init(
        configuration: Configuration, database: Database, images: any ComputeImages,
        networks: (any ComputeNetworks)? = nil, volumes: (any ComputeVolumes)? = nil,
        drivers: [String: any HypervisorDriver], clock: any WallClock = SystemWallClock(),
        allocations: (any ComputeAllocations)? = nil, historyObserver: (any HistoryObserver)? = nil, logger: Logger
    ) {
        self.configuration = configuration
        self.clock = clock
        self.allocations = allocations
        self.repository = InstanceRepository(clock: clock, historyObserver: historyObserver)
        self.database = database
        self.images = images
        self.networks = networks
        self.volumes = volumes
        self.drivers = drivers
        self.logger = logger
        (jobs, submit) = AsyncStream.makeStream(of: Job.self)
    }

    func enqueue(_ job: Job) {
        submit.yield(job)
    }

    /// Runs queued jobs until graceful shutdown. Jobs interrupted by a stop are picked up
    /// by ``start()`` on the next run.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for await job in jobs.cancelOnGracefulShutdown() {
                group.addTask { await self.execute(job) }
            }
        }
    }

    /// Records the hosts, seeds flavors, reaps orphans and resumes interrupted work. Call once at start.
    public func start() async throws {
        try await seedFlavors()
        for (hostname, driver) in drivers {
            try await registerHost(hostname, driver)
            let known = try await database.read { db in
                try await db.raw("SELECT id FROM instances WHERE host = \(bind: hostname) AND deleted = \(bind: false)")
                    .all().map { try $0.string("id") }
            }
            let reaped = await driver.reapOrphans(known: Set(known))
            if !reaped.isEmpty { logger.notice("reaped orphaned instances", metadata: ["ids": "\(reaped)"]) }
        }
        try await recoverInterruptedWork()
        try await recoverVolumes()
    }

    public var now: Date { clock.now }

    /// The driver of an instance's host; 409 when it has none (shelved offloaded, never scheduled).
    func driver(for instance: Instance) throws -> any HypervisorDriver {
        guard let host = instance.host, let driver = drivers[host] else {
            throw UpdraftError.conflict("Instance \(instance.id) is not on a host.")
        }
        return driver
    }

    // MARK: Reading and saving instances

    /// The instance, or Nova's 404.
    func instance(_ id: String, _ db: any SQLDatabase) async throws -> Instance {
        guard let instance = try await repository.find(id, db) else {
            throw UpdraftError.notFound("Instance \(id) could not be found.")
        }
        return instance
    }

    /// Reads an instance, lets `change` modify it and writes it back, in one transaction.
    @discardableResult
    func mutate(_ id: String, _ change: @Sendable @escaping (inout Instance) throws -> Void) async throws -> Instance {
        try await database.write { db in
            let before = try await self.instance(id, db)
            var after = before
            try change(&after)
            after.updatedAt = self.now
            try await self.repository.update(after, previous: before, db)
            return after
        }
    }
}
