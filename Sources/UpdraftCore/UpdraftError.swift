/// The one error type that crosses module boundaries.
///
/// Services throw it; the HTTP edge maps ``Code`` to a status and writes the
/// fault body in the format of the service that answered (Keystone, Nova, ...).
public struct UpdraftError: Error, Sendable, CustomStringConvertible {
    /// A closed set of failure kinds, each with one HTTP status.
    public enum Code: String, Sendable, CaseIterable {
        case badRequest, unauthorized, forbidden, notFound, conflict, overLimit, unsupportedMediaType, unsupported
        case timeout, `internal`
        /// HTTP's own refusals that object storage answers with, as Swift and S3 do.
        case lengthRequired, preconditionFailed, rangeNotSatisfiable, unprocessable

        /// The HTTP status the edge answers with.
        public var httpStatus: Int {
            switch self {
            case .badRequest: 400
            case .unauthorized: 401
            case .forbidden: 403
            case .notFound: 404
            case .conflict: 409
            case .overLimit: 413
            case .unsupportedMediaType: 415
            case .unsupported: 501
            case .timeout: 504
            case .internal: 500
            case .lengthRequired: 411
            case .preconditionFailed: 412
            case .rangeNotSatisfiable: 416
            case .unprocessable: 422
            }
        }
    }

    public var code: Code
    /// A message the user can act on; it is sent to the client.
    public var message: String
    /// The underlying error, logged but never sent to the client.
    public var cause: (any Error)?
    /// The service's own name for the fault where its format carries one (Neutron's
    /// `IpAddressAlreadyAllocated`); the edge derives one from the code when nil.
    public var kind: String?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil, kind: String? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
        self.kind = kind
    }

    public var description: String {
        if let cause { return "\(code): \(message) (\(cause))" }
        return "\(code): \(message)"
    }

    public static func badRequest(_ message: String) -> UpdraftError { .init(.badRequest, message) }
    public static func unauthorized(_ message: String = "The request you have made requires authentication.") -> UpdraftError {
        .init(.unauthorized, message)
    }
    public static func forbidden(_ message: String = "You are not authorized to perform the requested action.") -> UpdraftError {
        .init(.forbidden, message)
    }
    public static func notFound(_ message: String) -> UpdraftError { .init(.notFound, message) }
    public static func conflict(_ message: String) -> UpdraftError { .init(.conflict, message) }
    public static func overLimit(_ message: String) -> UpdraftError { .init(.overLimit, message) }
    public static func preconditionFailed(_ message: String) -> UpdraftError { .init(.preconditionFailed, message) }
    public static func unprocessable(_ message: String) -> UpdraftError { .init(.unprocessable, message) }
    public static func `internal`(_ message: String, cause: (any Error)? = nil) -> UpdraftError {
        .init(.internal, message, cause: cause)
    }
}
