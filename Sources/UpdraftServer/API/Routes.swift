import HTTPTypes
import Hummingbird
import UpdraftCore

/// Who a route lets in before its handler runs. The handler then checks the resource's own
/// project or owner (``Policy``); this is the coarse rule every route names, so a reader is
/// refused on every write without relying on each handler to remember.
enum Access: String, Sendable, CaseIterable {
    /// No token needed: version documents, `POST /auth/tokens`, a password change.
    case anyone
    /// Any valid token; the handler decides by ownership (one's own user, key pairs, tokens).
    case authenticated
    /// `member` or more in the token's scope: every change to a project's resources.
    case member
    /// A cloud administrator.
    case admin

    /// The policy rule checked at the route, or nil when no token is needed.
    var rule: Policy.Rule? {
        switch self {
        case .anyone: nil
        case .authenticated: .authenticated
        case .member: .member
        case .admin: .admin
        }
    }
}

/// The router every API registers on. Each route names its ``Access``, which is checked
/// before the handler runs and kept in a table that `updraft admin routes` prints and the
/// tests walk. Used while the cloud is assembled, on one task.
final class Routes {
    typealias Context = UpdraftRequestContext
    typealias Handler = @Sendable (Request, Context) async throws -> Response

    let router: Router<Context>
    private var table: [String: Access] = [:]

    init(router: Router<Context>) {
        self.router = router
    }

    /// Routes under `path` (`compute/v2.1`).
    func group(_ path: String) -> RouteGroup {
        RouteGroup(routes: self, prefix: RouterPath(path), group: router.group(RouterPath(path)))
    }

    /// Every route the router holds as `METHOD /path access`, sorted; `unnamed` marks one
    /// registered around this table, which the tests refuse.
    var list: [String] {
        router.routes.map { "\($0) \(table[$0.description]?.rawValue ?? "unnamed")" }.sorted()
    }

    fileprivate func record(_ method: HTTPRequest.Method, _ path: RouterPath, _ access: Access) {
        table["\(method) \(path)"] = access
    }
}

/// Routes under one path prefix; every registration names its ``Access``.
struct RouteGroup {
    typealias Context = UpdraftRequestContext

    let routes: Routes
    let prefix: RouterPath
    let group: RouterGroup<Context>

    /// Registers `handler` for `method` on `path`, behind `access`.
    func add(_ method: HTTPRequest.Method, _ path: String, _ access: Access, use handler: @escaping Routes.Handler) {
        group.on(RouterPath(path), method: method) { request, context in
            if let rule = access.rule { try context.caller(rule) }
            return try await handler(request, context)
        }
        routes.record(method, prefix.appendingPath(RouterPath(path)), access)
    }
}
