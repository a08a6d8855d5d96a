import Hummingbird
import UpdraftCore

/// Per-request state the edge resolves once: the request id, the API the path belongs to,
/// and who is calling.
public struct UpdraftRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// `req-<uuid>`, echoed in `x-openstack-request-id`.
    public var requestID: String = ""
    /// What `X-Auth-Token` established.
    var authentication: Authentication = .none
    /// The API whose path this is, for fault formats, metrics and logs.
    var api: APIProfile = .other

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// What a request's `X-Auth-Token` established.
enum Authentication: Sendable {
    /// No token was sent.
    case none
    /// A token was sent and did not validate: protected routes answer 401.
    case rejected
    /// The token is valid; this is the caller policy sees.
    case authenticated(AuthContext)

    /// The caller, when authenticated.
    var caller: AuthContext? {
        if case .authenticated(let caller) = self { return caller }
        return nil
    }
}
