import Foundation
import HTTPTypes
import Hummingbird
import UpdraftCore

/// Writes an ``UpdraftError`` in the fault format of the service that answers.
enum Fault {
    /// The service a path belongs to, which decides the body format.
    enum Service {
        case identity
        case compute
        case image
        case other

        init(path: String) {
            if path.hasPrefix("/identity") {
                self = .identity
            } else if path.hasPrefix("/compute") {
                self = .compute
            } else if path.hasPrefix("/image") {
                self = .image
            } else {
                self = .other
            }
        }
    }

    /// Nova names the fault object after its kind: `{"itemNotFound": {"message": ..., "code": 404}}`.
    static let novaKinds: [Int: String] = [
        400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound", 405: "HTTPMethodNotAllowed",
        409: "conflictingRequest", 413: "overLimit", 415: "badMediaType", 501: "notImplemented",
    ]

    static let titles: [Int: String] = [
        400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
        409: "Conflict", 413: "Request Entity Too Large", 415: "Unsupported Media Type", 500: "Internal Server Error",
        501: "Not Implemented", 504: "Gateway Timeout",
    ]

    static func response(status: Int, message: String, service: Service, publicBase: String) -> Response {
        let title = titles[status] ?? "Error"
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == 401, service == .identity {
            headers[.wwwAuthenticate] = "Keystone uri=\"\(publicBase)/identity/v3\""
        }
        let body: JSONValue
        switch service {
        case .compute:
            body = .object([
                novaKinds[status] ?? "computeFault": .object([
                    "code": .number(Double(status)), "message": .string(message),
                ])
            ])
        case .image:
            // Glance answers in webob's plain-text form; clients show the message as is.
            headers[.contentType] = "text/plain; charset=UTF-8"
            let text = "\(status) \(title)\n\n\(message)\n\n   "
            return Response(
                status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        case .identity, .other:
            body = .object([
                "error": .object(["code": .number(Double(status)), "title": .string(title), "message": .string(message)])
            ])
        }
        let data = (try? JSONEncoder().encode(body)) ?? Data()
        return Response(
            status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
