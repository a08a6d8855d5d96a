import Foundation
import LinuxNet
import QEMU

#if canImport(Glibc)
    import Glibc
#endif

extension QEMUDriver {
    /// The QEMU command line for `record`, optionally restoring saved memory: the root disk
    /// (none when it is a volume), the config drive, the volumes at their slots, the NICs.
    func machine(
        for record: InstanceRecord, files: InstanceFiles, accelerator: QEMU.Accelerator, incoming: Bool
    ) throws -> QEMU.MachineConfiguration {
        var disks: [QEMU.MachineConfiguration.Disk] = []
        if record.hasLocalRoot {
            disks.append(.init(path: files.disk, format: .qcow2))
        }
        if record.hasConfigDrive {
            disks.append(.configDrive(path: files.configDrive))
        }
        var kernelBoot: QEMU.MachineConfiguration.DirectKernelBoot?
        if record.hasKernel {
            let append = ["root=/dev/vda console=ttyS0", record.commandLine].compactMap { $0 }.joined(separator: " ")
            kernelBoot = .init(kernel: files.kernel, initrd: record.hasRamdisk ? files.ramdisk : nil, append: append)
        }
        var machine = QEMU.MachineConfiguration(
            name: Self.processName(record.id), uuid: record.id, vcpus: record.vcpus, memoryMiB: record.memoryMB,
            accelerator: accelerator, machineType: configuration.machineType, disks: disks,
            volumes: try (record.volumes ?? []).map(Self.machineVolume), kernelBoot: kernelBoot,
            serialLogPath: files.console, qmpSocketPath: files.qmpSocket, pidFilePath: files.pidFile,
            vnc: record.websocketPort.map { .init(socketPath: files.vncSocket, websocketPort: $0) },
            incomingStateFile: incoming ? files.memoryState : nil)
        machine.operatorSocketPath = files.operatorSocket
        if record.guestAgent == true { machine.guestAgentSocketPath = files.agentSocket }
        machine.logPath = files.qemuLog
        // The taps reach QEMU as descriptors 3, 4, ... in the record's order.
        machine.nics = (record.nics ?? []).enumerated().map { index, nic in
            QEMU.MachineConfiguration.NIC(tap: .descriptor(Int32(3 + index)), mac: nic.mac, id: Self.netdevID(nic.portID))
        }
        return machine
    }

    /// The QEMU netdev id of a port's NIC (its device is `<id>-device`).
    static func netdevID(_ portID: String) -> String {
        "port-" + portID.prefix(8)
    }

    /// Opens the taps of `nics` in their namespaces; closes the ones opened when one fails.
    func openTaps(_ nics: [InstanceSpec.NIC]) async throws -> [Int32] {
        var descriptors: [Int32] = []
        do {
            for nic in nics { descriptors.append(try await LinuxNet.openTap(nic.tap, in: nic.namespace)) }
        } catch {
            for descriptor in descriptors { close(descriptor) }
            throw HypervisorError.failed("open the taps: \(error)")
        }
        return descriptors
    }

    /// Starts QEMU for `record` (a no-op if it runs), giving it a free websocket port first
    /// if its recorded one is gone, and saves the record. A launch that fails while its port
    /// has been taken since it was checked (another cloud on the machine started a guest at
    /// the same moment) is tried again on another port.
    @discardableResult
    func launch(_ record: inout InstanceRecord, files: InstanceFiles, incoming: Bool = false) async throws -> Int32 {
        if let pid = running(record.id) { return pid }
        var attempt = 1
        while true {
            if record.websocketPort.map({ !Self.portIsFree($0) }) ?? true {
                record.websocketPort = try allocatePort(for: record.id)
            }
            try writeRecord(record, files: files)
            do {
                return try await launchOnce(record, files: files, incoming: incoming)
            } catch QEMU.Error.launch(let log) {
                guard attempt < 3, let port = record.websocketPort, !Self.portIsFree(port) else {
                    throw QEMU.Error.launch(log)
                }
                logger.notice(
                    "websocket port taken while QEMU started; trying another",
                    metadata: ["instance": "\(record.id)", "port": "\(port)"])
                attempt += 1
            }
        }
    }

    private func launchOnce(_ record: InstanceRecord, files: InstanceFiles, incoming: Bool) async throws -> Int32 {
        let process = try QEMU.Process(binary: configuration.qemuBinary, logger: logger)
        let accelerator = await accelerator()
        let taps = try await openTaps(record.nics ?? [])
        // QEMU holds its own copies once started; ours close either way.
        defer { for tap in taps { close(tap) } }
        return try await process.launch(
            try machine(for: record, files: files, accelerator: accelerator, incoming: incoming), logFile: files.launchLog,
            descriptors: taps, timeout: configuration.launchTimeout)
    }

    /// Boots from `memory.state`, waits for the state to load, continues and deletes the file.
    func restore(_ record: inout InstanceRecord, files: InstanceFiles) async throws {
        try await launch(&record, files: files, incoming: true)
        let monitor = try await QEMU.Monitor.connect(socketPath: files.qmpSocket, logger: logger)
        do {
            if try await monitor.waitForIncoming() != .running {
                try await monitor.cont()
            }
            await monitor.close()
        } catch {
            await monitor.close()
            throw error
        }
        try FileManager.default.removeItem(atPath: files.memoryState)
    }

