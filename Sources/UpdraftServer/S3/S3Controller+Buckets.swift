import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import UpdraftCore
import UpdraftObjectStorage

/// Buckets: create, head, list (v1 and v2), ACLs, multipart uploads in progress, delete, and
/// the multi-object delete.
extension S3Controller {
    func bucket(_ request: Request, _ project: String, _ bucket: String, signed: Signed) async throws -> Response {
        let query = request.query
        let caller = signed.caller
        switch request.method {
        case .put:
            var change = ObjectStorageService.ContainerChange()
            if let acl = request.headers[.amzACL] { change.readACL = try Self.readACL(canned: acl) }
            if query["acl"] != nil {
                try await storage.updateContainer(project, bucket, change, caller: caller)
                return Response(status: .ok)
            }
            try Self.checkNewBucketName(bucket)
            try await storage.putContainer(project, bucket, change, caller: caller)
            return Response(status: .ok, headers: [.location: "/" + bucket])
        case .head:
            _ = try await storage.container(project, bucket, caller: caller)
            return Response(status: .ok, headers: [.contentLength: "0"])
        case .delete:
            try await storage.deleteContainer(project, bucket, caller: caller)
            return Response(status: .noContent)
        case .post where query["delete"] != nil:
            return try await deleteObjects(request, project, bucket, caller: caller)
        case .get:
            if query["location"] != nil {
                _ = try await storage.container(project, bucket, caller: caller)
                return S3XML.response("<LocationConstraint xmlns=\"\(S3XML.namespace)\"/>")
            }
            if query["versioning"] != nil {
                _ = try await storage.container(project, bucket, caller: caller)
                return S3XML.response("<VersioningConfiguration xmlns=\"\(S3XML.namespace)\"/>")
            }
            if query["acl"] != nil {
                let container = try await storage.container(project, bucket, caller: caller)
                return S3XML.response(Self.policy(project, publicRead: Self.isPublic(container.readACL)))
            }
            if query["uploads"] != nil { return try await listUploads(project, bucket, caller: caller) }
            return try await list(request, project, bucket, caller: caller)
        default:
            throw UpdraftError(.unsupported, "This operation is not supported.", kind: "NotImplemented")
        }
    }

