import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import UpdraftCore
import UpdraftObjectStorage

/// A listing written in the format the client asked for: `?format=json|xml|plain`, or its
/// `Accept` header; plain text (one name per line) otherwise. An empty plain listing is 204.
enum SwiftListing {
    enum Format { case plain, json, xml }

    static func format(_ request: Request) -> Format {
        switch request.query["format"]?.lowercased() {
        case "json": return .json
        case "xml": return .xml
        case "plain": return .plain
        default: break
        }
        let accept = request.headers[.accept]?.lowercased() ?? ""
        if accept.contains("application/json") { return .json }
        if accept.contains("application/xml") || accept.contains("text/xml") { return .xml }
        return .plain
    }

    /// The query Swift reads from `prefix`, `delimiter`, `marker`, `end_marker`, `limit`, `reverse`.
    static func query(_ request: Request) throws(UpdraftError) -> ListingQuery {
        let query = request.query
        var listing = ListingQuery(
            prefix: query["prefix"], delimiter: query["delimiter"], marker: query["marker"],
            endMarker: query["end_marker"])
        if let limit = query["limit"] {
            guard let value = Int(limit) else { throw .preconditionFailed("Value of limit must be a positive integer") }
            listing.limit = value
        }
        listing.reverse = ObjectStorageController.isTrue(query["reverse"])
        return listing
    }

    /// The answer: `headers` plus the body and its type.
    static func response(
        _ entries: [ListingEntry], format: Format, root: (tag: String, name: String), headers: HTTPFields, isHead: Bool
    ) -> Response {
        var headers = headers
        let bytes: [UInt8]
        switch format {
        case .plain:
            headers[.contentType] = "text/plain; charset=utf-8"
            if entries.isEmpty { return ObjectStorageController.empty(.noContent, headers) }
            bytes = Array(entries.map { $0.name + "\n" }.joined().utf8)
        case .json:
            headers[.contentType] = "application/json; charset=utf-8"
            bytes = JSONValue.array(entries.map(json)).serialized()
        case .xml:
            headers[.contentType] = "application/xml; charset=utf-8"
            bytes = Array(xml(entries, root: root).utf8)
        }
        if isHead { return ObjectStorageController.empty(.noContent, headers) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func json(_ entry: ListingEntry) -> JSONValue {
        switch entry {
        case .object(let name, let size, let etag, let contentType, let modified):
            return .object([
                "name": .string(name), "bytes": .integer(Int(size)), "hash": .string(etag),
                "content_type": .string(contentType),
                "last_modified": .string(ObjectStorageService.listingDate(modified)),
            ])
        case .container(let name, let count, let bytes, let modified):
            return .object([
                "name": .string(name), "count": .integer(Int(count)), "bytes": .integer(Int(bytes)),
                "last_modified": .string(ObjectStorageService.listingDate(modified)),
            ])
        case .subdirectory(let name):
            return .object(["subdir": .string(name)])
        }
    }

    static func xml(_ entries: [ListingEntry], root: (tag: String, name: String)) -> String {
        var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(root.tag) name=\"\(Markup.escape(root.name))\">"
        for entry in entries {
            switch entry {
            case .object(let name, let size, let etag, let contentType, let modified):
                text += "<object><name>\(Markup.escape(name))</name><hash>\(etag)</hash><bytes>\(size)</bytes>"
                text += "<content_type>\(Markup.escape(contentType))</content_type>"
                text += "<last_modified>\(ObjectStorageService.listingDate(modified))</last_modified></object>"
            case .container(let name, let count, let bytes, let modified):
                text += "<container><name>\(Markup.escape(name))</name><count>\(count)</count><bytes>\(bytes)</bytes>"
                text += "<last_modified>\(ObjectStorageService.listingDate(modified))</last_modified></container>"
            case .subdirectory(let name):
                text += "<subdir name=\"\(Markup.escape(name))\"><name>\(Markup.escape(name))</name></subdir>"
            }
        }
        return text + "</\(root.tag)>"
    }
}

extension Preconditions {
    /// The conditional headers of a Swift or S3 request; a date that does not parse is ignored.
    init(_ headers: HTTPFields) {
        self.init(
            ifMatch: headers[.ifMatch], ifNoneMatch: headers[.ifNoneMatch],
            ifModifiedSince: headers[.ifModifiedSince].flatMap(Timestamp.parseHTTPDate),
            ifUnmodifiedSince: headers[.ifUnmodifiedSince].flatMap(Timestamp.parseHTTPDate))
    }
}
