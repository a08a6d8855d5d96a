import Foundation
import Logging
import NIOCore
import NIOPosix

extension QEMU {
    /// A QMP client on QEMU's control socket.
    ///
    /// Commands carry an `id` and their answers are matched by it, so asynchronous events
    /// interleaved with answers never confuse them; events go to ``events``. QEMU's QMP
    /// socket serves one client at a time: close the monitor (or drop it) when done.
    public final class Monitor: Sendable {
        /// The asynchronous events QEMU sent (`STOP`, `RESUME`, `SHUTDOWN`, ...), in order.
        public let events: AsyncStream<Event>
        /// QEMU's version as its greeting announced it (`major`, `minor`, `micro`).
        public let version: (major: Int, minor: Int, micro: Int)

        private let channel: any Channel
        private let router: MonitorRouter
        private let logger: Logger

        /// One QMP event.
        public struct Event: Sendable, Equatable {
            public var name: String
            public var data: JSON
            /// Seconds since the epoch, from QEMU's `timestamp`.
            public var timestamp: Double
        }

        private init(
            channel: any Channel, router: MonitorRouter, events: AsyncStream<Event>,
            version: (major: Int, minor: Int, micro: Int), logger: Logger
        ) {
            self.channel = channel
            self.router = router
            self.events = events
            self.version = version
            self.logger = logger
        }

        deinit {
            channel.close(promise: nil)
        }

        /// Connects to the QMP socket at `socketPath`, retrying until it accepts or `timeout`
        /// passes, reads the greeting and leaves capabilities negotiation mode
        /// (`qmp_capabilities`).
        public static func connect(
            socketPath: String, timeout: Duration = .seconds(10), logger: Logger = Logger(label: "qemu.monitor")
        ) async throws -> Monitor {
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: timeout)
            let (events, eventSink) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(1024))
            let router = MonitorRouter(events: eventSink, logger: logger)
            let channel = try await router.connect(socketPath: socketPath, deadline: deadline)
            do {
                let greeting = try await router.greeting(timeout: deadline - clock.now, on: channel.eventLoop)
                let qemu = greeting["QMP"]?["version"]?["qemu"]
                let version = (
                    major: Int(qemu?["major"]?.int ?? 0), minor: Int(qemu?["minor"]?.int ?? 0),
                    micro: Int(qemu?["micro"]?.int ?? 0)
                )
                let monitor = Monitor(
                    channel: channel, router: router, events: events, version: version, logger: logger)
                _ = try await monitor.execute("qmp_capabilities")
                return monitor
            } catch {
                try? await channel.close()
                throw error
            }
        }

        /// Runs one QMP command and returns its `return` value. A QMP error answer throws
        /// ``Error/qmp(class:description:)``; no answer within `timeout` throws
        /// ``Error/timeout(_:)``; a closed socket throws ``Error/processExited``.
        @discardableResult
        public func execute(_ command: String, arguments: JSON? = nil, timeout: Duration = .seconds(30))
            async throws -> JSON
        {
            try await router.execute(command, arguments: arguments, timeout: timeout, on: channel)
        }

        /// Closes the connection; QEMU keeps running and accepts the next client.
        public func close() async {
            try? await channel.close()
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Splits the byte stream at newlines; QMP ends every message with CRLF.
struct LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        guard let line = buffer.readSlice(length: length) else {
            return .needMoreData
        }
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(Self.wrapInboundOut(line))
        return .continue
    }
}

/// Hands each decoded line to the router and tells it when the socket closes.
final class MonitorHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let router: MonitorRouter

    init(router: MonitorRouter) {
        self.router = router
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = Self.unwrapInboundIn(data)
        let bytes = Data(line.readableBytesView)
        if bytes.allSatisfy({ $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: " ") }) {
            return
        }
        router.receive(bytes)
    }

    func channelInactive(context: ChannelHandlerContext) {
        router.close()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        router.close()
        context.close(promise: nil)
    }
}
