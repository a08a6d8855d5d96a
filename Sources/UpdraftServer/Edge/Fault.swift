import Foundation
import HTTPTypes
import Hummingbird
import UpdraftCore

/// Writes an ``UpdraftError`` in the fault format of the service that answers.
enum Fault {
    /// The service a path belongs to, which decides the body format.
    enum Service {
        case identity
        case other

        init(path: String) {
            self = path.hasPrefix("/identity") ? .identity : .other
        }
    }

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
        let body: JSONValue = .object([
            "error": .object(["code": .number(Double(status)), "title": .string(title), "message": .string(message)])
        ])
        let data = (try? JSONEncoder().encode(body)) ?? Data()
        return Response(
            status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
