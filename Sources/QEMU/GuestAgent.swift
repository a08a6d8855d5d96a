import Foundation
import Logging
import NIOCore

extension QEMU {
    /// A client of the QEMU guest agent (`qemu-ga`) inside a guest, reached through the
    /// virtio-serial port `org.qemu.guest_agent.0` that ``MachineConfiguration/guestAgentSocketPath``
    /// adds. The agent speaks QMP without a greeting; whether it runs at all is known only by
    /// asking, so every call has a short timeout and callers fall back (ACPI, an unquiesced
    /// snapshot) when it does not answer.
    public final class GuestAgent: Sendable {
        private let channel: any Channel
        private let router: MonitorRouter

        private init(channel: any Channel, router: MonitorRouter) {
            self.channel = channel
            self.router = router
        }

        deinit {
            channel.close(promise: nil)
        }

        /// Connects to the agent's socket and checks that the agent answers (`guest-sync`
        /// with a random number, which also drops whatever an earlier client left unread).
        public static func connect(
            socketPath: String, timeout: Duration = .seconds(5), logger: Logger = Logger(label: "qemu.agent")
        ) async throws -> GuestAgent {
            let (_, eventSink) = AsyncStream<Monitor.Event>.makeStream()
            let router = MonitorRouter(events: eventSink, firstID: Int64.random(in: 1_000_000...1_000_000_000), logger: logger)
            let channel = try await router.connect(socketPath: socketPath, deadline: .now + timeout)
            let agent = GuestAgent(channel: channel, router: router)
            do {
                let token = Int64.random(in: 1...Int64(Int32.max))
                let answer = try await agent.execute("guest-sync", arguments: ["id": .int(token)], timeout: timeout)
                guard answer.int == token else { throw Error.timeout("the guest agent answered guest-sync wrongly") }
                return agent
            } catch {
                await agent.close()
                throw error
            }
        }

        @discardableResult
        func execute(_ command: String, arguments: JSON? = nil, timeout: Duration) async throws -> JSON {
            try await router.execute(command, arguments: arguments, timeout: timeout, on: channel)
        }

        /// Asks the guest to power off cleanly (`guest-shutdown`). The agent does not answer a
        /// shutdown it carries out, so this returns once the command is sent.
        public func shutdown() async throws {
            var bytes = try JSON.object(["execute": "guest-shutdown", "arguments": ["mode": "powerdown"]]).serialized()
            bytes.append(UInt8(ascii: "\n"))
            try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
        }

        /// Flushes and freezes the guest's filesystems; returns how many it froze.
        public func freezeFilesystems(timeout: Duration = .seconds(30)) async throws -> Int {
            Int(try await execute("guest-fsfreeze-freeze", timeout: timeout).int ?? 0)
        }

        /// Thaws what ``freezeFilesystems(timeout:)`` froze; returns how many it thawed.
        @discardableResult
        public func thawFilesystems(timeout: Duration = .seconds(30)) async throws -> Int {
            Int(try await execute("guest-fsfreeze-thaw", timeout: timeout).int ?? 0)
        }

        public func close() async {
            try? await channel.close()
        }
    }
}
