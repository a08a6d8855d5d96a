import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import UpdraftCore
import UpdraftObjectStorage

/// Objects: put (whole, copied, or in parts), get and head with ranges and conditions, delete.
extension S3Controller {
    func object(_ request: Request, _ project: String, _ bucket: String, _ key: String, signed: Signed) async throws
        -> Response
    {
        let query = request.query
        let caller = signed.caller
        switch request.method {
        case .put where query["partNumber"] != nil && query["uploadId"] != nil:
            return try await putPart(request, project, bucket, key, signed: signed)
        case .put where query["acl"] != nil:
            _ = try await storage.object(project, bucket, key, caller: caller)
            return Response(status: .ok)
        case .put where request.headers[.amzCopySource] != nil:
            return try await copy(request, project, bucket, key, caller: caller)
        case .put:
            let write = try Self.objectWrite(request)
            let stored = try await storage.putObject(
                project, bucket, key, write, bytes: Self.body(request, signed), caller: caller)
            return Response(status: .ok, headers: [.eTag: "\"\(stored.etag)\"", .contentLength: "0"])
        case .get where query["uploadId"] != nil:
            return try await listParts(project, bucket, key, upload: query["uploadId"] ?? "", caller: caller)
        case .get where query["acl"] != nil:
            let container = try await storage.container(project, bucket, caller: caller)
            _ = try await storage.object(project, bucket, key, caller: caller)
            return S3XML.response(Self.policy(project, publicRead: Self.isPublic(container.readACL)))
        case .get, .head:
            return try await read(request, project, bucket, key, caller: caller)
        case .delete where query["uploadId"] != nil:
            try await storage.abortUpload(project, bucket, key, upload: query["uploadId"] ?? "", caller: caller)
            return Response(status: .noContent)
        case .delete:
            do {
                try await storage.deleteObject(project, bucket, key, caller: caller)
            } catch {
                // S3 answers 204 for a key that is not there.
                guard error.code == .notFound, error.kind != "NoSuchBucket" else { throw error }
            }
            return Response(status: .noContent)
        case .post where query["uploads"] != nil:
            let id = try await storage.createUpload(project, bucket, key, try Self.objectWrite(request), caller: caller)
            let xml =
                "<InitiateMultipartUploadResult xmlns=\"\(S3XML.namespace)\">" + S3XML.element("Bucket", bucket)
                + S3XML.element("Key", key) + S3XML.element("UploadId", id) + "</InitiateMultipartUploadResult>"
            return S3XML.response(xml)
        case .post where query["uploadId"] != nil:
            return try await complete(request, project, bucket, key, upload: query["uploadId"] ?? "", caller: caller)
        default:
            throw UpdraftError(.unsupported, "This operation is not supported.", kind: "NotImplemented")
        }
    }

    /// What a PUT or a multipart upload's start says about the object: its type, `x-amz-meta-*`,
    /// stored headers, and `Content-MD5` (checked against the bytes).
    static func objectWrite(_ request: Request) throws(UpdraftError) -> ObjectStorageService.ObjectWrite {
        var write = ObjectStorageService.ObjectWrite()
        for field in request.headers {
            let name = field.name.canonicalName
            if name.hasPrefix("x-amz-meta-") { write.metadata[String(name.dropFirst("x-amz-meta-".count))] = field.value }
        }
        write.contentType = request.headers[.contentType]
        if let disposition = request.headers[.contentDisposition] { write.headers["content-disposition"] = disposition }
        if let encoding = request.headers[.contentEncoding] {
            let kept = encoding.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { $0 != "aws-chunked" }
            if !kept.isEmpty { write.headers["content-encoding"] = kept.joined(separator: ", ") }
        }
        if let md5 = request.headers[.contentMD5] {
            guard let digest = Data(base64Encoded: md5), digest.count == 16 else {
                throw UpdraftError(.badRequest, "The Content-MD5 you specified is not valid.", kind: "InvalidDigest")
            }
            write.expectedETag = digest.hexString
        }
        write.contentLength = (request.headers[.amzDecodedContentLength] ?? request.headers[.contentLength]).flatMap {
            Int64($0)
        }
        return write
    }

