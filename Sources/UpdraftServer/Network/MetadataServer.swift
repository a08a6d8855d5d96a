import Foundation
import LinuxNet
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import UpdraftCompute
import UpdraftNetwork

/// The metadata service at 169.254.169.254, for every VM on every tenant network, router or
/// not. Each network's namespace holds a listening socket on that address (on its bridge,
/// where the DHCP route sends guests); this process accepts on it, so a request arrives
/// knowing its network, and the source address names the port and so the server. The
/// dataplane drops anything a VM sends from an address that is not its own: no VM can read
/// another's metadata or user data.
actor MetadataServer: Service {
    static let address = "169.254.169.254"

    let network: NetworkService
    let compute: ComputeService
    let logger: Logger
    private var listeners: [String: any Channel] = [:]

    init(network: NetworkService, compute: ComputeService, logger: Logger) {
        self.network = network
        self.compute = compute
        self.logger = logger
    }

    /// Follows each topology the dataplane carries until graceful shutdown, then closes every listener.
    func run() async throws {
        for await topology in network.applied.cancelOnGracefulShutdown() {
            await follow(topology)
        }
        for channel in listeners.values { try? await channel.close() }
        listeners = [:]
    }

    /// Listens in every tenant network with a DHCP port; stops listening in the rest.
    func follow(_ topology: Topology) async {
        let wanted = Set(topology.networks.filter { !$0.external && $0.dhcpPort != nil }.map(\.id))
        for (id, channel) in listeners where !wanted.contains(id) {
            try? await channel.close()
            listeners[id] = nil
        }
        for id in wanted.sorted() where listeners[id] == nil {
            do {
                listeners[id] = try await listen(network: id)
            } catch {
                logger.warning("metadata service cannot listen", metadata: ["network": "\(id)", "error": "\(error)"])
            }
        }
    }

    private func listen(network networkID: String) async throws -> any Channel {
        let fd = try await LinuxNet.listenTCP(
            address: Self.address, port: 80, in: LinuxNet.Names.networkNamespace(network: networkID))
        let network = network
        let compute = compute
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        MetadataHandler { path, source in
                            await Self.answer(
                                path: path, source: source, networkID: networkID, network: network, compute: compute)
                        })
                }
            }
            .withBoundSocket(fd).get()
    }

    /// One answer: status, content type and body.
    struct Answer: Sendable {
        var status: HTTPResponseStatus
        var body: Data

        static let notFound = Answer(status: .notFound, body: Data("404 Not Found\n".utf8))
        static func text(_ text: String) -> Answer { Answer(status: .ok, body: Data(text.utf8)) }
    }

    /// The OpenStack versions a client may ask for by date; all serve the same documents.
    static let openStackVersions = [
        "2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30", "2016-10-06", "2017-02-22", "2018-08-27",
        "latest",
    ]
    static let ec2Versions = ["1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2008-02-01", "2009-04-04", "latest"]

    /// What `GET path` from `source` on network `networkID` answers, as Nova's metadata API does.
    static func answer(
        path: String, source: String?, networkID: String, network: NetworkService, compute: ComputeService
    ) async -> Answer {
        guard let source, let instanceID = try? await network.device(onNetwork: networkID, address: source),
            let metadata = try? await compute.instanceMetadata(instanceID)
        else { return .notFound }
        let parts = (path.split(separator: "?").first ?? "").split(separator: "/").map(String.init)
        guard let first = parts.first else { return .text(ec2Versions.joined(separator: "\n")) }
        if first == "openstack" {
            guard parts.count > 1 else { return .text(openStackVersions.joined(separator: "\n")) }
            guard openStackVersions.contains(parts[1]), let files = try? metadata.openStackFiles() else { return .notFound }
            guard parts.count > 2 else { return .text(files.map(\.name).sorted().joined(separator: "\n")) }
            guard parts.count == 3, let file = files.first(where: { $0.name == parts[2] }) else { return .notFound }
            return Answer(status: .ok, body: file.data)
        }
        guard ec2Versions.contains(first) else { return .notFound }
        guard parts.count > 1 else {
            return .text(metadata.metadata.userData == nil ? "meta-data/" : "meta-data/\nuser-data")
        }
        switch parts[1] {
        case "user-data":
            return metadata.metadata.userData.map { Answer(status: .ok, body: $0) } ?? .notFound
        case "meta-data":
            return metadata.ec2(parts.dropFirst(2).joined(separator: "/")).map(Answer.text) ?? .notFound
        default:
            return .notFound
        }
    }
}

/// Serves GETs on one accepted connection with answers computed off the event loop.
private final class MetadataHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let answer: @Sendable (String, String?) async -> MetadataServer.Answer
    private var head: HTTPRequestHead?

    init(answer: @escaping @Sendable (String, String?) async -> MetadataServer.Answer) {
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
        case .body:
            break
        case .end:
            guard let request = head else { return }
            head = nil
            let source = context.remoteAddress?.ipAddress
            let keepAlive = request.isKeepAlive
            let version = request.version
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let answer = self.answer
            let promise = context.eventLoop.makePromise(of: MetadataServer.Answer.self)
            promise.completeWithTask {
                request.method == .GET || request.method == .HEAD
                    ? await answer(request.uri, source) : MetadataServer.Answer(status: .methodNotAllowed, body: Data())
            }
            promise.futureResult.whenSuccess { result in
                handler.value.write(result, head: request.method == .HEAD, version: version, keepAlive: keepAlive, bound.value)
            }
        }
    }

    private func write(
        _ result: MetadataServer.Answer, head onlyHead: Bool, version: HTTPVersion, keepAlive: Bool,
        _ context: ChannelHandlerContext
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=UTF-8")
        headers.add(name: "Content-Length", value: "\(result.body.count)")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: version, status: result.status, headers: headers))), promise: nil)
        if !onlyHead {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: result.body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
