import Foundation
import Hummingbird
import NIOCore
import UpdraftCore
import UpdraftIdentity

extension Request {
    /// The body parsed as JSON: 413 past `limit` bytes, 400 when it is not JSON, and a body
    /// sent as another media type (text/plain, a form, XML) refused as the service does:
    /// Keystone with 400, Nova and Glance with 415.
    func json(limit: Int) async throws -> JSONValue {
        if let error = mediaTypeError() { throw error }
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw UpdraftError.overLimit("Request Entity Too Large: the body is over \(limit) bytes.")
        }
        return try JSONValue.parse(Data(buffer: buffer))
    }

    /// Why a body of this request's Content-Type is refused where JSON is expected: Keystone
    /// answers 400, Nova and Glance 415. Nil when it is JSON or not named.
    func mediaTypeError() -> UpdraftError? {
        guard let type = headers[.contentType], !Self.isJSON(type) else { return nil }
        let message = "The request body must be JSON (Content-Type: application/json), not \(type)."
        return Fault.Service(path: uri.path) == .identity
            ? UpdraftError.badRequest(message) : UpdraftError(.unsupportedMediaType, message)
    }

    /// Whether the request carries a body (a non-zero Content-Length, or chunked).
    var hasBody: Bool {
        if let length = headers[.contentLength] { return length != "0" }
        return headers[.transferEncoding] != nil
    }

    /// `application/json`, a `+json` type or Glance's JSON-patch type, with any parameters.
    static func isJSON(_ contentType: String) -> Bool {
        let media = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return media == "application/json" || media.hasSuffix("+json") || media.hasSuffix("-json-patch")
    }

    /// Query parameters, last value wins.
    var query: [String: String] {
        var result: [String: String] = [:]
        for (key, value) in uri.queryParameters { result[String(key)] = String(value) }
        return result
    }
}

extension UpdraftRequestContext {
    /// The caller's validated token; 401 when none was sent or it did not validate.
    @discardableResult
    func caller() throws(UpdraftError) -> TokenPayload {
        guard let token, !tokenRejected else { throw .unauthorized() }
        return token
    }

    /// The caller, who must satisfy `rule`.
    @discardableResult
    func caller(_ rule: Policy.Rule) throws(UpdraftError) -> TokenPayload {
        let token = try caller()
        try Policy.authorize(token.authContext, rule)
        return token
    }

    /// A path parameter the route declared.
    func parameter(_ name: String) throws(UpdraftError) -> String {
        guard let value = parameters.get(name) else { throw .badRequest("Missing path parameter \(name).") }
        return value
    }
}

/// Builds JSON responses whose resource links start at one base URL.
struct JSONResponder: Sendable {
    let base: String

    func respond(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        let data = try Links.encoder(base: base).encode(value)
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A list body: `{"<key>": [...], "links": {"self": ..., "previous": null, "next": null}}`.
    func list(_ key: String, _ items: [some Encodable], selfURL: String) throws -> Response {
        try respond(ListBody(key: key, items: items, selfURL: selfURL))
    }

    static func empty(_ status: HTTPResponse.Status = .noContent) -> Response {
        Response(status: status)
    }
}

private struct ListBody<T: Encodable>: Encodable {
    let key: String
    let items: [T]
    let selfURL: String

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(items, forKey: Key(stringValue: key))
        var links = c.nestedContainer(keyedBy: Key.self, forKey: Key(stringValue: "links"))
        try links.encode(selfURL, forKey: Key(stringValue: "self"))
        try links.encodeNil(forKey: Key(stringValue: "previous"))
        try links.encodeNil(forKey: Key(stringValue: "next"))
    }
}
