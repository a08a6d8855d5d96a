import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import UpdraftCompute
import UpdraftCore
import UpdraftDatabase
import UpdraftIdentity
import UpdraftImage

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
        /// How often the database's power states are compared with the hosts' (a dead QEMU shows SHUTOFF within this).
        public var powerSyncInterval: Duration = .seconds(2)

        public init(dataDirectory: String) {
            self.dataDirectory = dataDirectory
        }
    }

    /// Everything one running cloud is made of, built from a configuration.
    public struct Parts {
        public let database: Database
        public let identity: IdentityService
        public let images: ImageService
        public let compute: ComputeService
        public let router: Router<UpdraftRequestContext>
        /// Set when this start bootstrapped an empty store.
        public let adminPassword: String?

        /// Every route as `METHOD /path`, sorted, read from the router itself.
        public var routeList: [String] { router.routes.map { "\($0.method) \($0.path)" }.sorted() }
    }

    private static let registry = PrometheusCollectorRegistry()

    /// Opens the store, applies migrations, bootstraps and builds the router.
    public static func assemble(_ configuration: Configuration, logger: Logger) async throws -> Parts {
        let directory = configuration.dataDirectory
        try prepareDataDirectory(directory)
        let database = try await Database.open(
            try Database.kind(from: configuration.databaseURL, dataDirectory: directory), logger: logger)
        do {
            try await Migrator.apply(
                IdentitySchema.migrations + AuditMiddleware.migrations + ImageSchema.migrations
                    + ComputeSchema.migrations, to: database)
            let identity = IdentityService(
                configuration: configuration.identity, database: database,
                tokenKeys: try KeyRepository.open(.init(directory: directory + "/keys/tokens")),
                credentialKeys: try KeyRepository.open(.init(directory: directory + "/keys/credentials")), logger: logger)
            try await identity.start()
            let bootstrapped = try await identity.bootstrapIfEmpty(region: configuration.region)
            let base = configuration.publicURL ?? "http://\(configuration.bind):\(configuration.port)"
            try await identity.reconcileCatalog(
                [
                    (type: "identity", name: "keystone", url: base + "/identity"),
                    (type: "image", name: "glance", url: base + "/image"),
                    (type: "compute", name: "nova", url: base + "/compute/v2.1"),
                ], region: configuration.region)
            let images = ImageService(
                database: database, directory: directory + "/images",
                adminProjectID: try await identity.listProjects(query: ["name": "admin", "domain_id": "default"]).first?.id,
                logger: logger)
            try await images.start()
            try await registerGuestImage(configuration, images: images, logger: logger)
            if let password = bootstrapped?.adminPassword ?? ClientFiles.recordedPassword(directory: directory) {
                try ClientFiles.write(
                    directory: directory, authURL: base + "/identity/v3", password: password, region: configuration.region)
            }

            let router = Router(context: UpdraftRequestContext.self)
            let publicBase: @Sendable (Request) -> String = { request in
                if let url = configuration.publicURL { return url }
                return "http://" + (request.head.authority ?? "\(configuration.bind):\(configuration.port)")
            }
            router.add(middleware: EdgeMiddleware(identity: identity, publicBase: publicBase, logger: logger))
            router.add(middleware: AuditMiddleware(database: database, logger: logger))
            router.get("metrics") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                    body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
            }
            IdentityController(identity: identity, publicBase: publicBase, bodyLimit: configuration.bodyLimit).register(
                on: router)
            try ImageController(images: images, publicBase: publicBase, bodyLimit: configuration.bodyLimit).register(on: router)
            let compute = ComputeService(
                configuration: configuration.compute, database: database, images: ImageBridge(images: images),
                drivers: try hypervisorDrivers(configuration, logger: logger), logger: logger)
            try await compute.start()
            ComputeController(compute: compute, publicBase: publicBase, bodyLimit: configuration.bodyLimit).register(
                on: router)
            return Parts(
                database: database, identity: identity, images: images, compute: compute, router: router,
                adminPassword: bootstrapped?.adminPassword)
        } catch {
            await database.close()
            throw error
        }
    }

    /// Runs the cloud until a shutdown signal. Prints where the client files are.
    public static func run(_ configuration: Configuration, logger: Logger) async throws {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let parts = try await assemble(configuration, logger: logger)
        let directory = configuration.dataDirectory
        let app = Application(
            router: parts.router,
            configuration: .init(address: .hostname(configuration.bind, port: configuration.port), serverName: "updraft"),
            onServerRunning: { _ in
                let line =
                    "updraft: serving on http://\(configuration.bind):\(configuration.port) (identity at /identity/v3); "
                    + "credentials in \(directory)/admin-openrc.sh and \(directory)/clouds.yaml\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            },
            logger: logger)
        let tokens = parts.identity.tokens
        let keys = PeriodicService(
            name: "token-key-reload", interval: configuration.keyReloadInterval, clock: ContinuousClock(), logger: logger
        ) {
            if try tokens.reloadKeys() { logger.notice("token keys reloaded after a rotation") }
        }
        let compute = parts.compute
        let powerSync = PeriodicService(
            name: "power-state-sync", interval: configuration.powerSyncInterval, clock: ContinuousClock(), logger: logger
        ) { try await compute.syncPowerStates() }
        var services: [any Service] = [app, keys, compute, powerSync]
        if !parts.database.kind.isSQLite {
            // Other controllers may share this store: follow their revocations.
            services.append(
                PeriodicService(
                    name: "revocation-sync", interval: configuration.revocationSyncInterval, clock: ContinuousClock(),
                    logger: logger
                ) { try await tokens.revocations.refresh() })
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
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
