import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import UpdraftCore

/// The outermost layer: the request id, the API the path belongs to, who is calling,
/// OpenStack-format errors, metrics and the access log. Every request passes here, matched
/// or not.
struct EdgeMiddleware: RouterMiddleware {
    typealias Context = UpdraftRequestContext

    /// Validates an `X-Auth-Token` (the identity service), without a database read.
    let authenticate: @Sendable (String) throws -> AuthContext
    let apis: APIDirectory
    let publicBase: @Sendable (Request) -> String
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        context.api = apis.profile(for: request.uri.path)
        context.requestID = context.api.makeRequestID()
        if let token = request.headers[.authToken] {
            do {
                context.authentication = .authenticated(try authenticate(token))
            } catch {
                context.authentication = .rejected
            }
        }
        let start = ContinuousClock.now
        var response: Response
        do {
            if request.hasBody, context.api.jsonBodiesOnly, let error = request.mediaTypeError() { throw error }
            response = try await next(request, context)
        } catch {
            response = fault(for: error, request: request, context: context)
        }
        response.headers[.requestID] = context.requestID
        if context.api.faults == .swift { response.headers[.transID] = context.requestID }
        let elapsed = ContinuousClock.now - start
        let name = context.api.name
        Counter(
            label: "updraft_http_requests_total",
            dimensions: [("service", name), ("method", request.method.rawValue), ("status", String(response.status.code))]
        ).increment()
        Timer(label: "updraft_http_request_duration_seconds", dimensions: [("service", name)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        logger.info(
            "\(request.method) \(request.uri.path) \(response.status.code)",
            metadata: [
                "request_id": "\(context.requestID)", "api": "\(name)",
                "user_id": "\(context.authentication.caller?.userID ?? "-")",
            ])
        return response
    }

    private func fault(for error: any Error, request: Request, context: Context) -> Response {
        let dialect = context.api.faults
        let base = publicBase(request)
        if let error = error as? UpdraftError {
            if error.code == .internal {
                logger.error("internal error", metadata: ["request_id": "\(context.requestID)", "error": "\(error)"])
                return dialect.response(status: 500, message: Self.internalMessage(context), publicBase: base)
            }
            return dialect.response(
                status: dialect.status(for: error.code), message: error.message, publicBase: base, kind: error.kind)
        }
        if let error = error as? HTTPError {
            let message =
                switch error.status.code {
                case 404: "The resource could not be found."
                case 405: "The method is not allowed for the requested URL."
                case 413: "Request Entity Too Large: the request body is over the limit."
                default: error.body ?? (FaultDialect.titles[error.status.code] ?? "Error")
                }
            return dialect.response(status: error.status.code, message: message, publicBase: base)
        }
        logger.error("unexpected error", metadata: ["request_id": "\(context.requestID)", "error": "\(error)"])
        return dialect.response(status: 500, message: Self.internalMessage(context), publicBase: base)
    }

    private static func internalMessage(_ context: Context) -> String {
        "An unexpected error prevented the server from fulfilling your request. (\(context.requestID))"
    }
}
