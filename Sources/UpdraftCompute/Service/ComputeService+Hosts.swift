import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Hypervisor hosts: registration, capacity for the scheduler, `os-hypervisors`, and the
/// loops that keep the database and the hosts in agreement.
extension ComputeService {
    /// A host as `os-hypervisors` and `os-services` show it.
    public struct HostRecord: Sendable, Equatable {
        public var id: Int
        public var uuid: String
        public var host: HypervisorHost
        public var disabled: Bool
        public var disabledReason: String?
        public var forcedDown: Bool
        public var updatedAt: Date
        public var usedVCPUs: Int
        public var usedMemoryMB: Int
        public var usedDiskGB: Int
        public var runningVMs: Int
    }

    func registerHost(_ hostname: String, _ driver: any HypervisorDriver) async throws {
        let host = try await driver.host()
        try await database.write { db in
            let now = Date.now.timeIntervalSince1970
            if try await db.raw("SELECT hostname FROM compute_nodes WHERE hostname = \(bind: hostname)").first() != nil {
                try await db.raw(
                    """
                    UPDATE compute_nodes SET hypervisor_type = \(bind: host.hypervisorType),
                      hypervisor_version = \(bind: host.hypervisorVersion), accelerator = \(bind: host.accelerator),
                      accelerator_note = \(bind: host.acceleratorNote), vcpus = \(bind: host.vcpus),
                      memory_mb = \(bind: host.memoryMB), disk_gb = \(bind: host.diskGB), host_ip = \(bind: host.hostIP),
                      updated_at = \(bind: now)
                    WHERE hostname = \(bind: hostname)
                    """
                ).run()
            } else {
                let id = try await db.nextValue("id", of: "compute_nodes")
                try await db.raw(
                    """
                    INSERT INTO compute_nodes (hostname, id, uuid, hypervisor_type, hypervisor_version, accelerator,
                      accelerator_note, vcpus, memory_mb, disk_gb, host_ip, updated_at)
                    VALUES (\(bind: hostname), \(bind: id), \(bind: UUID().uuidString.lowercased()),
                      \(bind: host.hypervisorType), \(bind: host.hypervisorVersion), \(bind: host.accelerator),
                      \(bind: host.acceleratorNote), \(bind: host.vcpus), \(bind: host.memoryMB), \(bind: host.diskGB),
                      \(bind: host.hostIP), \(bind: now))
                    """
                ).run()
            }
        }
    }

    /// Every registered host with what its instances hold (shelved-offloaded ones hold nothing).
    public func hosts() async throws -> [HostRecord] {
        try await database.read { db in try await Self.hosts(db) }
    }

    /// One host by its `os-hypervisors` id or uuid; Nova's 404 otherwise.
    public func host(_ id: String) async throws -> HostRecord {
        guard let host = try await hosts().first(where: { String($0.id) == id || $0.uuid == id }) else {
            throw UpdraftError.notFound("Hypervisor with ID \(id) could not be found.")
        }
        return host
    }

    /// Serves `GET /os-hypervisors/{id}/uptime`: the host's `uptime` line as libvirt reports
    /// it to Nova. A host this controller does not drive is Nova's 400.
    public func hypervisorUptime(_ host: HostRecord) async throws -> String {
        guard let driver = drivers[host.host.hostname] else {
            throw UpdraftError.badRequest("Compute service of \(host.host.hostname) is unavailable at this time.")
        }
        return Self.uptimeLine(await driver.uptime(), at: self.now)
    }

    /// ` 2026-11-24T21:00:00Z up 3 days, 04:05, load average: 0.10, 0.20, 0.30`.
    static func uptimeLine(_ uptime: HostUptime, at now: Date) -> String {
        let minutes = Int(uptime.seconds) / 60
        let load = uptime.loadAverages.map { String(format: "%.2f", $0) }.joined(separator: ", ")
        return String(
            format: " %@ up %d days, %02d:%02d, load average: %@", Timestamp.iso8601(now), minutes / 1440,
            minutes / 60 % 24, minutes % 60, load)
    }

