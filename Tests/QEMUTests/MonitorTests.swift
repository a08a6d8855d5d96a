import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import QEMU

@Suite("QMP monitor against a stub server")
struct MonitorTests {
    @Test("connect reads the greeting and negotiates capabilities")
    func greeting() async throws {
        try await withStubServer { path in
            let monitor = try await QEMU.Monitor.connect(socketPath: path, timeout: .seconds(5))
            #expect(monitor.version.major == 7 && monitor.version.minor == 2)
            #expect(try await monitor.status() == .paused)
            await monitor.close()
        }
    }

    @Test("answers are matched by id even when they arrive out of order, with events in between")
    func outOfOrder() async throws {
        try await withStubServer { path in
            let monitor = try await QEMU.Monitor.connect(socketPath: path, timeout: .seconds(5))
            async let slow = monitor.execute("slow")
            try await Task.sleep(for: .milliseconds(100))
            let fast = try await monitor.execute("fast")
            #expect(fast == ["which": "fast"])
            #expect(try await slow == ["which": "slow"])
            #expect(try await monitor.status() == .paused)
            var iterator = monitor.events.makeAsyncIterator()
            let event = await iterator.next()
            #expect(event?.name == "STOP")
            #expect(event?.timestamp == 1_700_000_000.5)
            await monitor.close()
        }
    }

    @Test("an error answer becomes QEMU.Error.qmp with its class and description")
    func errorAnswer() async throws {
        try await withStubServer { path in
            let monitor = try await QEMU.Monitor.connect(socketPath: path, timeout: .seconds(5))
            await #expect(throws: QEMU.Error.qmp(class: "CommandNotFound", description: "The command nope has not been found")) {
                try await monitor.execute("nope")
            }
            await monitor.close()
        }
    }

    @Test("a command with no answer times out, and a closed socket fails waiters with processExited")
    func timeoutAndClose() async throws {
        try await withStubServer { path in
            let monitor = try await QEMU.Monitor.connect(socketPath: path, timeout: .seconds(5))
            await #expect(throws: QEMU.Error.timeout("QMP slow got no answer within 0.2 seconds")) {
                try await monitor.execute("slow", timeout: .milliseconds(200))
            }
            await #expect(throws: QEMU.Error.processExited) {
                try await monitor.execute("hangup")
            }
        }
    }

    @Test("connect gives up with a timeout when nothing listens")
    func connectDeadline() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        await #expect(throws: QEMU.Error.self) {
            try await QEMU.Monitor.connect(socketPath: "/nonexistent/qmp.sock", timeout: .milliseconds(300))
        }
        #expect(clock.now - started >= .milliseconds(300))
    }
}

/// Runs `body` with a stub QMP server listening on a fresh Unix socket.
private func withStubServer(_ body: (String) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qmp-stub-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("qmp.sock").path
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(StubQMPHandler())
            }
        }
        .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
    do {
        try await body(path)
    } catch {
        try? await server.close()
        throw error
    }
    try? await server.close()
}

/// A scripted QEMU: greets, answers `qmp_capabilities`, sends a `STOP` event before
/// answering `query-status`, holds `slow` until `fast` arrives and answers `fast` first,
/// hangs up on `hangup`, and rejects anything else as QEMU does an unknown command.
private final class StubQMPHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var pending = Data()
    private var heldSlow: QEMU.JSON?

    func channelActive(context: ChannelHandlerContext) {
        send(
            #"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}"#,
            context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending.append(contentsOf: Self.unwrapInboundIn(data).readableBytesView)
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = pending[pending.startIndex..<newline]
            pending = Data(pending[(newline + 1)...])
            guard let message = try? QEMU.JSON.parse(Data(line)), let command = message["execute"]?.string else {
                continue
            }
            let id = message["id"] ?? .null
            switch command {
            case "qmp_capabilities":
                reply(id: id, ["return": [:]], context: context)
            case "query-status":
                send(
                    #"{"timestamp": {"seconds": 1700000000, "microseconds": 500000}, "event": "STOP"}"#,
                    context: context)
                reply(id: id, ["return": ["status": "paused", "running": false, "singlestep": false]], context: context)
            case "slow":
                heldSlow = id
            case "fast":
                reply(id: id, ["return": ["which": "fast"]], context: context)
                if let heldSlow {
                    reply(id: heldSlow, ["return": ["which": "slow"]], context: context)
                }
            case "hangup":
                context.close(promise: nil)
            default:
                reply(
                    id: id,
                    ["error": ["class": "CommandNotFound", "desc": .string("The command \(command) has not been found")]],
                    context: context)
            }
        }
    }

    private func reply(id: QEMU.JSON, _ body: [String: QEMU.JSON], context: ChannelHandlerContext) {
        var message = body
        message["id"] = id
        guard let data = try? QEMU.JSON.object(message).serialized() else { return }
        send(String(decoding: data, as: UTF8.self), context: context)
    }

    private func send(_ line: String, context: ChannelHandlerContext) {
        context.writeAndFlush(Self.wrapOutboundOut(context.channel.allocator.buffer(string: line + "\r\n")), promise: nil)
    }
}
