import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import UpdraftCore

/// The one way an API answers with JSON. Codable bodies go through an encoder whose links
/// start at ``base``; ``JSONValue`` bodies through the direct writer, where speed matters
/// (compute's server list). Every answer carries the API's media type and the headers it
/// stamps on all of them (compute's microversion); the edge adds the request id.
struct Responder: Sendable {
    /// Where resource links start (`http://host:port/identity`), handed to Codable bodies.
    let base: String
    /// Glance says `application/json; charset=UTF-8`, the others `application/json`.
    var contentType = "application/json"
    /// Headers on every answer, empty ones included.
    var stamp: HTTPFields = [:]

    /// For answers with no body and no stamp.
    static let plain = Responder(base: "")

    /// A Codable body.
    func respond(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        let bytes = try StreamingJSONEncoder(userInfo: [.linkBase: base]).encode(value)
        return answer(bytes, status: status, headers: headers)
    }

    /// A body built as a ``JSONValue``, written directly.
    func respond(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        answer(value.serialized(), status: status, headers: headers)
    }

    /// Bytes already encoded as JSON (a cached token body).
    func respond(encoded bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        answer(bytes, status: status, headers: headers)
    }

    /// A body already written into the buffer it is sent from (a long list).
    func respond(encoded buffer: ByteBuffer, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        answer(buffer, status: status, headers: headers)
    }

    /// A list body: `{"<key>": [...], "links": {"self": ..., "previous": null, "next": null}}`.
    func list(_ key: String, _ items: [some Encodable], selfURL: String) throws -> Response {
        try respond(ListBody(key: key, items: items, selfURL: selfURL))
    }

    /// An answer without a body (204, or compute's 202 for an accepted action).
    func empty(_ status: HTTPResponse.Status = .noContent, headers: HTTPFields = [:]) -> Response {
        var all = stamp
        all.append(contentsOf: headers)
        return Response(status: status, headers: all)
    }

    private func answer(_ bytes: [UInt8], status: HTTPResponse.Status, headers: HTTPFields) -> Response {
        answer(ByteBuffer(bytes: bytes), status: status, headers: headers)
    }

    private func answer(_ buffer: ByteBuffer, status: HTTPResponse.Status, headers: HTTPFields) -> Response {
        var all = stamp
        all.append(contentsOf: headers)
        all[.contentType] = contentType
        return Response(status: status, headers: all, body: .init(byteBuffer: buffer))
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
