import Foundation
import Hummingbird
import NIOCore
import UpdraftCore

extension Request {
    /// The body parsed as JSON: 413 past `limit` bytes, 400 when it is not JSON, and a body
    /// sent as another media type (text/plain, a form, XML) refused as the service does
    /// (its ``FaultDialect`` decides the status: Keystone 400, Nova and Glance 415).
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

    /// Why a body of this request's Content-Type is refused where JSON is expected; nil when
    /// it is JSON or not named.
    func mediaTypeError() -> UpdraftError? {
        guard let type = headers[.contentType], !Self.isJSON(type) else { return nil }
        return UpdraftError(
            .unsupportedMediaType, "The request body must be JSON (Content-Type: application/json), not \(type).")
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
    /// The authenticated caller; 401 when no token was sent or it did not validate.
    @discardableResult
    func caller() throws(UpdraftError) -> AuthContext {
        guard let caller = authentication.caller else { throw .unauthorized() }
        return caller
    }

    /// The caller, who must satisfy `rule`.
    @discardableResult
    func caller(_ rule: Policy.Rule) throws(UpdraftError) -> AuthContext {
        let caller = try caller()
        try Policy.authorize(caller, rule)
        return caller
    }

    /// A path parameter the route declared.
    func parameter(_ name: String) throws(UpdraftError) -> String {
        guard let value = parameters.get(name) else { throw .badRequest("Missing path parameter \(name).") }
        return value
    }
}
