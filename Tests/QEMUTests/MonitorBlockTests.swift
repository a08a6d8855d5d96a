import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import QEMU

@Suite("QMP block helpers against a stub QEMU")
struct MonitorBlockTests {
    static let volume = QEMU.MachineConfiguration.Volume(
        nodeName: "vol1", path: "/v/1.qcow2", format: .qcow2, serial: "1", slot: 0x10)

    @Test("plug adds the node and the device at the volume's slot; plugging again does nothing")
    func plug() async throws {
        let qemu = StubBlockQEMU()
        try await qemu.serve { monitor in
            try await monitor.plug(Self.volume)
            try await monitor.plug(Self.volume)
        }
        #expect(qemu.state.withLock { $0.nodes.keys.sorted() } == ["vol1"])
        #expect(qemu.state.withLock { $0.devices } == ["vol1-device": "vol1"])
        #expect(qemu.changes == ["blockdev-add vol1", "device_add vol1-device 0x10"])
    }

    @Test("a device that cannot be added takes its node away again")
    func plugRollback() async throws {
        let qemu = StubBlockQEMU()
        qemu.state.withLock { $0.occupiedSlots = ["0x10"] }
        await #expect(throws: QEMU.Error.qmp(class: "GenericError", description: "PCI: slot 16 function 0 not available")) {
            try await qemu.serve { try await $0.plug(Self.volume) }
        }
        #expect(qemu.state.withLock { $0.nodes.isEmpty && $0.devices.isEmpty })
        #expect(qemu.changes == ["blockdev-add vol1", "blockdev-del vol1"])
    }

    @Test("unplug waits until the guest released the device, then deletes the node")
    func unplug() async throws {
        let qemu = StubBlockQEMU()
        qemu.state.withLock { $0.releaseAfterPolls = 3 }
        try await qemu.serve { monitor in
            try await monitor.plug(Self.volume)
            try await monitor.unplug(Self.volume, timeout: .seconds(10))
            try await monitor.unplug(Self.volume, timeout: .seconds(10))
        }
        #expect(qemu.state.withLock { $0.nodes.isEmpty && $0.devices.isEmpty })
        #expect(qemu.changes.suffix(2) == ["device_del vol1-device", "blockdev-del vol1"])
    }

    @Test("a guest that never releases the device times the unplug out and keeps node and device")
    func unplugTimeout() async throws {
        let qemu = StubBlockQEMU()
        qemu.state.withLock { $0.releaseAfterPolls = nil }
        await #expect(throws: QEMU.Error.timeout("the guest did not release device vol1-device within 0.3 seconds")) {
            try await qemu.serve { monitor in
                try await monitor.plug(Self.volume)
                try await monitor.unplug(Self.volume, timeout: .milliseconds(300))
            }
        }
        #expect(qemu.state.withLock { $0.nodes.keys.sorted() == ["vol1"] && $0.devices.count == 1 })
    }

    @Test("a crashed guest's unplug fails at once with its state, before any device_del")
    func unplugCrashed() async throws {
        let qemu = StubBlockQEMU()
        qemu.state.withLock { $0.releaseAfterPolls = nil }
        await #expect(throws: QEMU.Error.guestCrashed(.internalError)) {
            try await qemu.serve { monitor in
                try await monitor.plug(Self.volume)
                qemu.state.withLock { $0.runState = "internal-error" }
                try await monitor.unplug(Self.volume, timeout: .seconds(60))
            }
        }
        #expect(qemu.changes == ["blockdev-add vol1", "device_add vol1-device 0x10"])
    }

    @Test("a backup opens the target, runs a full job to its end, dismisses it and closes the target")
    func backup() async throws {
        let qemu = StubBlockQEMU()
        try await qemu.serve { monitor in
            try await monitor.plug(Self.volume)
            try await monitor.backup(
                nodeName: "vol1", to: "/s/snap.qcow2", format: .qcow2, targetNodeName: "bak1", timeout: .seconds(10))
        }
        #expect(
            qemu.changes == [
                "blockdev-add vol1", "device_add vol1-device 0x10", "blockdev-add bak1",
                "blockdev-backup bak1 vol1->bak1 full auto-dismiss=false", "job-dismiss bak1", "blockdev-del bak1",
            ])
    }

    @Test("a failed backup job throws its error and still closes the target")
    func backupFailure() async throws {
        let qemu = StubBlockQEMU()
        qemu.state.withLock { $0.jobError = "No space left on device" }
        await #expect(throws: QEMU.Error.qmp(class: "JobFailed", description: "No space left on device")) {
            try await qemu.serve { monitor in
                try await monitor.plug(Self.volume)
                try await monitor.backup(
                    nodeName: "vol1", to: "/s/snap.qcow2", format: .qcow2, targetNodeName: "bak1", timeout: .seconds(10))
            }
        }
        #expect(qemu.state.withLock { $0.nodes.keys.sorted() == ["vol1"] && $0.jobs.isEmpty })
        #expect(qemu.changes.last == "blockdev-del bak1")
    }
}