    /// `UploadPart`, or `UploadPartCopy` with `x-amz-copy-source` (and `x-amz-copy-source-range`).
    func putPart(_ request: Request, _ project: String, _ bucket: String, _ key: String, signed: Signed) async throws
        -> Response
    {
        let query = request.query
        guard let number = Int(query["partNumber"] ?? ""), let upload = query["uploadId"] else {
            throw UpdraftError(.badRequest, "Part number must be an integer.", kind: "InvalidArgument")
        }
        if let source = request.headers[.amzCopySource] {
            let (sourceBucket, sourceKey) = try Self.copySource(source)
            let (_, original) = try await storage.object(project, sourceBucket, sourceKey, caller: signed.caller)
            var body = try await storage.body(project, of: original, caller: signed.caller)
            if let range = request.headers[.amzCopySourceRange] {
                guard case .partial(let ranges) = ByteRanges(header: range, size: body.size), ranges.count == 1 else {
                    throw UpdraftError(.rangeNotSatisfiable, "The requested range is not satisfiable", kind: "InvalidRange")
                }
                body = body.slice(ranges[0])
            }
            let part = try await storage.putPart(
                project, bucket, key, upload: upload, number: number, bytes: body.chunks, caller: signed.caller)
            let xml =
                "<CopyPartResult xmlns=\"\(S3XML.namespace)\">" + S3XML.element("LastModified", S3XML.date(part.modifiedAt))
                + S3XML.element("ETag", "\"\(part.etag)\"") + "</CopyPartResult>"
            return S3XML.response(xml)
        }
        let part = try await storage.putPart(
            project, bucket, key, upload: upload, number: number, bytes: Self.body(request, signed), caller: signed.caller)
        return Response(status: .ok, headers: [.eTag: "\"\(part.etag)\"", .contentLength: "0"])
    }

    /// `bucket/key` (optionally `/bucket/key`, percent-encoded, `?versionId=...` ignored) of a copy.
    static func copySource(_ header: String) throws(UpdraftError) -> (String, String) {
        let path = header.split(separator: "?", maxSplits: 1).first.map(String.init) ?? header
        let decoded = path.removingPercentEncoding ?? path
        let trimmed = decoded.hasPrefix("/") ? decoded.dropFirst() : Substring(decoded)
        guard let slash = trimmed.firstIndex(of: "/"), trimmed.index(after: slash) < trimmed.endIndex else {
            throw UpdraftError(.badRequest, "Copy Source must mention the source bucket and key.", kind: "InvalidArgument")
        }
        return (String(trimmed[..<slash]), String(trimmed[trimmed.index(after: slash)...]))
    }

    /// `CopyObject`: the source's bytes, and its metadata unless `x-amz-metadata-directive: REPLACE`.
    func copy(_ request: Request, _ project: String, _ bucket: String, _ key: String, caller: ObjectStorageService.Caller)
        async throws -> Response
    {
        let (sourceBucket, sourceKey) = try Self.copySource(request.headers[.amzCopySource] ?? "")
        let replace = request.headers[.amzMetadataDirective]?.uppercased() == "REPLACE"
        var write = try Self.objectWrite(request)
        if !replace { write.contentType = nil }
        write.expectedETag = nil
        let (_, copy) = try await storage.copyObject(
            from: (project, sourceBucket, sourceKey), to: (project, bucket, key), write, fresh: replace, caller: caller)
        let xml =
            "<CopyObjectResult xmlns=\"\(S3XML.namespace)\">" + S3XML.element("LastModified", S3XML.date(copy.modifiedAt))
            + S3XML.element("ETag", "\"\(copy.etag)\"") + "</CopyObjectResult>"
        return S3XML.response(xml)
    }