    static func hosts(_ db: any SQLDatabase) async throws -> [HostRecord] {
        var used: [String: (Int, Int, Int, Int)] = [:]
        for row in try await db.raw(
            """
            SELECT host, CAST(COALESCE(SUM(vcpus), 0) AS BIGINT) AS vcpus, CAST(COALESCE(SUM(memory_mb), 0) AS BIGINT) AS ram,
              CAST(COALESCE(SUM(root_gb), 0) AS BIGINT) AS disk, COUNT(*) AS n
            FROM instances WHERE deleted = \(bind: false) AND host IS NOT NULL AND vm_state <> 'shelved_offloaded'
            GROUP BY host
            """
        ).all() {
            used[try row.string("host")] = (try row.int("vcpus"), try row.int("ram"), try row.int("disk"), try row.int("n"))
        }
        return try await db.raw("SELECT * FROM compute_nodes ORDER BY id").all().map { row in
            let hostname = try row.string("hostname")
            let u = used[hostname] ?? (0, 0, 0, 0)
            return HostRecord(
                id: try row.int("id"), uuid: try row.string("uuid"),
                host: HypervisorHost(
                    hostname: hostname, hypervisorType: try row.string("hypervisor_type"),
                    hypervisorVersion: try row.int("hypervisor_version"), accelerator: try row.string("accelerator"),
                    acceleratorNote: try row.optionalString("accelerator_note"), vcpus: try row.int("vcpus"),
                    memoryMB: try row.int("memory_mb"), diskGB: try row.int("disk_gb"), hostIP: try row.string("host_ip")),
                disabled: try row.bool("disabled"), disabledReason: try row.optionalString("disabled_reason"),
                forcedDown: try row.bool("forced_down"),
                updatedAt: Date(timeIntervalSince1970: try row.double("updated_at")), usedVCPUs: u.0, usedMemoryMB: u.1,
                usedDiskGB: u.2, runningVMs: u.3)
        }
    }

    /// Serves `PUT /os-services/{id}`: enable or disable scheduling to a host.
    public func setHostDisabled(_ hostname: String, disabled: Bool, reason: String?) async throws {
        try await database.write { db in
            guard try await db.raw("SELECT hostname FROM compute_nodes WHERE hostname = \(bind: hostname)").first() != nil
            else { throw UpdraftError.notFound("Compute host \(hostname) could not be found.") }
            try await db.raw(
                """
                UPDATE compute_nodes SET disabled = \(bind: disabled), disabled_reason = \(bind: disabled ? reason : nil)
                WHERE hostname = \(bind: hostname)
                """
            ).run()
        }
    }

    var scheduler: Scheduler {
        Scheduler(
            cpuAllocationRatio: configuration.cpuAllocationRatio, ramAllocationRatio: configuration.ramAllocationRatio,
            diskAllocationRatio: configuration.diskAllocationRatio, reservedMemoryMB: configuration.reservedHostMemoryMB)
    }

    /// Picks a host for the instance and records it there with task `spawning`, in one
    /// transaction; a 409 naming the shortfall when no host fits (spawn and unshelve).
    func place(_ id: String) async throws -> Instance {
        try await database.write { db in
            var i = try await self.instance(id, db)
            let before = i
            switch try await self.schedule(i.flavor, db) {
            case .success(let host): i.host = host
            case .failure(let failure): throw UpdraftError.conflict(failure.message)
            }
            i.taskState = .spawning
            i.updatedAt = self.now
            try await self.repository.update(i, previous: before, db)
            return i
        }
    }

    /// Picks a host for `flavor` among the hosts this controller drives.
    func schedule(_ flavor: Flavor, _ db: any SQLDatabase) async throws -> Result<String, SchedulingFailure> {
        let candidates = try await Self.hosts(db).filter { drivers[$0.host.hostname] != nil }.map {
            Scheduler.Candidate(
                hostname: $0.host.hostname, vcpus: $0.host.vcpus, memoryMB: $0.host.memoryMB, diskGB: $0.host.diskGB,
                usedVCPUs: $0.usedVCPUs, usedMemoryMB: $0.usedMemoryMB, usedDiskGB: $0.usedDiskGB, disabled: $0.disabled)
        }
        return scheduler.select(
            vcpus: flavor.vcpus, memoryMB: flavor.ram, diskGB: flavor.disk, flavorName: flavor.name, from: candidates)
    }