/// A QEMU reduced to its block layer: named nodes, devices that use them, a guest that
/// releases an unplugged device after a few polls (or never), and backup jobs that conclude
/// after two polls. `changes` lists every command that changed something, in order.
private final class StubBlockQEMU: Sendable {
    struct State {
        var nodes: [String: Int64] = [:]
        var devices: [String: String] = [:]
        var unplugging: [String: Int] = [:]
        var jobs: [String: (polls: Int, concluded: Bool)] = [:]
        var occupiedSlots: Set<String> = []
        /// Polls of the device list until the guest lets go of an unplugged device; nil: never.
        var releaseAfterPolls: Int? = 1
        /// What `query-status` says.
        var runState = "running"
        var jobError: String?
        var changes: [String] = []
    }

    let state = Mutex(State())

    var changes: [String] { state.withLock { $0.changes } }

    /// Runs `body` on a monitor connected to this stub over a fresh Unix socket.
    func serve(_ body: (QEMU.Monitor) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "qmp-block-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("qmp.sock").path
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StubBlockHandler(qemu: self))
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        do {
            let monitor = try await QEMU.Monitor.connect(socketPath: path, timeout: .seconds(5))
            do {
                try await body(monitor)
            } catch {
                await monitor.close()
                throw error
            }
            await monitor.close()
        } catch {
            try? await server.close()
            throw error
        }
        try? await server.close()
    }

    /// The answer to one command: `return` or `error` (with its description).
    func answer(_ command: String, _ arguments: QEMU.JSON) -> Result<QEMU.JSON, StubError> {
        state.withLock { state in
            func string(_ key: String) -> String { arguments[key]?.string ?? "" }
            switch command {
            case "qmp_capabilities":
                return .success([:])
            case "query-status":
                return .success(["status": .string(state.runState), "running": .bool(state.runState == "running")])
            case "query-named-block-nodes":
                return .success(
                    .array(state.nodes.map { ["node-name": .string($0.key), "image": ["virtual-size": .int($0.value)]] }))
            case "qom-list":
                for (id, polls) in state.unplugging {
                    guard let release = state.releaseAfterPolls else { continue }
                    if polls + 1 >= release {
                        state.devices[id] = nil
                        state.unplugging[id] = nil
                    } else {
                        state.unplugging[id] = polls + 1
                    }
                }
                let children = state.devices.keys.map {
                    QEMU.JSON.object(["name": .string($0), "type": "child<virtio-blk-pci>"])
                }
                return .success(.array([["name": "type", "type": "string"]] + children))
            case "blockdev-add":
                let name = string("node-name")
                guard state.nodes[name] == nil else { return .failure(StubError("Duplicate nodes with node-name='\(name)'")) }
                state.nodes[name] = 1 << 30
                state.changes.append("blockdev-add \(name)")
                return .success([:])
            case "blockdev-del":
                let name = string("node-name")
                guard state.nodes[name] != nil else { return .failure(StubError("Failed to find node with node-name='\(name)'")) }
                guard !state.devices.values.contains(name) else { return .failure(StubError("Node \(name) is in use")) }
                state.nodes[name] = nil
                state.changes.append("blockdev-del \(name)")
                return .success([:])
            case "device_add":
                let addr = string("addr")
                guard !state.occupiedSlots.contains(addr) else {
                    return .failure(StubError("PCI: slot \(Int(addr.dropFirst(2), radix: 16) ?? -1) function 0 not available"))
                }
                state.devices[string("id")] = string("drive")
                state.changes.append("device_add \(string("id")) \(addr)")
                return .success([:])
            case "device_del":
                guard state.devices[string("id")] != nil else { return .failure(StubError("Device '\(string("id"))' not found")) }
                state.unplugging[string("id")] = 0
                state.changes.append("device_del \(string("id"))")
                return .success([:])
            case "blockdev-backup":
                let job = string("job-id")
                state.jobs[job] = (0, false)
                state.changes.append(
                    "blockdev-backup \(job) \(string("device"))->\(string("target")) \(string("sync")) "
                        + "auto-dismiss=\(arguments["auto-dismiss"]?.bool.map(String.init) ?? "default")")
                return .success([:])
            case "query-jobs":
                var list: [QEMU.JSON] = []
                for (id, job) in state.jobs {
                    let concluded = job.concluded || job.polls >= 2
                    state.jobs[id] = (job.polls + 1, concluded)
                    var entry: [String: QEMU.JSON] = [
                        "id": .string(id), "type": "backup", "status": concluded ? "concluded" : "running",
                        "current-progress": .int(concluded ? 1 << 30 : 0), "total-progress": .int(1 << 30),
                    ]
                    if concluded, let error = state.jobError { entry["error"] = .string(error) }
                    list.append(.object(entry))
                }
                return .success(.array(list))
            case "job-dismiss":
                guard state.jobs.removeValue(forKey: string("id")) != nil else { return .failure(StubError("Job not found")) }
                state.changes.append("job-dismiss \(string("id"))")
                return .success([:])
            case "job-cancel":
                guard state.jobs[string("id")] != nil else { return .failure(StubError("Job not found")) }
                state.jobs[string("id")]?.concluded = true
                state.changes.append("job-cancel \(string("id"))")
                return .success([:])
            default:
                return .failure(StubError("The command \(command) has not been found"))
            }
        }
    }
}

