import Foundation

/// A driver that runs nothing: instances are entries in memory that change state at once
/// (or after `delay`). For fast tests and scale simulation only, never the default.
public actor FakeDriver: HypervisorDriver {
    public struct Configuration: Sendable {
        public var hostname = "fake-host"
        public var vcpus = 8192
        public var memoryMB = 4 * 1024 * 1024
        public var diskGB = 100_000
        /// How long each operation takes.
        public var delay: Duration = .zero

        public init() {}
    }

    private struct Entry {
        var spec: InstanceSpec
        var state: PowerState
        var console: String
    }

    public let configuration: Configuration
    private var instances: [String: Entry] = [:]
    private var crashReasons: [String: String] = [:]
    /// The running instances ``quiesced(_:_:)`` was asked to freeze, in order.
    public private(set) var quiescings: [String] = []

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    public func host() async throws -> HypervisorHost {
        HypervisorHost(
            hostname: configuration.hostname, hypervisorType: "fake", hypervisorVersion: 1000, accelerator: "none",
            acceleratorNote: "fake driver: nothing runs", vcpus: configuration.vcpus, memoryMB: configuration.memoryMB,
            diskGB: configuration.diskGB)
    }

    /// Always the same: up for a day, idle.
    public func uptime() async -> HostUptime {
        HostUptime(seconds: 86_400, loadAverages: [0, 0, 0])
    }

    private func pause() async throws {
        if configuration.delay > .zero { try await Task.sleep(for: configuration.delay) }
    }

    private func entry(_ id: String) throws -> Entry {
        guard let entry = instances[id] else { throw HypervisorError.notFound("fake instance \(id) does not exist") }
        return entry
    }

    private func set(_ id: String, _ state: PowerState) throws {
        var e = try entry(id)
        e.state = state
        instances[id] = e
    }

    public func spawn(_ spec: InstanceSpec) async throws {
        try await pause()
        instances[spec.id] = Entry(
            spec: spec, state: .running, console: "UPDRAFT-GUEST-READY instance-id=\(spec.id)\n")
    }

    public func powerOn(_ spec: InstanceSpec) async throws {
        try await pause()
        var e = try entry(spec.id)
        e.spec = spec
        e.state = .running
        instances[spec.id] = e
    }

    public func powerOff(_ id: String, grace: Duration) async throws {
        try await pause()
        try set(id, .shutdown)
    }

    public func reboot(_ id: String, hard: Bool) async throws {
        try await pause()
        try set(id, .running)
    }

    public func pause(_ id: String) async throws {
        guard try entry(id).state == .running else { throw HypervisorError.invalidState("instance \(id) is not running") }
        try set(id, .paused)
    }

    public func unpause(_ id: String) async throws {
        guard try entry(id).state == .paused else { throw HypervisorError.invalidState("instance \(id) is not paused") }
        try set(id, .running)
    }

    public func suspend(_ id: String) async throws {
        try await pause()
        try set(id, .suspended)
    }

    public func resume(_ spec: InstanceSpec) async throws {
        try await pause()
        try set(spec.id, .running)
    }

    public func snapshot(_ id: String, to path: String, format: String) async throws {
        if try entry(id).spec.rootVolume != nil {
            throw HypervisorError.invalidState("instance \(id) boots from a volume and has no root disk of its own")
        }
        guard FileManager.default.createFile(atPath: path, contents: Data("fake disk of \(id)\n".utf8)) else {
            throw HypervisorError.failed("cannot write \(path)")
        }
    }

    public func destroy(_ id: String) async throws {
        instances[id] = nil
    }

    public func resize(_ spec: InstanceSpec) async throws {
        var e = try entry(spec.id)
        e.spec = spec
        instances[spec.id] = e
    }

    /// Replaces the entry with `spec`, keeping the volumes the instance has.
    public func rebuild(_ spec: InstanceSpec) async throws {
        try await pause()
        var spec = spec
        if let old = instances[spec.id] { spec.volumes = old.spec.volumes }
        instances[spec.id] = Entry(spec: spec, state: .running, console: "UPDRAFT-GUEST-READY instance-id=\(spec.id)\n")
    }

    public func attachInterface(_ id: String, _ nic: InstanceSpec.NIC) async throws {
        var e = try entry(id)
        e.spec.nics.append(nic)
        instances[id] = e
    }

    public func detachInterface(_ id: String, portID: String) async throws {
        var e = try entry(id)
        e.spec.nics.removeAll { $0.portID == portID }
        instances[id] = e
    }

    /// The NICs instance `id` has now (for tests).
    public func nics(_ id: String) throws -> [InstanceSpec.NIC] {
        try entry(id).spec.nics
    }

    /// Records the volume; attaching it twice succeeds.
    public func attachVolume(_ id: String, _ volume: VolumeDisk) async throws {
        var e = try entry(id)
        if !e.spec.volumes.contains(where: { $0.volumeID == volume.volumeID }) { e.spec.volumes.append(volume) }
        instances[id] = e
    }

    /// Drops the volume from the record; an unknown volume succeeds.
    public func detachVolume(_ id: String, volumeID: String) async throws {
        var e = try entry(id)
        e.spec.volumes.removeAll { $0.volumeID == volumeID }
        instances[id] = e
    }

    /// True (as a running hypervisor grows it) when the instance runs or is paused and has the
    /// volume; the fake holds no bytes, so nothing else changes.
    public func resizeVolume(_ id: String, volumeID: String, sizeBytes: Int64) async throws -> Bool {
        try isLive(id, with: volumeID)
    }

    /// When the instance runs or is paused and has the volume, writes a small stand-in file at
    /// `path` and returns true; otherwise false with nothing written.
    public func snapshotVolume(_ id: String, volumeID: String, to path: String) async throws -> Bool {
        guard try isLive(id, with: volumeID) else { return false }
        guard FileManager.default.createFile(atPath: path, contents: Data("fake volume \(volumeID)\n".utf8)) else {
            throw HypervisorError.failed("cannot write \(path)")
        }
        return true
    }

    /// Runs `body`; a running instance is recorded in ``quiescings`` first.
    public func quiesced<T: Sendable>(_ id: String, _ body: @Sendable () async throws -> T) async throws -> T {
        if instances[id]?.state == .running { quiescings.append(id) }
        return try await body()
    }

    private func isLive(_ id: String, with volumeID: String) throws -> Bool {
        let e = try entry(id)
        return [.running, .paused].contains(e.state) && e.spec.volumes.contains { $0.volumeID == volumeID }
    }

    /// The volumes instance `id` has now (for tests).
    public func volumes(_ id: String) throws -> [VolumeDisk] {
        try entry(id).spec.volumes
    }

    /// The spec instance `id` was last booted with (for tests).
    public func spec(_ id: String) throws -> InstanceSpec {
        try entry(id).spec
    }

    public func powerStates() async throws -> [String: PowerState] {
        instances.mapValues(\.state)
    }

    public func consoleOutput(_ id: String) async throws -> String {
        try entry(id).console
    }

    public func vncConsole(_ id: String) async throws -> VNCEndpoint {
        _ = try entry(id)
        return VNCEndpoint(host: "127.0.0.1", port: 5700)
    }

    public func reapOrphans(known: Set<String>) async -> [String] {
        let orphans = instances.keys.filter { !known.contains($0) }
        for id in orphans { instances[id] = nil }
        return orphans.sorted()
    }

    /// Makes the guest die (its process gone, `.shutdown`) or, with a reason, stop as a
    /// QEMU does on `internal-error` (`.crashed`, reported by ``crashReason(_:)``).
    public func crash(_ id: String, reason: String? = nil) throws {
        try set(id, reason == nil ? .shutdown : .crashed)
        crashReasons[id] = reason
    }

    public func crashReason(_ id: String) async -> String? {
        crashReasons[id]
    }

    /// Nothing runs, so no guest has used CPU time the host could report.
    public func cpuSeconds(_ id: String) async -> Double? {
        nil
    }
}
