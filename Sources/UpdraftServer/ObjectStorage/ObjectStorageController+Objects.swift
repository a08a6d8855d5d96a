import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import UpdraftCore
import UpdraftObjectStorage

/// Objects: bytes streamed in and out, ranges, conditions, copies, large objects.
extension ObjectStorageController {
    func object(
        _ request: Request, _ target: Target, _ container: String, _ name: String, caller: ObjectStorageService.Caller
    ) async throws -> Response {
        let project = target.project
        switch request.method {
        case .get, .head:
            return try await read(request, project, container, name, caller: caller)
        case .put:
            if let source = request.headers[.copyFrom] {
                let account = try Self.account(request.headers[.copyFromAccount]) ?? project
                let (from, to) = (try Self.objectPath(source, account: account), (project, container, name))
                return try await copy(request, from: from, to: to, caller: caller)
            }
            return try await put(request, project, container, name, caller: caller)
        case Self.copy:
            guard let destination = request.headers[.destination] else {
                throw UpdraftError.preconditionFailed("You must specify a Destination header")
            }
            let account = try Self.account(request.headers[.destinationAccount]) ?? project
            let to = try Self.objectPath(destination, account: account)
            return try await copy(request, from: (project, container, name), to: to, caller: caller)
        case .post:
            let write = try Self.objectWrite(request)
            try await storage.updateObject(
                project, container, name, metadata: write.metadata, contentType: request.headers[.contentType],
                headers: write.headers,
                deleteAt: request.headers[.removeDeleteAt] != nil ? .some(nil) : write.deleteAt.map { $0 },
                manifest: request.headers[.objectManifest], caller: caller)
            return Self.empty(.accepted, [.contentType: "text/html; charset=UTF-8"])
        case .delete:
            if request.query["multipart-manifest"] == "delete" {
                let result = try await storage.deleteStaticObject(project, container, name, caller: caller)
                return Self.bulkDeleteResponse(result, request: request)
            }
            try await storage.deleteObject(project, container, name, caller: caller)
            return Self.empty(.noContent, [.contentType: "text/html; charset=UTF-8"])
        default:
            throw HTTPError(.methodNotAllowed)
        }
    }

    /// `AUTH_<project>` of a `Destination-Account` or `X-Copy-From-Account` header.
    static func account(_ header: String?) throws(UpdraftError) -> String? {
        guard let header else { return nil }
        let decoded = header.removingPercentEncoding ?? header
        guard decoded.hasPrefix("AUTH_"), decoded.count > 5 else {
            throw .preconditionFailed("Account name must be AUTH_<project_id>")
        }
        return String(decoded.dropFirst(5))
    }

