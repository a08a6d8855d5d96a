import Foundation
import QEMU

#if canImport(Glibc)
    import Glibc
#endif

extension QEMUDriver {
    /// This host as `os-hypervisors` shows it: online CPUs, `MemTotal` from /proc/meminfo,
    /// the instances file system's size, hypervisor type `QEMU` and QEMU's version as libvirt
    /// encodes it (7.2.22 → 7002022).
    public func host() async throws -> HypervisorHost {
        let accelerator = await accelerator()
        var note: String?
        if case .tcg(let reason) = accelerator { note = reason }
        let capacity = configuration.capacity ?? Self.measureCapacity(configuration.instancesDirectory)
        return HypervisorHost(
            hostname: Self.hostname(), hypervisorType: "QEMU", hypervisorVersion: try await qemuVersion(),
            accelerator: accelerator.name, acceleratorNote: note, vcpus: capacity.vcpus, memoryMB: capacity.memoryMB,
            diskGB: capacity.diskGB)
    }

    /// `/proc/uptime` and `/proc/loadavg`: this machine's uptime and load; zeros for what
    /// cannot be read.
    public func uptime() async -> HostUptime {
        let seconds =
            (try? String(contentsOfFile: "/proc/uptime", encoding: .utf8))?.split(separator: " ").first
            .flatMap { Double($0) } ?? 0
        let loads =
            (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
            .compactMap { Double($0) } ?? []
        return HostUptime(seconds: seconds, loadAverages: loads.count == 3 ? loads : [0, 0, 0])
    }

    /// QEMU's version as major × 1,000,000 + minor × 1,000 + micro, read once.
    func qemuVersion() async throws -> Int {
        if let cachedVersion { return cachedVersion }
        let version = try await run("read the QEMU version") {
            try await QEMU.Process(binary: configuration.qemuBinary, logger: logger).version()
        }
        let encoded = version.major * 1_000_000 + version.minor * 1_000 + version.micro
        cachedVersion = encoded
        return encoded
    }

    static func measureCapacity(_ directory: String) -> (vcpus: Int, memoryMB: Int, diskGB: Int) {
        let vcpus = ProcessInfo.processInfo.activeProcessorCount
        var memoryMB = Int(ProcessInfo.processInfo.physicalMemory >> 20)
        if let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
            let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        {
            memoryMB = kilobytes / 1024
        }
        var diskGB = 0
        var stats = statvfs()
        var path = directory
        while statvfs(path, &stats) != 0, path != "/" {
            path = URL(fileURLWithPath: path).deletingLastPathComponent().path
        }
        if statvfs(path, &stats) == 0 {
            diskGB = Int((UInt64(stats.f_blocks) * UInt64(stats.f_frsize)) >> 30)
        }
        return (vcpus, memoryMB, diskGB)
    }

    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The power state of every instance directory: from QMP `query-status` when QEMU runs,
    /// `.suspended` when memory is saved and no process runs, `.shutdown` otherwise. An
    /// instance held by an operation reports what was last seen, so polling never queues
    /// behind a long reboot.
    public func powerStates() async throws -> [String: PowerState] {
        var states: [String: PowerState] = [:]
        for id in instanceIDs() {
            if locks.isHeld(id) {
                states[id] = lastKnownStates[id] ?? .noState
                continue
            }
            let state = await powerState(id)
            lastKnownStates[id] = state
            states[id] = state
        }
        return states
    }

    func powerState(_ id: String) async -> PowerState {
        guard let files = try? files(id) else { return .noState }
        guard running(id) != nil else {
            return FileManager.default.fileExists(atPath: files.memoryState) ? .suspended : .shutdown
        }
        do {
            let state = try await withMonitor(id, doing: "query status") { try await $0.status() }
            if state == .internalError, await fallBackFromKVM(id, files: files) { return .running }
            crashStates[id] = Self.powerState(state) == .crashed ? state : nil
            return Self.powerState(state)
        } catch {
            logger.warning("no QMP status", metadata: ["instance": "\(id)", "error": "\(error)"])
            return .noState
        }
    }

    /// Nova's power state for a QEMU run state, as libvirt maps them.
    static func powerState(_ state: QEMU.RunState) -> PowerState {
        switch state {
        case .running: .running
        case .paused, .prelaunch, .inMigrate, .postMigrate, .finishMigrate, .saveVM, .restoreVM, .debug, .watchdog,
            .colo:
            .paused
        case .suspended: .suspended
        case .shutdown: .shutdown
        case .guestPanicked, .internalError, .ioError: .crashed
        case .other: .noState
        }
    }

    /// QEMU's run state for a crashed guest, what it means, and the last lines QEMU wrote
    /// since it was launched (its `KVM internal error ...` and the like).
    public func crashReason(_ id: String) async -> String? {
        guard let state = crashStates[id], let files = try? files(id) else { return nil }
        let meaning =
            switch state {
            case .internalError: "the hypervisor could not go on running the guest's vCPUs"
            case .guestPanicked: "the guest's kernel panicked"
            case .ioError: "a disk write failed on the host"
            default: "the guest stopped"
            }
        var message = "QEMU stopped the guest (run state \(state)): \(meaning)."
        if let said = Self.wordsSinceLaunch(files.launchLog) {
            message += " QEMU said: \(said)"
        }
        return message
    }

    /// The last lines of `launch.log` after its latest `launching` line, joined, if any.
    static func wordsSinceLaunch(_ path: String, lines: Int = 3) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let all = String(decoding: data, as: UTF8.self).split(separator: "\n")
        let start = all.lastIndex { $0.contains(" launching ") }.map { all.index(after: $0) } ?? all.startIndex
        let said = all[start...].map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.suffix(lines)
        return said.isEmpty ? nil : said.joined(separator: " | ")
    }
}
