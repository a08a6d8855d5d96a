import Foundation
import Logging
import QEMU
import UpdraftCore

/// The hypervisor driver that runs each instance as a daemonized QEMU process.
///
/// Every instance has a 0700 directory `instances/<uuid>/` holding its disks (`disk`, a qcow2
/// overlay on a shared base in the image cache, and `disk.config`), `spec.json` (what it takes
/// to boot it again), `console.log`, `launch.log`, `qmp.sock`, `qemu.pid` and, while suspended,
/// `memory.state`. The directory is the truth: QEMU processes outlive `updraft`, and a
/// restarted driver finds them again through their pid files and `-name updraft-<uuid>`.
public actor QEMUDriver: HypervisorDriver {
    /// Where the driver keeps its files and how it runs QEMU.
    public struct Configuration: Sendable {
        /// One directory per instance; created if missing.
        public var instancesDirectory: String
        /// Base images, one per image id, shared by every instance booted from it.
        public var imageCacheDirectory: String
        /// `qemu-system-x86_64` by name (looked up in the fixed search path) or path.
        public var qemuBinary: String
        /// `qemu-img` by name or path.
        public var qemuImgBinary: String
        /// `genisoimage` by name or path.
        public var genisoimageBinary: String
        /// Forces an accelerator; nil decides once by running guest code under KVM, else TCG.
        public var accelerator: QEMU.Accelerator?
        public var machineType: QEMU.MachineConfiguration.MachineType
        /// Reported instead of the host's real vCPUs, memory and disk (for tests).
        public var capacity: (vcpus: Int, memoryMB: Int, diskGB: Int)?
        /// Loopback TCP ports handed out to instances' websocket VNC listeners.
        public var websocketPorts: ClosedRange<Int>
        /// How long a soft reboot or rebuild waits for the guest's ACPI shutdown before a hard stop.
        public var shutdownGrace: Duration
        /// How long a hard stop waits after `quit` and after SIGTERM before SIGKILL.
        public var killGrace: Duration
        /// How long a launched QEMU may take until its QMP socket accepts.
        public var launchTimeout: Duration
        /// How long a volume detach waits for the guest to release the disk (a TCG guest is slow).
        public var volumeDetachTimeout: Duration
        /// How long a live copy of a volume may take.
        public var volumeCopyTimeout: Duration

        /// Settings under one data directory: `DATA/instances` and `DATA/cache/base`, with the
        /// tools found by name, the accelerator probed, `pc` machines, websocket ports
        /// 5700–5999, a 60 s shutdown grace, a 5 s kill grace, 120 s for a guest to release a
        /// detached volume and an hour for a live volume copy.
        public init(
            dataDirectory: String, qemuBinary: String = "qemu-system-x86_64", qemuImgBinary: String = "qemu-img",
            genisoimageBinary: String = "genisoimage", accelerator: QEMU.Accelerator? = nil,
            machineType: QEMU.MachineConfiguration.MachineType = .pc,
            capacity: (vcpus: Int, memoryMB: Int, diskGB: Int)? = nil, websocketPorts: ClosedRange<Int> = 5700...5999,
            shutdownGrace: Duration = .seconds(60), killGrace: Duration = .seconds(5),
            launchTimeout: Duration = .seconds(30), volumeDetachTimeout: Duration = .seconds(120),
            volumeCopyTimeout: Duration = .seconds(3600)
        ) {
            self.instancesDirectory = dataDirectory + "/instances"
            self.imageCacheDirectory = dataDirectory + "/cache/base"
            self.qemuBinary = qemuBinary
            self.qemuImgBinary = qemuImgBinary
            self.genisoimageBinary = genisoimageBinary
            self.accelerator = accelerator
            self.machineType = machineType
            self.capacity = capacity
            self.websocketPorts = websocketPorts
            self.shutdownGrace = shutdownGrace
            self.killGrace = killGrace
            self.launchTimeout = launchTimeout
            self.volumeDetachTimeout = volumeDetachTimeout
            self.volumeCopyTimeout = volumeCopyTimeout
        }
    }

    let configuration: Configuration
    let logger: Logger
    /// One lock per instance (and per base image) for multi-step operations. The actor is
    /// re-entrant, so without it a `pause` could interleave with the awaits of a `suspend`
    /// on the same instance.
    let locks = KeyedLocks<String>()
    /// The last state `powerStates` saw, reported while an operation holds the instance.
    var lastKnownStates: [String: PowerState] = [:]
    /// The QEMU run state of each instance last seen crashed (`internal-error`, ...).
    var crashStates: [String: QEMU.RunState] = [:]
    /// The accelerator probe, started by the first caller that needs it.
    var acceleratorProbe: Task<QEMU.Accelerator, Never>?
    var cachedVersion: Int?
    /// The base images instances' root disks are made on, made on first use.
    var baseCache: QEMU.BaseImageCache?

    /// A driver using `configuration`. Nothing is touched until first use; binaries are
    /// checked when an operation needs them and missing ones are reported as `.failed`.
    public init(configuration: Configuration, logger: Logger = Logger(label: "updraft.compute.qemu")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The name QEMU runs under for instance `id`; how its process is recognised.
    static func processName(_ id: String) -> String {
        "updraft-" + id
    }

    /// Creates the instance directory, disks and config drive, then boots; on failure it
    /// stops what it started and removes everything it made.
    public func spawn(_ spec: InstanceSpec) async throws {
        try await locks.withLock(spec.id) {
            let files = try self.files(spec.id)
            if FileManager.default.fileExists(atPath: files.record) {
                if running(spec.id) != nil { return }
                throw HypervisorError.invalidState("instance \(spec.id) already exists on this host")
            }
            try await withUndoSteps(logger: logger) { undo in
                try FileManager.default.createDirectory(
                    atPath: files.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                // The disks, config drive and runtime files all live in the directory.
                undo.add("remove \(files.directory)") { try FileManager.default.removeItem(atPath: files.directory) }
                undo.add("stop the QEMU of \(spec.id)") { await self.hardStop(spec.id, files: files) }
                try await run("spawn \(spec.id)") {
                    var record = try await createDisks(for: spec, files: files, rootOnVolume: spec.rootVolume != nil)
                    try await launch(&record, files: files)
                }
            }
        }
    }

    /// Boots an instance from its existing disks with `spec`'s NICs and volumes (a volume
    /// keeps the PCI slot it had); a saved memory state is restored (as libvirt's managed
    /// save is). Booting a running instance succeeds.
    public func powerOn(_ spec: InstanceSpec) async throws {
        try await locks.withLock(spec.id) {
            let files = try self.files(spec.id)
            var record = try readRecord(spec.id)
            guard running(spec.id) == nil else { return }
            record.vcpus = spec.vcpus
            record.memoryMB = spec.memoryMB
            record.nics = spec.nics
            record.volumes = try slotted(spec.volumes, recorded: record.volumes ?? [], rootSlotFree: !record.hasLocalRoot)
            try await run("power on \(spec.id)") {
                if FileManager.default.fileExists(atPath: files.memoryState) {
                    try await restore(&record, files: files)
                } else {
                    try await launch(&record, files: files)
                }
            }
        }
    }

    /// ACPI power button, then `quit` and signals once `grace` has passed. Stopping a stopped
    /// instance succeeds.
    public func powerOff(_ id: String, grace: Duration) async throws {
        try await locks.withLock(id) {
            let files = try self.files(id)
            _ = try readRecord(id)
            await softStop(id, files: files, grace: grace)
        }
    }

    /// Soft: ACPI shutdown, wait up to the shutdown grace, boot again (a hard reboot if the
    /// guest does not go down), as Nova's libvirt driver does. Hard: destroy and boot again.
    public func reboot(_ id: String, hard: Bool) async throws {
        try await locks.withLock(id) {
            let files = try self.files(id)
            var record = try readRecord(id)
            if running(id) == nil && !hard {
                throw HypervisorError.invalidState("instance \(id) is not running; a soft reboot needs a running guest")
            }
            if hard {
                await hardStop(id, files: files)
            } else {
                await softStop(id, files: files, grace: configuration.shutdownGrace)
            }
            try? FileManager.default.removeItem(atPath: files.memoryState)
            try await run("reboot \(id)") { try await launch(&record, files: files) }
        }
    }

    /// QMP `stop`: vCPUs halt, memory stays. Pausing a paused instance succeeds.
    public func pause(_ id: String) async throws {
        try await locks.withLock(id) {
            _ = try readRecord(id)
            try await withMonitor(id, doing: "pause") { monitor in
                if try await monitor.status() != .paused {
                    try await monitor.stop()
                }
            }
        }
    }

    /// QMP `cont`. Unpausing a running instance succeeds.
    public func unpause(_ id: String) async throws {
        try await locks.withLock(id) {
            _ = try readRecord(id)
            try await withMonitor(id, doing: "unpause") { monitor in
                if try await monitor.status() != .running {
                    try await monitor.cont()
                }
            }
        }
    }

    /// Stops the vCPUs, saves memory and device state to `memory.state` and ends QEMU.
    /// Suspending a suspended instance succeeds.
    public func suspend(_ id: String) async throws {
        try await locks.withLock(id) {
            let files = try self.files(id)
            _ = try readRecord(id)
            guard running(id) != nil else {
                if FileManager.default.fileExists(atPath: files.memoryState) { return }
                throw HypervisorError.invalidState("instance \(id) is not running")
            }
            let partial = files.memoryState + ".partial"
            try await withMonitor(id, doing: "suspend") { monitor in
                try await monitor.saveMemory(toFile: partial)
            }
            try await run("suspend \(id)") {
                try FileManager.default.moveItem(atPath: partial, toPath: files.memoryState)
            }
            await hardStop(id, files: files)
        }
    }

    /// Boots from `memory.state` (`-incoming`), continues the vCPUs and deletes the file.
    /// The file is kept if the restore fails. Resuming a running instance succeeds.
    public func resume(_ spec: InstanceSpec) async throws {
        try await locks.withLock(spec.id) {
            let files = try self.files(spec.id)
            var record = try readRecord(spec.id)
            guard FileManager.default.fileExists(atPath: files.memoryState) else {
                if running(spec.id) != nil { return }
                throw HypervisorError.invalidState("instance \(spec.id) has no saved memory to resume from")
            }
            if running(spec.id) != nil {
                throw HypervisorError.invalidState("instance \(spec.id) is running and has saved memory")
            }
            // The saved device state has the NICs it had; only their taps may have moved.
            if let nics = record.nics, nics.map(\.portID) == spec.nics.map(\.portID) { record.nics = spec.nics }
            // Likewise its volumes, each at its recorded slot; only their files may have moved.
            if let volumes = record.volumes, Set(volumes.map(\.disk.volumeID)) == Set(spec.volumes.map(\.volumeID)) {
                record.volumes = try slotted(spec.volumes, recorded: volumes, rootSlotFree: false)
            }
            try await run("resume \(spec.id)") { try await restore(&record, files: files) }
        }
    }

    /// A standalone copy of the root disk. A running guest is paused for the copy (`stop`
    /// flushes its disk) and continued after, even if the copy fails. A root disk that is a
    /// volume is `.invalidState`: block storage snapshots it.
    public func snapshot(_ id: String, to path: String, format: String) async throws {
        try await locks.withLock(id) {
            let files = try self.files(id)
            guard try readRecord(id).hasLocalRoot else {
                throw HypervisorError.invalidState("instance \(id) boots from a volume and has no root disk of its own")
            }
            var pausedHere = false
            // Quiesced, as Nova does with an agent: the guest flushes and freezes its
            // filesystems before the copy and thaws them after.
            let agent = await frozenIfAgent(id, files: files)
            if running(id) != nil {
                try await withMonitor(id, doing: "snapshot") { monitor in
                    if try await monitor.status() == .running {
                        try await monitor.stop()
                        pausedHere = true
                    }
                }
            }
            var copyError: (any Error)?
            do {
                try await QEMU.Img(binary: configuration.qemuImgBinary)
                    .convert(from: files.disk, fromFormat: "qcow2", to: path, format: format)
            } catch {
                copyError = error
            }
            if pausedHere {
                try await withMonitor(id, doing: "continue after snapshot") { try await $0.cont() }
            }
            await thaw(agent, id)
            if let copyError {
                throw Self.hypervisorError(copyError, doing: "snapshot \(id)")
            }
        }
    }

    /// Volume snapshots of a volume-backed server, quiesced as its root disk's are. No
    /// instance lock is held while `body` runs: it snapshots the attached volumes through
    /// ``snapshotVolume(_:volumeID:to:)``, which takes it.
    public func quiesced<T: Sendable>(_ id: String, _ body: @Sendable () async throws -> T) async throws -> T {
        let agent = await frozenIfAgent(id, files: try files(id))
        do {
            let result = try await body()
            await thaw(agent, id)
            return result
        } catch {
            await thaw(agent, id)
            throw error
        }
    }

    /// The agent of a running guest whose image has one, once it has frozen the guest's
    /// filesystems; nil when the guest does not run or has no agent.
    func frozenIfAgent(_ id: String, files: InstanceFiles) async -> QEMU.GuestAgent? {
        guard running(id) != nil, (try? readRecord(id))?.guestAgent == true else { return nil }
        return await frozen(id, files: files)
    }

    /// Thaws what `agent` froze and closes it; a failure is logged.
    func thaw(_ agent: QEMU.GuestAgent?, _ id: String) async {
        guard let agent else { return }
        do {
            try await agent.thawFilesystems()
        } catch {
            logger.warning("guest filesystems not thawed", metadata: ["instance": "\(id)", "error": "\(error)"])
        }
        await agent.close()
    }

    /// The guest's agent once it has frozen the guest's filesystems; nil (an unquiesced
    /// snapshot, logged) when no agent answers or the freeze fails.
    func frozen(_ id: String, files: InstanceFiles) async -> QEMU.GuestAgent? {
        do {
            let agent = try await QEMU.GuestAgent.connect(
                socketPath: files.agentSocket, timeout: Self.agentTimeout, logger: logger)
            do {
                let count = try await agent.freezeFilesystems()
                logger.info("guest filesystems frozen for a snapshot", metadata: ["instance": "\(id)", "count": "\(count)"])
                return agent
            } catch {
                _ = try? await agent.thawFilesystems()
                await agent.close()
                throw error
            }
        } catch {
            logger.warning(
                "snapshot not quiesced: the guest agent did not freeze", metadata: ["instance": "\(id)", "error": "\(error)"])
            return nil
        }
    }

    /// Stops QEMU (verified by pid and name) and removes the instance directory; the shared
    /// base image and the volumes' files (block storage's) stay. Destroying an unknown
    /// instance succeeds.
    public func destroy(_ id: String) async throws {
        try await locks.withLock(id) {
            let files = try self.files(id)
            await hardStop(id, files: files)
            lastKnownStates[id] = nil
            try await run("destroy \(id)") {
                if FileManager.default.fileExists(atPath: files.directory) {
                    try FileManager.default.removeItem(atPath: files.directory)
                }
            }
        }
    }

    /// Grows the root disk to the flavor's size and records vCPUs and memory for the next
    /// boot (only those when the root disk is a volume). The instance must be stopped; a disk
    /// is never shrunk.
    public func resize(_ spec: InstanceSpec) async throws {
        try await locks.withLock(spec.id) {
            let files = try self.files(spec.id)
            var record = try readRecord(spec.id)
            guard running(spec.id) == nil else {
                throw HypervisorError.invalidState("instance \(spec.id) must be stopped to resize")
            }
            try await run("resize \(spec.id)") {
                if record.hasLocalRoot {
                    let img = try QEMU.Img(binary: configuration.qemuImgBinary)
                    let wanted = Int64(spec.rootGB) << 30
                    let current = try await img.info(path: files.disk, format: "qcow2").virtualSize
                    if wanted > current {
                        try await img.resize(path: files.disk, format: .qcow2, sizeBytes: wanted)
                    }
                    record.rootGB = spec.rootGB
                }
                record.vcpus = spec.vcpus
                record.memoryMB = spec.memoryMB
                try writeRecord(record, files: files)
            }
        }
    }

    /// Stops the instance, replaces its root disk (and config drive) with fresh ones for
    /// `spec`'s image, and boots it with the volumes it has. A root disk that is a volume is
    /// block storage's to reimage: only the config drive is made again.
    public func rebuild(_ spec: InstanceSpec) async throws {
        try await locks.withLock(spec.id) {
            let files = try self.files(spec.id)
            let old = try readRecord(spec.id)
            await softStop(spec.id, files: files, grace: configuration.shutdownGrace)
            try await run("rebuild \(spec.id)") {
                for path in [files.disk, files.configDrive, files.kernel, files.ramdisk, files.memoryState]
                where FileManager.default.fileExists(atPath: path) {
                    try FileManager.default.removeItem(atPath: path)
                }
                var record = try await createDisks(for: spec, files: files, rootOnVolume: !old.hasLocalRoot)
                record.websocketPort = old.websocketPort
                record.nics = old.nics ?? spec.nics
                record.volumes = old.volumes ?? record.volumes
                try await launch(&record, files: files)
            }
        }
    }

    /// Records the NIC for every later boot and, while QEMU runs, hands it the tap (QMP
    /// `getfd`) and plugs a virtio-net device on it. Attaching a port twice succeeds.
    public func attachInterface(_ id: String, _ nic: InstanceSpec.NIC) async throws {
        try await locks.withLock(id) {
            let files = try self.files(id)
            var record = try readRecord(id)
            if record.nics?.contains(where: { $0.portID == nic.portID }) == true { return }
            if running(id) != nil {
                let tap = try await openTaps([nic])[0]
                defer { close(tap) }
                let netdev = Self.netdevID(nic.portID)
                try await run("attach interface \(nic.portID) to \(id)") {
                    try await QEMU.passDescriptor(
                        tap, as: netdev, socketPath: files.qmpSocket,
                        then: [
                            ("netdev_add", ["type": "tap", "id": .string(netdev), "fd": .string(netdev)]),
                            (
                                "device_add",
                                [
                                    "driver": "virtio-net-pci", "netdev": .string(netdev), "mac": .string(nic.mac),
                                    "id": .string(netdev + "-device"),
                                ]
                            ),
                        ])
                }
            }
            record.nics = (record.nics ?? []) + [nic]
            try writeRecord(record, files: files)
        }
    }

    /// Unplugs the port's device and netdev from a running QEMU and drops it from the record.
    public func detachInterface(_ id: String, portID: String) async throws {
        try await locks.withLock(id) {
            let files = try self.files(id)
            var record = try readRecord(id)
            guard record.nics?.contains(where: { $0.portID == portID }) == true else { return }
            if running(id) != nil {
                let netdev = Self.netdevID(portID)
                try await withMonitor(id, doing: "detach interface \(portID) from") { monitor in
                    try await monitor.execute("device_del", arguments: ["id": .string(netdev + "-device")])
                    // The guest lets go of the device asynchronously; the netdev goes after it.
                    for _ in 0..<50 {
                        try await Task.sleep(for: .milliseconds(100))
                        if (try? await monitor.execute("netdev_del", arguments: ["id": .string(netdev)])) != nil { break }
                    }
                }
            }
            record.nics?.removeAll { $0.portID == portID }
            try writeRecord(record, files: files)
        }
    }

    /// `console.log` for `os-getConsoleOutput`: at most its last MiB.
    public func consoleOutput(_ id: String) async throws -> String {
        let files = try self.files(id)
        guard FileManager.default.fileExists(atPath: files.directory) else { throw HypervisorError.notFound(id) }
        guard let handle = FileHandle(forReadingAtPath: files.console) else { return "" }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        let window: UInt64 = 1 << 20
        try? handle.seek(toOffset: size > window ? size - window : 0)
        return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
    }

    /// The loopback websocket port of the instance's VNC server; the instance must be running.
    public func vncConsole(_ id: String) async throws -> VNCEndpoint {
        let record = try readRecord(id)
        guard running(id) != nil, let port = record.websocketPort else {
            throw HypervisorError.invalidState("instance \(id) is not running")
        }
        return VNCEndpoint(host: "127.0.0.1", port: port)
    }

    /// Kills (by verified pid) and deletes every instance on this host whose id is not in
    /// `known`: what a crash between creating an instance and recording it leaves behind.
    /// The compute service calls it at start with the ids the database holds. Returns the
    /// ids it removed.
    public func reapOrphans(known: Set<String>) async -> [String] {
        var removed: [String] = []
        for id in instanceIDs() where !known.contains(id) {
            do {
                try await destroy(id)
                removed.append(id)
                logger.notice("removed an instance the database does not know", metadata: ["instance": "\(id)"])
            } catch {
                logger.error("could not remove orphan instance", metadata: ["instance": "\(id)", "error": "\(error)"])
            }
        }
        return removed
    }
}