    /// `GetObject` and `HeadObject`: one range at most (S3 serves no multipart ranges),
    /// conditions, and the `response-*` overrides.
    func read(_ request: Request, _ project: String, _ bucket: String, _ key: String, caller: ObjectStorageService.Caller)
        async throws -> Response
    {
        let (_, object) = try await storage.object(project, bucket, key, caller: caller)
        let body = try await storage.body(project, of: object, caller: caller)
        let etag = object.headers[ObjectStorageService.s3ETagHeader] ?? body.etag ?? object.etag
        var headers: HTTPFields = [
            .contentType: object.contentType, .eTag: "\"\(etag)\"", .acceptRanges: "bytes",
            .lastModified: Timestamp.httpDate(object.modifiedAt.rounded(.up)),
        ]
        for (name, value) in object.metadata.sorted(by: { $0.key < $1.key }) {
            if let field = HTTPField.Name("x-amz-meta-" + name) { headers[field] = value }
        }
        for (name, value) in object.headers where !name.hasPrefix("x-object-sysmeta-") {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        let query = request.query
        for (parameter, field) in [
            ("response-content-type", HTTPField.Name.contentType), ("response-content-disposition", .contentDisposition),
            ("response-content-encoding", .contentEncoding), ("response-cache-control", .cacheControl),
            ("response-expires", .expires), ("response-content-language", .contentLanguage),
        ] {
            if let value = query[parameter] { headers[field] = value }
        }
        switch Preconditions(request.headers).evaluate(etag: etag, modified: object.modifiedAt, isRead: true) {
        case .proceed: break
        case .notModified: return Response(status: .notModified, headers: headers)
        case .failed:
            throw UpdraftError(.preconditionFailed, "At least one of the pre-conditions you specified did not hold")
        }
        let size = body.size
        switch ByteRanges(header: request.headers[.range], size: size) {
        case .unsatisfiable:
            throw UpdraftError(.rangeNotSatisfiable, "The requested range is not satisfiable", kind: "InvalidRange")
        case .partial(let ranges):
            headers[.contentRange] = "bytes \(ranges[0].lowerBound)-\(ranges[0].upperBound)/\(size)"
            let slice = body.slice(ranges[0])
            if request.method == .head { return ObjectStorageController.empty(.partialContent, headers, length: slice.size) }
            return ObjectStorageController.stream(slice, status: .partialContent, headers: headers)
        case .whole:
            if request.method == .head { return ObjectStorageController.empty(.ok, headers, length: size) }
            return ObjectStorageController.stream(body, status: .ok, headers: headers)
        }
    }

    /// `ListParts`.
    func listParts(_ project: String, _ bucket: String, _ key: String, upload: String, caller: ObjectStorageService.Caller)
        async throws -> Response
    {
        let parts = try await storage.parts(project, bucket, key, upload: upload, caller: caller)
        var xml = "<ListPartsResult xmlns=\"\(S3XML.namespace)\">" + S3XML.element("Bucket", bucket)
        xml += S3XML.element("Key", key) + S3XML.element("UploadId", upload) + S3XML.element("StorageClass", "STANDARD")
        xml += S3XML.element("PartNumberMarker", "0") + S3XML.element("MaxParts", "10000")
        xml += S3XML.element("IsTruncated", "false")
        if let last = parts.last { xml += S3XML.element("NextPartNumberMarker", String(last.number)) }
        for part in parts {
            xml += "<Part>" + S3XML.element("PartNumber", String(part.number))
            xml += S3XML.element("LastModified", S3XML.date(part.modifiedAt)) + S3XML.element("ETag", "\"\(part.etag)\"")
            xml += S3XML.element("Size", String(part.size)) + "</Part>"
        }
        return S3XML.response(xml + "</ListPartsResult>")
    }

    /// `CompleteMultipartUpload`: the parts the body names, in its order.
    func complete(
        _ request: Request, _ project: String, _ bucket: String, _ key: String, upload: String,
        caller: ObjectStorageService.Caller
    ) async throws -> Response {
        let text = String(buffer: try await request.body.collect(upTo: 4 << 20))
        var chosen: [(number: Int, etag: String)] = []
        for block in S3XML.blocks("Part", in: text) {
            guard let number = S3XML.values("PartNumber", in: block).first.flatMap({ Int($0) }),
                let etag = S3XML.values("ETag", in: block).first
            else {
                throw UpdraftError(
                    .badRequest, "The XML you provided was not well-formed or did not validate against our published schema.",
                    kind: "MalformedXML")
            }
            chosen.append((number, etag))
        }
        let object = try await storage.completeUpload(project, bucket, key, upload: upload, parts: chosen, caller: caller)
        let etag = object.headers[ObjectStorageService.s3ETagHeader] ?? object.etag
        let xml =
            "<CompleteMultipartUploadResult xmlns=\"\(S3XML.namespace)\">" + S3XML.element("Location", "/s3/\(bucket)/\(key)")
            + S3XML.element("Bucket", bucket) + S3XML.element("Key", key) + S3XML.element("ETag", "\"\(etag)\"")
            + "</CompleteMultipartUploadResult>"
        return S3XML.response(xml)
    }
}