    // MARK: Keeping the database and the hosts in agreement

    /// One round of Nova's power-state sync: an idle instance whose process died is
    /// SHUTOFF; one that runs again is ACTIVE or PAUSED as the host says.
    public func syncPowerStates() async throws {
        for (hostname, driver) in drivers {
            let states = try await driver.powerStates()
            try await refreshAccelerator(hostname, driver)
            // Only ids and power states are read each round; whole rows only where they differ,
            // so a host with thousands of instances costs one narrow query.
            let recorded = try await database.read { db in
                try await db.raw(
                    """
                    SELECT id, power_state FROM instances WHERE host = \(bind: hostname) AND deleted = \(bind: false)
                      AND task_state IS NULL
                    """
                ).all().map { (try $0.string("id"), PowerState(rawValue: try $0.int("power_state")) ?? .noState) }
            }
            for (id, power) in recorded {
                let seen = states[id] ?? .shutdown
                guard seen != power else { continue }
                guard let instance = try await database.read({ db in try await self.repository.find(id, db) }) else {
                    continue
                }
                // A guest QEMU stopped (internal-error, guest-panicked, io-error) goes SHUTOFF as in
                // Nova, whose sync stops a crashed guest; it carries the hypervisor's words as a
                // fault and an action event.
                let crash = seen == .crashed ? await driver.crashReason(id) ?? Self.unexplainedCrash : nil
                _ = try? await locks.withLock(instance.id) {
                    if crash != nil { try? await driver.powerOff(id, grace: .zero) }
                    let after = try await self.mutate(instance.id) { i in
                        guard i.taskState == nil else { return }
                        i.powerState = crash == nil ? seen : .shutdown
                        switch (i.vmState, seen) {
                        case (.active, .shutdown), (.paused, .shutdown):
                            i.vmState = .stopped
                        case (.active, .crashed), (.paused, .crashed):
                            i.vmState = .stopped
                            i.fault = crash.map { .init(code: 500, message: $0, created: self.now) }
                        case (.stopped, .running):
                            i.vmState = .active
                            i.fault = nil
                        case (.stopped, .paused): i.vmState = .paused
                        default: break
                        }
                    }
                    if let crash, after.fault?.message == crash, instance.vmState != .stopped {
                        try await self.database.write { db in
                            try await self.repository.startAction(
                                "stop", instance: after, requestID: "req-" + UUID().uuidString.lowercased(),
                                userID: after.userID, projectID: after.projectID, db)
                            try await self.repository.finishAction(instanceID: after.id, error: crash, db)
                        }
                    }
                }
                logger.info(
                    "power state changed on the host",
                    metadata: ["instance": "\(instance.id)", "was": "\(instance.powerState)", "now": "\(seen)"])
            }
        }
    }

    /// Records a host again when its driver changed accelerator (a switch to TCG after a real
    /// guest stopped under KVM), so `os-hypervisors` shows what guests now run with.
    func refreshAccelerator(_ hostname: String, _ driver: any HypervisorDriver) async throws {
        let accelerator = try await driver.host().accelerator
        let recorded = try await database.read { db in
            try await db.raw("SELECT accelerator FROM compute_nodes WHERE hostname = \(bind: hostname)").first()
        }
        guard let recorded, try recorded.optionalString("accelerator") != accelerator else { return }
        try await registerHost(hostname, driver)
        logger.notice(
            "host recorded with its new accelerator", metadata: ["host": "\(hostname)", "accelerator": "\(accelerator)"])
    }

    /// The fault of a crashed guest whose host cannot say why.
    static let unexplainedCrash = "The guest stopped unexpectedly; the hypervisor gave no reason."
}
