import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import UpdraftCore
import UpdraftIdentity

/// The outermost layer: request id, token validation, OpenStack-format errors, metrics
/// and the access log. Every request passes here, matched or not.
struct EdgeMiddleware: RouterMiddleware {
    typealias Context = UpdraftRequestContext

    let identity: IdentityService
    let publicBase: @Sendable (Request) -> String
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        context.requestID = "req-" + UUID().uuidString.lowercased()
        if let token = request.headers[.authToken] {
            do {
                context.token = try identity.authorize(token: token)
            } catch {
                context.tokenRejected = true
            }
        }
        let start = ContinuousClock.now
        var response: Response
        do {
            // Keystone and Nova refuse any body that is not JSON, on every route; Glance takes
            // raw image bytes on its data routes, so its JSON routes check for themselves.
            if request.hasBody, Fault.Service(path: request.uri.path) != .image, let error = request.mediaTypeError() {
                throw error
            }
            response = try await next(request, context)
        } catch {
            response = fault(for: error, request: request, context: context)
        }
        response.headers[.requestID] = context.requestID
        let elapsed = ContinuousClock.now - start
        let family = Self.family(request.uri.path)
        Counter(
            label: "updraft_http_requests_total",
            dimensions: [
                ("service", family), ("method", request.method.rawValue), ("status", String(response.status.code)),
            ]
        ).increment()
        Timer(label: "updraft_http_request_duration_seconds", dimensions: [("service", family)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        logger.info(
            "\(request.method) \(request.uri.path) \(response.status.code)",
            metadata: ["request_id": "\(context.requestID)", "user_id": "\(context.token?.userID ?? "-")"])
        return response
    }

    private func fault(for error: any Error, request: Request, context: Context) -> Response {
        let service = Fault.Service(path: request.uri.path)
        let base = publicBase(request)
        if let error = error as? UpdraftError {
            if error.code == .internal {
                logger.error("internal error", metadata: ["request_id": "\(context.requestID)", "error": "\(error)"])
                return Fault.response(
                    status: 500,
                    message: "An unexpected error prevented the server from fulfilling your request. (\(context.requestID))",
                    service: service, publicBase: base)
            }
            return Fault.response(status: error.code.httpStatus, message: error.message, service: service, publicBase: base)
        }
        if let error = error as? HTTPError {
            let message =
                switch error.status.code {
                case 404: "The resource could not be found."
                case 405: "The method is not allowed for the requested URL."
                case 413: "Request Entity Too Large: the request body is over the limit."
                default: error.body ?? (Fault.titles[error.status.code] ?? "Error")
                }
            return Fault.response(status: error.status.code, message: message, service: service, publicBase: base)
        }
        logger.error("unexpected error", metadata: ["request_id": "\(context.requestID)", "error": "\(error)"])
        return Fault.response(
            status: 500, message: "An unexpected error prevented the server from fulfilling your request. (\(context.requestID))",
            service: service, publicBase: base)
    }

    static func family(_ path: String) -> String {
        let first = path.split(separator: "/").first.map(String.init) ?? ""
        return ["identity", "compute", "image", "networking", "volume", "object-store", "s3", "orchestration", "metrics"]
            .contains(first) ? first : "other"
    }
}

extension HTTPField.Name {
    static let authToken = known("X-Auth-Token")
    static let subjectToken = known("X-Subject-Token")
    static let requestID = known("x-openstack-request-id")
    static let wwwAuthenticate = known("WWW-Authenticate")
    static let openStackAPIVersion = known("OpenStack-API-Version")
    static let novaAPIVersion = known("X-OpenStack-Nova-API-Version")

    /// A header name written in this source, so always valid.
    static func known(_ name: String) -> HTTPField.Name {
        guard let field = HTTPField.Name(name) else { preconditionFailure("invalid header name \(name)") }
        return field
    }
}
