import Hummingbird
import Logging
import QEMU
import UpdraftCore
import UpdraftDatabase

/// What APIs are built from: the configuration, the store, the logger, the public URLs, and
/// the domain services that APIs earlier in the list provided (compute takes images').
struct Assembly: Sendable {
    let configuration: UpdraftServer.Configuration
    let database: Database
    let logger: Logger
    /// The time accounting charges by: the system's, or a test's.
    let clock: any WallClock
    /// `http://host:port` as configured, for catalog entries and client files.
    let baseURL: String
    /// The public base URL for one request: the configured one, or its Host header's.
    let publicBase: @Sendable (Request) -> String
    /// Set by the identity API when this start bootstrapped an empty store.
    var adminPassword: String?
    private var provided: [ObjectIdentifier: any Sendable] = [:]

    init(configuration: UpdraftServer.Configuration, database: Database, clock: any WallClock, logger: Logger) {
        self.configuration = configuration
        self.clock = clock
        self.database = database
        self.logger = logger
        let baseURL = configuration.publicURL ?? "http://\(configuration.bind):\(configuration.port)"
        self.baseURL = baseURL
        self.publicBase = { request in
            if let url = configuration.publicURL { return url }
            return "http://" + (request.head.authority ?? "\(configuration.bind):\(configuration.port)")
        }
    }

    /// Makes `value` available to the APIs built after this one.
    mutating func provide<T: Sendable>(_ value: T) {
        provided[ObjectIdentifier(T.self)] = value
    }

    /// The one cache of base images that instances' root disks and volumes are made on,
    /// under `DATA/cache/base`.
    mutating func baseImageCache() throws -> QEMU.BaseImageCache {
        if let cache = optional(QEMU.BaseImageCache.self) { return cache }
        let cache = QEMU.BaseImageCache(directory: configuration.dataDirectory + "/cache/base", img: try QEMU.Img())
        provide(cache)
        return cache
    }

    /// A service an earlier API provided, or nil when no API in the list provides it.
    func optional<T: Sendable>(_ type: T.Type) -> T? {
        provided[ObjectIdentifier(type)] as? T
    }

    /// A service an earlier API provided; an internal error naming it when the list is out of order.
    func require<T: Sendable>(_ type: T.Type) throws(UpdraftError) -> T {
        guard let value = provided[ObjectIdentifier(type)] as? T else {
            throw .internal("\(type) is needed before the API that provides it is built; check the order of UpdraftServer.apis")
        }
        return value
    }
}