    /// The user and system time of the guest's QEMU process, from `/proc/<pid>/stat`.
    public func cpuSeconds(_ id: String) async -> Double? {
        guard let pid = running(id),
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After the command name: state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The pid of instance `id`'s QEMU if it runs (pid file, live, and named `updraft-<id>`).
    func running(_ id: String) -> Int32? {
        guard let files = try? files(id), let data = FileManager.default.contents(atPath: files.pidFile),
            let pid = Int32(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
            QEMU.Process.isAlive(pid: pid, name: Self.processName(id))
        else { return nil }
        return pid
    }

    /// Runs `body` on a fresh QMP connection to instance `id` and closes it after. A
    /// stopped instance is `.invalidState`.
    func withMonitor<T>(_ id: String, doing what: String, _ body: (QEMU.Monitor) async throws -> T) async throws -> T {
        guard running(id) != nil else {
            throw HypervisorError.invalidState("instance \(id) is not running")
        }
        let files = try files(id)
        return try await run("\(what) \(id)") {
            let monitor = try await QEMU.Monitor.connect(socketPath: files.qmpSocket, timeout: .seconds(5), logger: logger)
            do {
                let result = try await body(monitor)
                await monitor.close()
                return result
            } catch {
                await monitor.close()
                throw error
            }
        }
    }

    /// The guest agent's shutdown when the guest has an agent that answers, else the ACPI
    /// power button; up to `grace` for the guest to go down, then a hard stop.
    func softStop(_ id: String, files: InstanceFiles, grace: Duration) async {
        guard let pid = running(id) else { return }
        if (try? readRecord(id))?.guestAgent == true, await agentShutdown(id, files: files) {
            if await QEMU.Process.waitForExit(pid: pid, name: Self.processName(id), timeout: grace) {
                try? FileManager.default.removeItem(atPath: files.pidFile)
                return
            }
            logger.info("guest did not power off through its agent; stopping it", metadata: ["instance": "\(id)"])
            await hardStop(id, files: files)
            return
        }
        do {
            // A guest still booting has no ACPI handler yet: ask again every few seconds,
            // as Nova's libvirt driver does, until the grace runs out.
            let deadline = ContinuousClock.now + grace
            while ContinuousClock.now < deadline {
                // A crashed guest answers no power button: it is stopped at once.
                let state = try await withMonitor(id, doing: "power down") { monitor in
                    let state = try await monitor.status()
                    if !state.crashed { try await monitor.systemPowerdown() }
                    return state
                }
                if state.crashed {
                    logger.info("guest had crashed (\(state)); stopping it", metadata: ["instance": "\(id)"])
                    if state == .internalError { _ = await switchToTCG(afterKVMStopped: id, files: files) }
                    break
                }
                let wait = min(Self.powerdownRetry, deadline - ContinuousClock.now)
                if await QEMU.Process.waitForExit(pid: pid, name: Self.processName(id), timeout: wait) {
                    try? FileManager.default.removeItem(atPath: files.pidFile)
                    return
                }
            }
            logger.info("guest ignored the ACPI shutdown; stopping it", metadata: ["instance": "\(id)"])
        } catch {
            logger.warning("ACPI shutdown failed", metadata: ["instance": "\(id)", "error": "\(error)"])
        }
        await hardStop(id, files: files)
    }

    /// Asks the guest's agent to power the guest off; false when no agent answers (not
    /// installed, not started yet, or a guest that is not running), so ACPI is used instead.
    func agentShutdown(_ id: String, files: InstanceFiles) async -> Bool {
        do {
            let agent = try await QEMU.GuestAgent.connect(
                socketPath: files.agentSocket, timeout: Self.agentTimeout, logger: logger)
            try await agent.shutdown()
            await agent.close()
            logger.info("guest asked to power off through its agent", metadata: ["instance": "\(id)"])
            return true
        } catch {
            logger.info("guest agent did not answer; using ACPI", metadata: ["instance": "\(id)", "error": "\(error)"])
            return false
        }
    }

    /// How long the guest agent has to answer before a stop or a snapshot goes on without it.
    static let agentTimeout: Duration = .seconds(3)

    /// How often an ACPI power-button press is repeated while a guest has not powered off.
    static let powerdownRetry: Duration = .seconds(3)

    /// QMP `quit`, then SIGTERM and SIGKILL by verified pid if QEMU is still there.
    func hardStop(_ id: String, files: InstanceFiles) async {
        guard let pid = running(id) else { return }
        let name = Self.processName(id)
        try? await withMonitor(id, doing: "quit") { try await $0.quit() }
        if !(await QEMU.Process.waitForExit(pid: pid, name: name, timeout: configuration.killGrace)) {
            await QEMU.Process.terminate(pid: pid, name: name, grace: configuration.killGrace)
        }
        try? FileManager.default.removeItem(atPath: files.pidFile)
    }

    /// Runs `body`, turning any failure that is not already a ``HypervisorError`` into
    /// `.failed` naming the operation.
    @discardableResult
    func run<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw Self.hypervisorError(error, doing: operation)
        }
    }

    static func hypervisorError(_ error: any Error, doing operation: String) -> HypervisorError {
        if let error = error as? HypervisorError { return error }
        return .failed("\(operation): \(error)")
    }

    /// A port in the configured range no instance has recorded and nothing listens on. The
    /// search starts at a random place in the range, so two clouds on one machine seldom
    /// reach for the same port at the same moment.
    func allocatePort(for id: String) throws -> Int {
        var taken = Set<Int>()
        for other in instanceIDs() where other != id {
            if let port = try? readRecord(other).websocketPort { taken.insert(port) }
        }
        let range = configuration.websocketPorts
        let start = Int.random(in: range)
        for port in Array(start...range.upperBound) + Array(range.lowerBound..<start)
        where !taken.contains(port) && Self.portIsFree(port) {
            return port
        }
        throw HypervisorError.failed("no free websocket VNC port in \(configuration.websocketPorts)")
    }

    /// Whether a listener could bind 127.0.0.1:`port` now.
    static func portIsFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }
}