    /// S3's rules for a new bucket's name: 3 to 63 lower-case letters, digits, dots and
    /// hyphens, starting and ending with a letter or digit, with no `..` and not shaped like an
    /// IPv4 address. Existing containers of other names stay reachable through S3.
    static func checkNewBucketName(_ name: String) throws(UpdraftError) {
        let bytes = Array(name.utf8)
        let allowed = { (byte: UInt8) in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        let valid =
            (3...63).contains(bytes.count)
            && bytes.allSatisfy { allowed($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
            && allowed(bytes[0]) && allowed(bytes[bytes.count - 1]) && !name.contains("..")
            && !(name.split(separator: ".").count == 4 && name.split(separator: ".").allSatisfy { UInt8($0) != nil })
        guard valid else { throw UpdraftError(.badRequest, "The specified bucket is not valid.", kind: "InvalidBucketName") }
    }

    /// The container read ACL of a canned S3 ACL: `public-read` lets anyone read and list.
    static func readACL(canned: String) throws(UpdraftError) -> String {
        switch canned {
        case "private": return ""
        case "public-read", "public-read-write": return ".r:*,.rlistings"
        case "authenticated-read": return "*:*"
        default: throw UpdraftError(.badRequest, "Unsupported canned ACL \(canned).", kind: "InvalidArgument")
        }
    }

    static func isPublic(_ acl: String?) -> Bool {
        guard let acl, let parsed = try? ContainerACL(parsing: acl) else { return false }
        return parsed.publicRead
    }

    /// An `AccessControlPolicy`: the owner's FULL_CONTROL, and READ for everyone when public.
    static func policy(_ project: String, publicRead: Bool) -> String {
        let owner = S3XML.element("ID", project) + S3XML.element("DisplayName", project)
        var xml = "<AccessControlPolicy xmlns=\"\(S3XML.namespace)\"><Owner>\(owner)</Owner><AccessControlList>"
        xml += "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">"
        xml += owner + "</Grantee><Permission>FULL_CONTROL</Permission></Grant>"
        if publicRead {
            xml += "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\">"
            xml += "<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>"
        }
        return xml + "</AccessControlList></AccessControlPolicy>"
    }

    /// `ListObjects` (v1: `marker`) and `ListObjectsV2` (`list-type=2`: `continuation-token`,
    /// `start-after`), with `prefix`, `delimiter`, `max-keys` and `encoding-type=url`.
    func list(_ request: Request, _ project: String, _ bucket: String, caller: ObjectStorageService.Caller) async throws
        -> Response
    {
        let query = request.query
        let v2 = query["list-type"] == "2"
        let maxKeys = max(0, min(Int(query["max-keys"] ?? "") ?? 1000, 1000))
        var marker = v2 ? query["start-after"] : query["marker"]
        if v2, let token = query["continuation-token"] {
            guard let data = Data(base64Encoded: token), let decoded = String(data: data, encoding: .utf8) else {
                throw UpdraftError(.badRequest, "The continuation token provided is incorrect", kind: "InvalidArgument")
            }
            marker = decoded
        }
        var listing = ListingQuery(
            prefix: query["prefix"], delimiter: query["delimiter"], marker: marker, limit: maxKeys + 1)
        listing.s3ETags = true
        let (_, all) = try await storage.listObjects(project, bucket, listing, caller: caller)
        let truncated = all.count > maxKeys
        let entries = Array(all.prefix(maxKeys))
        let url = query["encoding-type"] == "url"
        func key(_ text: String) -> String { url ? Self.urlEncode(text) : text }
        var xml = "<ListBucketResult xmlns=\"\(S3XML.namespace)\">" + S3XML.element("Name", bucket)
        xml += S3XML.element("Prefix", key(query["prefix"] ?? ""))
        if v2 {
            xml += S3XML.element("KeyCount", String(entries.count))
            if let token = query["continuation-token"] { xml += S3XML.element("ContinuationToken", token) }
            if let start = query["start-after"] { xml += S3XML.element("StartAfter", key(start)) }
            if truncated, let last = entries.last {
                xml += S3XML.element("NextContinuationToken", Data(last.name.utf8).base64EncodedString())
            }
        } else {
            xml += S3XML.element("Marker", key(query["marker"] ?? ""))
            if truncated, query["delimiter"] != nil, let last = entries.last {
                xml += S3XML.element("NextMarker", key(last.name))
            }
        }
        xml += S3XML.element("MaxKeys", String(maxKeys))
        if let delimiter = query["delimiter"] { xml += S3XML.element("Delimiter", key(delimiter)) }
        if url { xml += S3XML.element("EncodingType", "url") }
        xml += S3XML.element("IsTruncated", truncated ? "true" : "false")
        for entry in entries {
            switch entry {
            case .object(let name, let size, let etag, _, let modified):
                xml += "<Contents>" + S3XML.element("Key", key(name))
                xml += S3XML.element("LastModified", S3XML.date(modified)) + S3XML.element("ETag", "\"\(etag)\"")
                xml += S3XML.element("Size", String(size)) + S3XML.element("StorageClass", "STANDARD")
                if !v2 || query["fetch-owner"] == "true" {
                    xml += "<Owner>" + S3XML.element("ID", project) + S3XML.element("DisplayName", project) + "</Owner>"
                }
                xml += "</Contents>"
            case .subdirectory(let prefix):
                xml += "<CommonPrefixes>" + S3XML.element("Prefix", key(prefix)) + "</CommonPrefixes>"
            case .container:
                break
            }
        }
        return S3XML.response(xml + "</ListBucketResult>")
    }

    /// S3's `encoding-type=url`: every byte but unreserved ones and `/` percent-encoded.
    static func urlEncode(_ text: String) -> String {
        SignatureV4.encode(text).replacingOccurrences(of: "%2F", with: "/")
    }

    /// `ListMultipartUploads`.
    func listUploads(_ project: String, _ bucket: String, caller: ObjectStorageService.Caller) async throws -> Response {
        let uploads = try await storage.uploads(project, bucket, caller: caller)
        var xml = "<ListMultipartUploadsResult xmlns=\"\(S3XML.namespace)\">" + S3XML.element("Bucket", bucket)
        xml += "<KeyMarker/><UploadIdMarker/>" + S3XML.element("MaxUploads", "1000") + S3XML.element("IsTruncated", "false")
        for upload in uploads {
            xml += "<Upload>" + S3XML.element("Key", upload.name) + S3XML.element("UploadId", upload.id)
            xml += S3XML.element("Initiated", S3XML.date(upload.createdAt)) + S3XML.element("StorageClass", "STANDARD")
            xml += "</Upload>"
        }
        return S3XML.response(xml + "</ListMultipartUploadsResult>")
    }

    /// `DeleteObjects` (`POST /{bucket}?delete`): each key deleted, a missing one counted as deleted.
    func deleteObjects(_ request: Request, _ project: String, _ bucket: String, caller: ObjectStorageService.Caller)
        async throws -> Response
    {
        let buffer = try await request.body.collect(upTo: 2 << 20)
        let text = String(buffer: buffer)
        let keys = S3XML.blocks("Object", in: text).compactMap { S3XML.values("Key", in: $0).first }
        guard keys.count <= 1000 else {
            throw UpdraftError(.badRequest, "You may delete at most 1000 objects in one request.", kind: "MalformedXML")
        }
        let quiet = S3XML.values("Quiet", in: text).first?.lowercased() == "true"
        var xml = "<DeleteResult xmlns=\"\(S3XML.namespace)\">"
        for key in keys {
            do {
                try await storage.deleteObject(project, bucket, key, caller: caller)
                if !quiet { xml += "<Deleted>" + S3XML.element("Key", key) + "</Deleted>" }
            } catch {
                // A key that is not there counts as deleted, as in S3.
                if error.code == .notFound, error.kind != "NoSuchBucket" {
                    if !quiet { xml += "<Deleted>" + S3XML.element("Key", key) + "</Deleted>" }
                    continue
                }
                xml += "<Error>" + S3XML.element("Key", key)
                xml += S3XML.element("Code", error.kind ?? FaultDialect.s3Codes[error.code.httpStatus] ?? "InternalError")
                xml += S3XML.element("Message", error.message) + "</Error>"
            }
        }
        return S3XML.response(xml + "</DeleteResult>")
    }
}