private struct StubError: Error {
    var description: String
    init(_ description: String) { self.description = description }
}

private final class StubBlockHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let qemu: StubBlockQEMU
    private var pending = Data()

    init(qemu: StubBlockQEMU) {
        self.qemu = qemu
    }

    func channelActive(context: ChannelHandlerContext) {
        send(
            #"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}"#, context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending.append(contentsOf: Self.unwrapInboundIn(data).readableBytesView)
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = pending[pending.startIndex..<newline]
            pending = Data(pending[(newline + 1)...])
            guard let message = try? QEMU.JSON.parse(Data(line)), let command = message["execute"]?.string else { continue }
            var reply: [String: QEMU.JSON] = ["id": message["id"] ?? .null]
            switch qemu.answer(command, message["arguments"] ?? [:]) {
            case .success(let value): reply["return"] = value
            case .failure(let error): reply["error"] = ["class": "GenericError", "desc": .string(error.description)]
            }
            guard let bytes = try? QEMU.JSON.object(reply).serialized() else { continue }
            send(String(decoding: bytes, as: UTF8.self), context)
        }
    }

    private func send(_ line: String, _ context: ChannelHandlerContext) {
        context.writeAndFlush(Self.wrapOutboundOut(context.channel.allocator.buffer(string: line + "\r\n")), promise: nil)
    }
}