    /// `container/object` (optionally with a leading slash, percent-encoded) of a copy.
    static func objectPath(_ header: String, account: String) throws(UpdraftError) -> (String, String, String) {
        let decoded = header.removingPercentEncoding ?? header
        let path = decoded.hasPrefix("/") ? decoded.dropFirst() : Substring(decoded)
        guard let slash = path.firstIndex(of: "/"), slash != path.startIndex, path.index(after: slash) != path.endIndex
        else {
            throw .preconditionFailed("Destination header must be of the form <container name>/<object name>")
        }
        return (account, String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    /// What a PUT, COPY or POST says about the object, read from its headers.
    static func objectWrite(_ request: Request) throws(UpdraftError) -> ObjectStorageService.ObjectWrite {
        var write = ObjectStorageService.ObjectWrite()
        let headers = request.headers
        write.metadata = MetadataChange.parse(headerList(request), kind: "object", keepEmpty: true).assigned
        if headers[.detectContentType]?.lowercased() != "true" { write.contentType = headers[.contentType] }
        for name in ["content-disposition", "content-encoding"] {
            if let field = HTTPField.Name(name), let value = headers[field] { write.headers[name] = value }
        }
        if let after = headers[.deleteAfter] {
            guard let seconds = Double(after), seconds >= 0 else { throw .badRequest("Non-integer X-Delete-After") }
            write.deleteAt = (Date.now.timeIntervalSince1970 + seconds).rounded(.down)
        } else if let at = headers[.deleteAt] {
            guard let seconds = Double(at) else { throw .badRequest("Non-integer X-Delete-At") }
            write.deleteAt = seconds
        }
        write.expectedETag = headers[.eTag]
        if let manifest = headers[.objectManifest] { write.manifest = manifest }
        write.ifNoneMatchAny = headers[.ifNoneMatch]?.trimmingCharacters(in: .whitespaces) == "*"
        if let ifNoneMatch = headers[.ifNoneMatch], ifNoneMatch.trimmingCharacters(in: .whitespaces) != "*" {
            throw .badRequest("If-None-Match only supports *")
        }
        write.contentLength = headers[.contentLength].flatMap { Int64($0) }
        return write
    }

    /// Serves `PUT` of an object: its bytes, or a static manifest (`?multipart-manifest=put`).
    func put(
        _ request: Request, _ project: String, _ container: String, _ name: String, caller: ObjectStorageService.Caller
    ) async throws -> Response {
        let write = try Self.objectWrite(request)
        if write.contentLength == nil, request.headers[.transferEncoding]?.lowercased().contains("chunked") != true {
            throw UpdraftError(.lengthRequired, "Missing Content-Length header.")
        }
        let stored: StoredObject
        if request.query["multipart-manifest"] == "put" {
            stored = try await storage.putStaticManifest(
                project, container, name, write,
                segments: try await Self.segments(request, limit: storage.limits.maxManifestSize),
                caller: caller)
        } else {
            stored = try await storage.putObject(project, container, name, write, bytes: request.body, caller: caller)
        }
        return Self.empty(
            .created,
            [
                .eTag: stored.kind == .static ? "\"\(stored.etag)\"" : stored.etag,
                .lastModified: Timestamp.httpDate(stored.modifiedAt.rounded(.up)),
                .contentType: "text/html; charset=UTF-8",
            ])
    }

    /// A static manifest's segments from the JSON a client puts.
    static func segments(_ request: Request, limit: Int) async throws -> [ObjectStorageService.SegmentSpec] {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw UpdraftError.overLimit("Manifest File > \(limit) bytes")
        }
        guard let list = try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [[String: Any]] else {
            throw UpdraftError.badRequest("Manifest must be valid JSON.")
        }
        return try list.enumerated().map { index, entry in
            guard let path = entry["path"] as? String else {
                throw UpdraftError.badRequest("Index \(index): \"path\" must be a string.")
            }
            var spec = ObjectStorageService.SegmentSpec(path: path)
            spec.etag = entry["etag"] as? String
            if let size = entry["size_bytes"] as? NSNumber { spec.sizeBytes = size.int64Value }
            if let size = entry["size_bytes"] as? String { spec.sizeBytes = Int64(size) }
            spec.range = entry["range"] as? String
            return spec
        }
    }

    /// Serves `COPY` and `PUT` with `X-Copy-From`: 201 naming the source.
    func copy(
        _ request: Request, from source: (String, String, String), to target: (String, String, String),
        caller: ObjectStorageService.Caller
    ) async throws -> Response {
        var write = try Self.objectWrite(request)
        if request.method == .put, request.headers[.contentLength].flatMap(Int.init) ?? 0 > 0 {
            throw UpdraftError.badRequest("Copy requests require a zero byte body")
        }
        write.contentLength = nil
        let fresh = request.headers[.freshMetadata]?.lowercased() == "true"
        let (original, copy) = try await storage.copyObject(
            from: source, to: target, write, fresh: fresh, caller: caller)
        var headers: HTTPFields = [
            .eTag: copy.etag, .lastModified: Timestamp.httpDate(copy.modifiedAt.rounded(.up)),
            .copiedFrom: "\(Self.quote(source.1))/\(Self.quote(source.2))",
            .copiedFromLastModified: Timestamp.httpDate(original.modifiedAt.rounded(.up)),
            .contentType: "text/html; charset=UTF-8",
        ]
        if source.0 != target.0 { headers[.copiedFromAccount] = "AUTH_" + source.0 }
        Self.addMetadata(copy.metadata, kind: "Object", to: &headers)
        return Self.empty(.created, headers)
    }

    static func quote(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? text
    }

    /// Serves `GET` and `HEAD` of an object: conditions, then one range, several
    /// (`multipart/byteranges`) or the whole, streamed from its blobs.
    func read(
        _ request: Request, _ project: String, _ container: String, _ name: String, caller: ObjectStorageService.Caller
    ) async throws -> Response {
        let (_, object) = try await storage.object(project, container, name, caller: caller)
        var headers: HTTPFields = [
            .contentType: object.contentType, .xTimestamp: Self.timestamp(object.modifiedAt),
            .lastModified: Timestamp.httpDate(object.modifiedAt.rounded(.up)), .acceptRanges: "bytes",
        ]
        for (key, value) in object.headers.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name(key) { headers[name] = value }
        }
        if let deleteAt = object.deleteAt { headers[.deleteAt] = String(Int64(deleteAt)) }
        let manifestGet = request.query["multipart-manifest"] == "get"
        if object.kind == .dynamic, let manifest = object.manifest { headers[.objectManifest] = manifest }
        if object.kind == .static { headers[.staticLargeObject] = "True" }
        if case .signed = caller {
            Self.tempURLHeaders(request, object: object, to: &headers)
        } else {
            Self.addMetadata(object.metadata, kind: "Object", to: &headers)
        }

        if manifestGet && object.kind == .static {
            let document = try await storage.manifestDocument(object, raw: request.query["format"] == "raw")
            headers[.contentType] = "application/json; charset=utf-8"
            headers[.eTag] = Insecure.MD5.hash(data: document).hexString
            if request.method == .head { return Self.empty(.ok, headers, length: Int64(document.count)) }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
        var body: ObjectBody
        if manifestGet && object.kind == .dynamic {
            body = ObjectBody(parts: [], blobs: storage.blobs)
        } else {
            body = try await storage.body(project, of: object, caller: caller)
        }
        let etag = body.etag ?? object.etag
        headers[.eTag] = object.kind == .plain || manifestGet ? etag : "\"\(etag)\""
        switch Preconditions(request.headers).evaluate(etag: etag, modified: object.modifiedAt, isRead: true) {
        case .proceed: break
        case .notModified: return Self.empty(.notModified, headers)
        case .failed: throw UpdraftError.preconditionFailed("A precondition of the request failed.")
        }
        let size = body.size
        if request.method == .head { return Self.empty(.ok, headers, length: size) }
        switch ByteRanges(header: request.headers[.range], size: size) {
        case .whole:
            return Self.stream(body, status: .ok, headers: headers)
        case .unsatisfiable:
            var response = FaultDialect.swift.response(
                status: 416, message: "The Range requested is not available.", publicBase: "")
            response.headers[.contentRange] = "bytes */\(size)"
            return response
        case .partial(let ranges) where ranges.count == 1:
            headers[.contentRange] = "bytes \(ranges[0].lowerBound)-\(ranges[0].upperBound)/\(size)"
            return Self.stream(body.slice(ranges[0]), status: .partialContent, headers: headers)
        case .partial(let ranges):
            return Self.multipart(body, ranges: ranges, contentType: object.contentType, headers: headers)
        }
    }

    /// What Swift's tempurl middleware does to an answer: only `X-Object-Meta-Public-*` of the
    /// metadata goes out, the body is an attachment named after the object (or `filename`,
    /// or `inline`), and `Expires` says when the URL ends.
    static func tempURLHeaders(_ request: Request, object: StoredObject, to headers: inout HTTPFields) {
        Self.addMetadata(object.metadata.filter { $0.key.hasPrefix("public-") }, kind: "Object", to: &headers)
        let query = request.query
        let filename = (query["filename"] ?? String(object.name.split(separator: "/").last ?? ""))
            .replacingOccurrences(of: "\"", with: "")
        if query["inline"] != nil {
            headers[.contentDisposition] = query["filename"] == nil ? "inline" : "inline; filename=\"\(filename)\""
        } else {
            let encoded = filename.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? filename
            headers[.contentDisposition] = "attachment; filename=\"\(filename)\"; filename*=UTF-8''\(encoded)"
        }
        if let expires = query["temp_url_expires"].flatMap(Double.init) { headers[.expires] = Timestamp.httpDate(expires) }
    }

    static func stream(_ body: ObjectBody, status: HTTPResponse.Status, headers: HTTPFields) -> Response {
        let length = body.size
        return Response(
            status: status, headers: headers,
            body: ResponseBody(contentLength: Int(length)) { writer in
                for try await chunk in body.chunks { try await writer.write(chunk) }
                try await writer.finish(nil)
            })
    }

    /// Several ranges in one `multipart/byteranges` answer, each part with its own `Content-Range`.
    static func multipart(_ body: ObjectBody, ranges: [ClosedRange<Int64>], contentType: String, headers: HTTPFields)
        -> Response
    {
        let boundary = Identifier.make()
        let size = body.size
        let heads = ranges.map { range in
            "--\(boundary)\r\nContent-Type: \(contentType)\r\nContent-Range: bytes \(range.lowerBound)-\(range.upperBound)/\(size)\r\n\r\n"
        }
        let tail = "\r\n--\(boundary)--"
        var length = Int64(tail.utf8.count)
        for (head, range) in zip(heads, ranges) {
            length += Int64(head.utf8.count) + (range.upperBound - range.lowerBound + 1) + (head == heads[0] ? 0 : 2)
        }
        var headers = headers
        headers[.contentType] = "multipart/byteranges;boundary=\(boundary)"
        return Response(
            status: .partialContent, headers: headers,
            body: ResponseBody(contentLength: Int(length)) { writer in
                for (index, (head, range)) in zip(heads, ranges).enumerated() {
                    try await writer.write(ByteBuffer(string: (index == 0 ? "" : "\r\n") + head))
                    for try await chunk in body.slice(range).chunks { try await writer.write(chunk) }
                }
                try await writer.write(ByteBuffer(string: tail))
                try await writer.finish(nil)
            })
    }

    /// The answer to `DELETE ?multipart-manifest=delete`, in JSON when asked, as Swift's bulk middleware writes it.
    static func bulkDeleteResponse(_ result: ObjectStorageService.BulkDeleteResult, request: Request) -> Response {
        bulkResponse(
            counts: [("Number Deleted", result.deleted), ("Number Not Found", result.notFound)],
            status: result.errors.isEmpty ? "200 OK" : "400 Bad Request", errors: result.errors, request: request)
    }

    /// An answer of Swift's bulk middleware: its counts, the overall status and each failure,
    /// in JSON when asked, else as `Key: value` lines. Always 200: the outcome is in the body.
    static func bulkResponse(
        counts: [(String, Int)], status: String, errors: [(path: String, status: String)], request: Request
    ) -> Response {
        if SwiftListing.format(request) == .json {
            var fields: [String: JSONValue] = [
                "Response Status": .string(status), "Response Body": "",
                "Errors": .array(errors.map { .array([.string($0.path), .string($0.status)]) }),
            ]
            for (key, count) in counts { fields[key] = .integer(count) }
            return Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: JSONValue.object(fields).serialized())))
        }
        let text =
            counts.map { "\($0.0): \($0.1)\n" }.joined() + "Response Body: \nResponse Status: \(status)\nErrors: \n"
            + errors.map { "\($0.path), \($0.status)\n" }.joined()
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
