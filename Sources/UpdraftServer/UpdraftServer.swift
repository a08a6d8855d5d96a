import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import UpdraftAccounting
import UpdraftBlockStorage
import UpdraftCompute
import UpdraftCore
import UpdraftDatabase
import UpdraftNetwork
import UpdraftObjectStorage
import UpdraftIdentity

/// The composition root of `updraft serve`: opens the state, builds every service and
/// serves them on one port until SIGTERM or SIGINT.
public enum UpdraftServer {
    public struct Configuration: Sendable {
        public var dataDirectory: String
        public var bind: String = "127.0.0.1"
        public var port: Int = 5000
        /// `http://host:port` clients should use; derived from the request's Host header when nil.
        public var publicURL: String?
        /// `postgres://...`, `sqlite:PATH`, or nil for SQLite in the data directory.
        public var databaseURL: String?
        public var region: String = "RegionOne"
        /// The largest request body read into memory, in bytes.
        public var bodyLimit: Int = 1 << 20
        /// How often the token key repository is reread to pick up a rotation.
        public var keyReloadInterval: Duration = .seconds(30)
        /// How often a controller on PostgreSQL reads revocations other controllers recorded.
        public var revocationSyncInterval: Duration = .seconds(2)
        public var identity = IdentityService.Configuration()
        public var compute = ComputeService.Configuration()
        public var network = NetworkService.Configuration()
        public var objectStorage = ObjectStorageService.Configuration()
        public var blockStorage = BlockStorageService.Configuration()
        public var accounting = AccountingService.Configuration()
        /// A program run once per accounting notice, the notice as JSON on its standard input
        /// (the operator's e-mail hook); nil keeps notices in the API.
        public var noticeCommand: String?
        /// Run on a clock that stands still until the accounting API's `test-clock` moves it,
        /// starting at this time (or where the last run left it). For end-to-end tests only;
        /// `updraft serve` refuses it unless the environment enables it.
        public var testClockStart: Date?

        /// What carries tenant networks: Linux bridges, namespaces, nftables and dnsmasq,
        /// unless a test or a scale simulation asks for the fake one.
        public enum Dataplane: String, Sendable {
            case linux, fake
        }
        public var dataplane: Dataplane = .linux
        /// Serve networking: the Neutron API, its dataplane, and servers plugged into ports.
        /// `updraft serve` turns it on when the machine can carry it; the external network and
        /// its host bridge are made on first start.
        public var networking = false

        /// Which hypervisor driver runs instances: QEMU unless a test or a scale simulation asks for the fake one.
        public enum Hypervisor: String, Sendable {
            case qemu, fake
        }
        public var hypervisor: Hypervisor = .qemu
        /// How the QEMU driver runs guests: `auto` runs guest code under KVM once at start and
        /// falls back to TCG with the reason; `kvm` and `tcg` force one.
        public enum Accelerator: String, Sendable, CaseIterable {
            case auto, kvm, tcg
        }
        public var accelerator: Accelerator = .auto
        /// `qemu-system-x86_64` by name (on the fixed search path) or by path.
        public var qemuBinary = "qemu-system-x86_64"
        /// Where `updraft image build` caches the built-in guest image; the default cache when nil.
        public var guestImageCache: String?
        /// Library images (`updraft image build NAME`) published at start as featured images.
        public var featuredImages: [String] = []
        /// How often the database's power states are compared with the hosts' (a dead QEMU shows SHUTOFF within this).
        public var powerSyncInterval: Duration = .seconds(2)

        public init(dataDirectory: String) {
            self.dataDirectory = dataDirectory
        }
    }

    /// The APIs the cloud serves, in build order: each may use the services of those before it
    /// (the storage services ask accounting's storage allocations; compute plugs its servers
    /// into networking's ports when networking is on).
    static func apis(networking: Bool) -> [any API.Type] {
        [IdentityAPI.self, AccountingAPI.self, ImageAPI.self, ObjectStorageAPI.self, S3API.self]
            + (networking ? [NetworkAPI.self] : []) + [BlockStorageAPI.self, ComputeAPI.self]
    }

    /// Everything one running cloud is made of, built from a configuration.
    public struct Parts {
        public let database: Database
        public let router: Hummingbird.Router<UpdraftRequestContext>
        /// Set when this start bootstrapped an empty store.
        public let adminPassword: String?
        /// Every API's long-running work, for the cloud's `ServiceGroup`.
        let services: [any Service]
        /// Every route with the access it names.
        let routes: Routes
        /// Which API a path belongs to.
        let directory: APIDirectory

        /// Every route as `METHOD /path access`, sorted, read from the routes as registered.
        public var routeList: [String] { routes.list }
    }

    private static let registry = PrometheusCollectorRegistry()

