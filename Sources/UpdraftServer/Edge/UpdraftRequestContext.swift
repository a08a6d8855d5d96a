import Hummingbird
import UpdraftIdentity

/// Per-request state: the request id and, once the token is validated, who is calling.
public struct UpdraftRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// `req-<uuid>`, echoed in `x-openstack-request-id`.
    public var requestID: String = ""
    /// The validated `X-Auth-Token`, when one was sent and is valid.
    public var token: TokenPayload?
    /// Set when a token was sent but did not validate, so protected routes answer 401.
    public var tokenRejected = false

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}
