import Foundation
import HTTPTypes
import Hummingbird
import UpdraftCore

/// How an API writes an error: each OpenStack service has its own fault body, and the edge
/// answers every error, matched route or not, in the dialect of the API the path belongs to.
enum FaultDialect: Sendable {
    /// Keystone's `{"error": {"code", "title", "message"}}`; a 401 names where to authenticate.
    case keystone
    /// Nova's body named after the kind: `{"itemNotFound": {"code": 404, "message": ...}}`.
    case nova
    /// Glance's webob plain text: `404 Not Found\n\n<message>\n\n   `.
    case glance
    /// Neutron's `{"NeutronError": {"type", "message", "detail"}}`, typed by the fault's kind.
    case neutron
    /// Swift's short HTML page: `<html><h1>Not Found</h1><p>...</p></html>`.
    case swift
    /// S3's `<Error><Code>NoSuchKey</Code><Message>...</Message></Error>`; S3 refuses a bad
    /// signature or a missing grant with 403, never 401.
    case s3
    /// Keystone's body without the `WWW-Authenticate` header, for paths no API serves.
    case plain

    /// Nova names the fault object after its kind.
    static let novaKinds: [Int: String] = [
        400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound", 405: "HTTPMethodNotAllowed",
        409: "conflictingRequest", 413: "overLimit", 415: "badMediaType", 501: "notImplemented",
    ]

    static let titles: [Int: String] = [
        400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
        406: "Not Acceptable", 409: "Conflict", 411: "Length Required", 412: "Precondition Failed",
        413: "Request Entity Too Large", 415: "Unsupported Media Type", 416: "Requested Range Not Satisfiable",
        422: "Unprocessable Entity", 500: "Internal Server Error", 501: "Not Implemented", 504: "Gateway Timeout",
    ]

    /// The status an error code answers with: Keystone refuses a body that is not JSON with
    /// 400 where the others answer 415.
    func status(for code: UpdraftError.Code) -> Int {
        if self == .keystone, code == .unsupportedMediaType { return 400 }
        if self == .s3, code == .unauthorized { return 403 }
        if self == .s3, code == .unprocessable { return 400 }
        return code.httpStatus
    }

    /// S3's error codes where the error names none.
    static let s3Codes: [Int: String] = [
        400: "InvalidRequest", 401: "AccessDenied", 403: "AccessDenied", 404: "NoSuchKey", 405: "MethodNotAllowed",
        409: "OperationAborted", 411: "MissingContentLength", 412: "PreconditionFailed", 413: "EntityTooLarge",
        416: "InvalidRange", 422: "BadDigest", 501: "NotImplemented",
    ]

    /// Neutron's fault types where the error names none.
    static let neutronKinds: [Int: String] = [
        400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "HTTPForbidden", 404: "HTTPNotFound",
        405: "HTTPMethodNotAllowed", 409: "HTTPConflict", 413: "HTTPRequestEntityTooLarge", 415: "HTTPUnsupportedMediaType",
    ]

    /// The fault response for `status`, with `headers` added (`Allow` on a 405).
    func response(
        status: Int, message: String, publicBase: String, headers extra: HTTPFields = [:], kind: String? = nil
    ) -> Response {
        let (headers, body) = rendered(status: status, message: message, publicBase: publicBase, headers: extra, kind: kind)
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The headers and body of a fault, for ``response(status:message:publicBase:headers:)``
    /// and for answers written below the router (an unknown method).
    func rendered(
        status: Int, message: String, publicBase: String, headers extra: HTTPFields = [:], kind: String? = nil
    ) -> (HTTPFields, [UInt8]) {
        let title = Self.titles[status] ?? "Error"
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        if status == 401, self == .keystone {
            headers[.wwwAuthenticate] = "Keystone uri=\"\(publicBase)/identity/v3\""
        }
        let body: JSONValue
        switch self {
        case .nova:
            body = .object([
                Self.novaKinds[status] ?? "computeFault": .object([
                    "code": .integer(status), "message": .string(message),
                ])
            ])
        case .neutron:
            body = .object([
                "NeutronError": .object([
                    "type": .string(kind ?? Self.neutronKinds[status] ?? "HTTPInternalServerError"),
                    "message": .string(message), "detail": "",
                ])
            ])
        case .s3:
            headers[.contentType] = "application/xml"
            let code = kind ?? Self.s3Codes[status] ?? "InternalError"
            let xml =
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>\(code)</Code>"
                + "<Message>\(Markup.escape(message))</Message></Error>"
            return (headers, Array(xml.utf8))
        case .swift:
            headers[.contentType] = "text/html; charset=UTF-8"
            return (headers, Array("<html><h1>\(title)</h1><p>\(Markup.escape(message))</p></html>".utf8))
        case .glance:
            headers[.contentType] = "text/plain; charset=UTF-8"
            return (headers, Array("\(status) \(title)\n\n\(message)\n\n   ".utf8))
        case .keystone, .plain:
            body = .object([
                "error": .object(["code": .integer(status), "title": .string(title), "message": .string(message)])
            ])
        }
        return (headers, body.serialized())
    }
}
