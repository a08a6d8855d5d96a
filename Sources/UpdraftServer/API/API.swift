import Foundation
import Hummingbird
import ServiceLifecycle
import UpdraftDatabase

/// One OpenStack API as the cloud serves it, and all `UpdraftServer.assemble` needs to add
/// it: its tables, how it is built, its catalog entries, its routes and its long-running
/// services. Adding a service is one type conforming to this and one line in
/// ``UpdraftServer/apis(networking:)``.
protocol API: Sendable {
    /// How the edge knows the API: its path, its name in metrics and logs, its fault format.
    static var profile: APIProfile { get }
    /// The tables it owns, applied (in list order) before any API is built.
    static var migrations: [Migration] { get }
    /// Builds the API's domain service from the configuration and the services the APIs
    /// before it in the list provided, and provides its own for those after it.
    static func build(_ assembly: inout Assembly) async throws -> Self
    /// Its entries in the identity catalog.
    var catalog: [CatalogItem] { get }
    /// Adds its routes, each naming who it lets in.
    func register(on routes: Routes) throws
    /// Its long-running work (sync loops, reapers), run in the cloud's one `ServiceGroup`.
    var services: [any Service] { get }
}

extension API {
    static var migrations: [Migration] { [] }
    var services: [any Service] { [] }
}

/// What the edge needs to know of an API for a request, before any route matches.
struct APIProfile: Sendable {
    /// The first path segment it serves under (`compute`), and its name in metrics, the
    /// access log and the audit log.
    var name: String
    /// How its errors are written.
    var faults: FaultDialect
    /// Whether every route refuses a body that is not JSON at the edge (Keystone, Nova).
    /// False where some routes take raw bytes (Glance's image data) and check for themselves.
    var jsonBodiesOnly: Bool

    /// Paths no API serves: counted as `other`, answered in the plain dialect.
    static let other = APIProfile(name: "other", faults: .plain, jsonBodiesOnly: false)

    /// A new request id in the API's form: `req-<uuid>`, or Swift's transaction id
    /// (`tx<21 hex>-<10 hex of the time>`, sent as `X-Trans-Id` too).
    func makeRequestID() -> String {
        let uuid = UUID().uuidString.lowercased()
        guard faults == .swift else { return "req-" + uuid }
        let hex = uuid.replacingOccurrences(of: "-", with: "")
        let seconds = String(UInt64(Date.now.timeIntervalSince1970), radix: 16)
        return "tx" + hex.prefix(21) + "-" + String(repeating: "0", count: max(0, 10 - seconds.count)) + seconds
    }
}

/// Each API's profile by the first segment of its paths, for the edge and for answers
/// written below the router.
struct APIDirectory: Sendable {
    private let profiles: [String: APIProfile]

    init(_ profiles: [APIProfile]) {
        self.profiles = Dictionary(profiles.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The API whose paths start with the first segment of `path`; ``APIProfile/other`` when none.
    func profile(for path: String) -> APIProfile {
        let first = path.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        return profiles[first] ?? .other
    }
}

/// One service in the identity catalog: `type`, `name`, and the path under the public URL.
struct CatalogItem: Sendable {
    var type: String
    var name: String
    /// `/compute/v2.1`.
    var path: String
}