    /// Opens the store, applies every API's migrations, builds the APIs in order, publishes
    /// their catalog and routes them behind the edge.
    public static func assemble(_ configuration: Configuration, logger: Logger) async throws -> Parts {
        try await assemble(configuration, logger: logger, apis: apis(networking: configuration.networking))
    }

    /// ``assemble(_:logger:)`` with another list of APIs (a test's trivial API added).
    static func assemble(_ configuration: Configuration, logger: Logger, apis: [any API.Type]) async throws -> Parts {
        try prepareDataDirectory(configuration.dataDirectory)
        let database = try await Database.open(
            try Database.kind(from: configuration.databaseURL, dataDirectory: configuration.dataDirectory), logger: logger)
        do {
            try await Migrator.apply(AuditLog.migrations + apis.flatMap { $0.migrations }, to: database)
            let clock: any WallClock =
                try configuration.testClockStart.map {
                    try TestWallClock(file: configuration.dataDirectory + "/test-clock", start: $0)
                } ?? SystemWallClock()
            var assembly = Assembly(configuration: configuration, database: database, clock: clock, logger: logger)
            var built: [any API] = []
            for api in apis { built.append(try await api.build(&assembly)) }

            let identity = try assembly.require(IdentityService.self)
            try await identity.reconcileCatalog(
                built.flatMap(\.catalog).map { (type: $0.type, name: $0.name, url: assembly.baseURL + $0.path) },
                region: configuration.region)

            let router = Hummingbird.Router(context: UpdraftRequestContext.self)
            let directory = APIDirectory(apis.map { $0.profile } + [metrics])
            router.add(
                middleware: EdgeMiddleware(
                    authenticate: { try identity.authenticate(token: $0) }, apis: directory,
                    publicBase: assembly.publicBase, logger: logger))
            router.add(middleware: AuditMiddleware(log: AuditLog(database: database), logger: logger))
            let routes = Routes(router: router)
            let accounting = assembly.optional(AccountingService.self)
            routes.group("metrics").add(.get, "", .anyone) { _, _ in
                var bytes = registry.emitToBuffer()
                if let accounting {
                    bytes += Array(AccountingMetrics.exposition(try await accounting.statements(projectID: nil)).utf8)
                }
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                    body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            }
            for api in built { try api.register(on: routes) }
            return Parts(
                database: database, router: router, adminPassword: assembly.adminPassword,
                services: built.flatMap(\.services), routes: routes, directory: directory)
        } catch {
            await database.close()
            throw error
        }
    }

    /// Prometheus metrics at `/metrics`: counted under their own name, not among the APIs.
    private static let metrics = APIProfile(name: "metrics", faults: .plain, jsonBodiesOnly: false)

    /// Runs the cloud until a shutdown signal. Prints where the client files are.
    public static func run(_ configuration: Configuration, logger: Logger) async throws {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        // A cloud whose port is taken stops before it makes anything, its networking included.
        // SO_REUSEADDR as the server itself binds: a previous run's closed connections do not count.
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: configuration.bind, port: configuration.port).get()
        try await probe.close()
        let parts = try await assemble(configuration, logger: logger)
        let dataDirectory = configuration.dataDirectory
        let directory = parts.directory
        let app = Application(
            router: parts.router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [
                        LargeReads(),
                        ExpectContinue(),
                        UnknownMethodGuard { path in
                            let profile = directory.profile(for: path)
                            var (headers, body) = profile.faults.rendered(
                                status: 405, message: "The method is not allowed for the requested URL.", publicBase: "")
                            headers[.requestID] = profile.makeRequestID()
                            return (headers, body)
                        },
                    ])),
            configuration: .init(address: .hostname(configuration.bind, port: configuration.port), serverName: "updraft"),
            onServerRunning: { _ in
                let line =
                    "updraft: serving on http://\(configuration.bind):\(configuration.port) (identity at /identity/v3); "
                    + "credentials in \(dataDirectory)/admin-openrc.sh and \(dataDirectory)/clouds.yaml\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [app] + parts.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            await parts.database.close()
            throw error
        }
        await parts.database.close()
    }

    /// Creates the data directory (0700) and proves it is writable.
    static func prepareDataDirectory(_ directory: String) throws {
        let fm = FileManager.default
        var path = ""
        for component in directory.split(separator: "/") {
            path += "/" + component
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw UpdraftError.internal("cannot create data directory \(directory): \(path) is not a directory")
                }
            } else if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw UpdraftError.internal("cannot create data directory \(directory): \(String(cString: strerror(errno)))")
            }
        }
        let probe = directory + "/.write-test"
        guard fm.createFile(atPath: probe, contents: Data()) else {
            throw UpdraftError.internal("data directory \(directory) is not writable")
        }
        try? fm.removeItem(atPath: probe)
    }
}
