import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Routes what QEMU sends on one QMP connection: the greeting to whoever waits for it,
/// answers to the command with the same `id`, events to the event stream.
final class MonitorRouter: Sendable {
    private struct State {
        var nextID: Int64 = 1
        var pending: [Int64: CheckedContinuation<QEMU.JSON, any Error>] = [:]
        var greeting: QEMU.JSON?
        var greetingWaiter: CheckedContinuation<QEMU.JSON, any Error>?
        var closed = false
    }

    private let state = Mutex(State())
    private let events: AsyncStream<QEMU.Monitor.Event>.Continuation
    private let logger: Logger

    /// `firstID` numbers the first command: a guest agent's connection starts at a random one,
    /// so an answer the agent still owed an earlier connection is never taken for its own.
    init(events: AsyncStream<QEMU.Monitor.Event>.Continuation, firstID: Int64 = 1, logger: Logger) {
        self.events = events
        self.logger = logger
        state.withLock { $0.nextID = firstID }
    }

    func nextID() -> Int64 {
        state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    /// Records a waiting command; false when the connection is already closed.
    func register(id: Int64, _ continuation: CheckedContinuation<QEMU.JSON, any Error>) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.pending[id] = continuation
            return true
        }
    }

    /// Fails the command `id` if it still waits (a later answer is then dropped).
    func fail(id: Int64, with error: QEMU.Error) {
        let waiter = state.withLock { $0.pending.removeValue(forKey: id) }
        waiter?.resume(throwing: error)
    }

    /// Waits for the greeting QEMU sends on connect.
    func greeting(timeout: Duration, on eventLoop: any EventLoop) async throws -> QEMU.JSON {
        try await withCheckedThrowingContinuation { continuation in
            let outcome: Result<QEMU.JSON, QEMU.Error>? = state.withLock { state in
                if let greeting = state.greeting { return .success(greeting) }
                if state.closed { return .failure(.processExited) }
                state.greetingWaiter = continuation
                return nil
            }
            if let outcome {
                continuation.resume(with: outcome)
                return
            }
            eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                let waiter = self.state.withLock { state in
                    defer { state.greetingWaiter = nil }
                    return state.greetingWaiter
                }
                waiter?.resume(throwing: QEMU.Error.timeout("no QMP greeting"))
            }
        }
    }

    /// A line-framed connection to the QMP socket at `socketPath` whose messages come here,
    /// retried until it accepts or `deadline` passes.
    func connect(socketPath: String, deadline: ContinuousClock.Instant) async throws -> any Channel {
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder()))
                    try channel.pipeline.syncOperations.addHandler(MonitorHandler(router: self))
                }
            }
        while true {
            do {
                return try await bootstrap.connect(unixDomainSocketPath: socketPath).get()
            } catch {
                if ContinuousClock.now >= deadline {
                    throw QEMU.Error.timeout("QMP socket \(socketPath) did not accept: \(error)")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Sends one command on `channel` and waits for the answer with its `id`: its `return`
    /// value, ``QEMU/Error/qmp(class:description:)`` for an error answer, ``QEMU/Error/timeout(_:)``
    /// when none comes within `timeout`, ``QEMU/Error/processExited`` when the socket closes.
    func execute(_ command: String, arguments: QEMU.JSON?, timeout: Duration, on channel: any Channel) async throws
        -> QEMU.JSON
    {
        let id = nextID()
        var message: [String: QEMU.JSON] = ["execute": .string(command), "id": .int(id)]
        if let arguments {
            message["arguments"] = arguments
        }
        var bytes = try QEMU.JSON.object(message).serialized()
        bytes.append(UInt8(ascii: "\n"))
        logger.trace("QMP command", metadata: ["command": "\(command)", "id": "\(id)"])
        return try await withCheckedThrowingContinuation { continuation in
            guard register(id: id, continuation) else {
                continuation.resume(throwing: QEMU.Error.processExited)
                return
            }
            channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).whenFailure { _ in
                self.fail(id: id, with: .processExited)
            }
            channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                self.fail(id: id, with: .timeout("QMP \(command) got no answer within \(timeout)"))
            }
        }
    }

    /// Takes one message off the wire.
    func receive(_ bytes: Data) {
        let message: QEMU.JSON
        do {
            message = try QEMU.JSON.parse(bytes)
        } catch {
            logger.warning("QMP sent a line that is not JSON", metadata: ["line": "\(String(decoding: bytes, as: UTF8.self))"])
            return
        }
        if message["QMP"] != nil {
            let waiter = state.withLock { state in
                state.greeting = message
                defer { state.greetingWaiter = nil }
                return state.greetingWaiter
            }
            waiter?.resume(returning: message)
        } else if let name = message["event"]?.string {
            let timestamp = message["timestamp"]
            let seconds = Double(timestamp?["seconds"]?.int ?? 0) + Double(timestamp?["microseconds"]?.int ?? 0) / 1e6
            events.yield(.init(name: name, data: message["data"] ?? .object([:]), timestamp: seconds))
        } else if let id = message["id"]?.int {
            let waiter = state.withLock { $0.pending.removeValue(forKey: id) }
            guard let waiter else {
                logger.debug("QMP answer for a command no longer waiting", metadata: ["id": "\(id)"])
                return
            }
            if let error = message["error"] {
                waiter.resume(
                    throwing: QEMU.Error.qmp(
                        class: error["class"]?.string ?? "GenericError", description: error["desc"]?.string ?? ""))
            } else {
                waiter.resume(returning: message["return"] ?? .object([:]))
            }
        } else {
            logger.warning("QMP message with no id", metadata: ["message": "\(message)"])
        }
    }

    /// The connection ended: every waiter fails with `processExited`, the event stream finishes.
    func close() {
        let (waiters, greetingWaiter) = state.withLock { state in
            state.closed = true
            defer {
                state.pending = [:]
                state.greetingWaiter = nil
            }
            return (Array(state.pending.values), state.greetingWaiter)
        }
        for waiter in waiters {
            waiter.resume(throwing: QEMU.Error.processExited)
        }
        greetingWaiter?.resume(throwing: QEMU.Error.processExited)
        events.finish()
    }
}
