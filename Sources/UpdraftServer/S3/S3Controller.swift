import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import UpdraftCore
import UpdraftIdentity
import UpdraftObjectStorage

/// S3's REST API, path-style: `/s3` lists buckets, `/s3/{bucket}` is a bucket, `/s3/{bucket}/{key}`
/// an object; the subresource in the query (`?uploads`, `?delete`, `?acl`, ...) picks the
/// operation. Requests are signed with Signature V4 by an EC2 credential (header, presigned
/// URL, or `aws-chunked` chunks); an unsigned request reads only public-read buckets.
struct S3Controller: Sendable {
    typealias Context = UpdraftRequestContext

    let storage: ObjectStorageService
    let identity: IdentityService

    func register(on routes: Routes) {
        let s3 = routes.group("s3")
        for method in [HTTPRequest.Method.get, .head, .put, .post, .delete] {
            s3.add(method, "", .anyone) { request, context in try await self.dispatch(request, context) }
            s3.add(method, "**", .anyone) { request, context in try await self.dispatch(request, context) }
        }
    }

    /// How the request was signed, once its signature checked out.
    struct Signed {
        var caller: ObjectStorageService.Caller
        /// How to read the body: as it is, checked against its SHA-256, or decoded from `aws-chunked`.
        var payload: Payload
        var owner: String?

        enum Payload {
            case unsigned
            case sha256(String)
            case chunked(AWSChunkedBody<RequestBody>.Signing?)
        }
    }

    func dispatch(_ request: Request, _ context: Context) async throws -> Response {
        let signed = try await authenticate(request)
        let path = request.uri.path
        let rest = path.dropFirst("/s3".count).drop(while: { $0 == "/" })
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let bucket = parts.first.flatMap { $0.isEmpty ? nil : String($0).removingPercentEncoding }
        let key = parts.count > 1 && !parts[1].isEmpty ? String(parts[1]).removingPercentEncoding : nil
        guard let bucket else {
            guard request.method == .get, let project = signed.owner else {
                throw UpdraftError(.forbidden, "Access Denied", kind: "AccessDenied")
            }
            return try await listBuckets(project, caller: signed.caller)
        }
        // Buckets are named within a project. A signed request means its own project's bucket,
        // or, when it has none of that name, the one other project's (whose ACL then decides:
        // AccessDenied, not NoSuchBucket); a new bucket is always its own. An unsigned request
        // finds the one public bucket of that name.
        let creates = request.method == .put && key == nil && request.query["acl"] == nil
        let owner =
            creates ? signed.owner : try await storage.containerOwner(bucket, preferring: signed.owner)
        guard let project = owner else { throw UpdraftError(.forbidden, "Access Denied", kind: "AccessDenied") }
        if let key {
            return try await object(request, project, bucket, key, signed: signed)
        }
        return try await self.bucket(request, project, bucket, signed: signed)
    }

    /// Checks the request's Signature V4 (header or presigned query) against the secret of
    /// its EC2 credential; an unsigned request is anonymous. 403 with S3's codes otherwise.
    func authenticate(_ request: Request) async throws -> Signed {
        let query = request.query
        var headers = Dictionary(
            request.headers.map { ($0.name.canonicalName, $0.value) }, uniquingKeysWith: { $0 + "," + $1 })
        // HTTP types keep Host as the request's authority, outside the header fields.
        if let authority = request.head.authority { headers["host"] = authority }
        let claim: SignatureV4.Claim
        var payloadHash: String
        if query["X-Amz-Algorithm"] != nil {
            guard let parsed = SignatureV4.claim(query: query) else {
                throw UpdraftError(.badRequest, "The presigned URL is malformed.", kind: "AuthorizationQueryParametersError")
            }
            claim = parsed
            payloadHash = "UNSIGNED-PAYLOAD"
            guard let start = SignatureV4.time(of: claim.timestamp), let expires = claim.expires,
                start + Double(expires) >= Date.now.timeIntervalSince1970
            else {
                throw UpdraftError(.forbidden, "Request has expired", kind: "AccessDenied")
            }
        } else if let authorization = headers["authorization"] {
            guard let timestamp = headers["x-amz-date"] ?? headers["date"],
                let parsed = SignatureV4.claim(authorization: authorization, timestamp: timestamp)
            else {
                throw UpdraftError(
                    .badRequest, "Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported.",
                    kind: "InvalidRequest")
            }
            claim = parsed
            payloadHash = headers["x-amz-content-sha256"] ?? "UNSIGNED-PAYLOAD"
            if let time = SignatureV4.time(of: claim.timestamp), abs(time - Date.now.timeIntervalSince1970) > 900 {
                throw UpdraftError(
                    .forbidden, "The difference between the request time and the current time is too large.",
                    kind: "RequestTimeTooSkewed")
            }
        } else {
            return Signed(caller: .anonymous, payload: .unsigned, owner: nil)
        }
        let (secret, caller): (String, AuthContext)
        do {
            (secret, caller) = try await identity.ec2Caller(access: claim.accessKey)
        } catch {
            throw UpdraftError(
                .forbidden, "The AWS Access Key Id you provided does not exist in our records.", kind: "InvalidAccessKeyId")
        }
        let items: [(String, String)] = request.uri.queryParameters.map {
            (String($0.key).removingPercentEncoding ?? String($0.key), String($0.value))
        }
        let signed = SignatureV4.Request(
            method: request.method.rawValue, path: request.uri.path, query: items, headers: headers, payloadHash: payloadHash)
        let expected = SignatureV4.signature(signed, claim: claim, secret: secret)
        guard Self.constantTimeEqual(expected, claim.signature) else {
            throw UpdraftError(
                .forbidden, "The request signature we calculated does not match the signature you provided.",
                kind: "SignatureDoesNotMatch")
        }
        let payload: Signed.Payload
        switch payloadHash {
        case "UNSIGNED-PAYLOAD": payload = .unsigned
        case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER":
            payload = .chunked(
                .init(claim: claim, key: SignatureV4.signingKey(secret: secret, claim: claim), seed: claim.signature))
        case "STREAMING-UNSIGNED-PAYLOAD-TRAILER": payload = .chunked(nil)
        default:
            guard payloadHash.count == 64 else {
                throw UpdraftError(.badRequest, "x-amz-content-sha256 must be a SHA-256.", kind: "InvalidArgument")
            }
            payload = .sha256(payloadHash)
        }
        return Signed(caller: .user(caller), payload: payload, owner: caller.projectID)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// The request body as the signature says to read it.
    static func body(_ request: Request, _ signed: Signed) -> ByteStream {
        switch signed.payload {
        case .unsigned: return ByteStream(request.body)
        case .sha256(let hash): return ByteStream(SHA256CheckedBody(request.body, expected: hash))
        case .chunked(let signing): return ByteStream(AWSChunkedBody(request.body, signing: signing))
        }
    }

    /// Serves `GET /s3`: the caller's project's buckets.
    func listBuckets(_ project: String, caller: ObjectStorageService.Caller) async throws -> Response {
        let (_, entries) = try await storage.listContainers(project, ListingQuery(), caller: caller)
        var xml = "<ListAllMyBucketsResult xmlns=\"\(S3XML.namespace)\"><Owner>"
        xml += S3XML.element("ID", project) + S3XML.element("DisplayName", project) + "</Owner><Buckets>"
        for case .container(let name, _, _, let modified) in entries {
            xml += "<Bucket>" + S3XML.element("Name", name) + S3XML.element("CreationDate", S3XML.date(modified)) + "</Bucket>"
        }
        return S3XML.response(xml + "</Buckets></ListAllMyBucketsResult>")
    }
}
