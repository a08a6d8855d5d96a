import Crypto
import Foundation
import UpdraftCore

/// AWS Signature Version 4 as S3 checks it: the `Authorization` header, presigned URLs
/// (`X-Amz-Signature` in the query) and the chunk signatures of `aws-chunked` uploads.
/// Pure functions of the request's parts and the secret, so they are tested without HTTP.
public enum SignatureV4 {
    /// What a request says about its signature.
    public struct Claim: Sendable, Equatable {
        public var accessKey: String
        /// `20261129`.
        public var date: String
        public var region: String
        public var service: String
        public var signedHeaders: [String]
        public var signature: String
        /// `20261129T172335Z`.
        public var timestamp: String
        /// Seconds a presigned URL is valid; nil for a header-signed request.
        public var expires: Int?

        /// `20261129/us-east-1/s3/aws4_request`.
        public var scope: String { "\(date)/\(region)/\(service)/aws4_request" }
    }

    /// The request as signed: method, path as sent (percent-encoded), query items (decoded),
    /// headers by lower-cased name, and the payload hash the client declared.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(String, String)]
        public var headers: [String: String]
        public var payloadHash: String

        public init(method: String, path: String, query: [(String, String)], headers: [String: String], payloadHash: String) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// Reads `Authorization: AWS4-HMAC-SHA256 Credential=.../scope, SignedHeaders=a;b, Signature=hex`.
    public static func claim(authorization: String, timestamp: String) -> Claim? {
        guard authorization.hasPrefix("AWS4-HMAC-SHA256 ") else { return nil }
        var fields: [String: String] = [:]
        for part in authorization.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let credential = fields["Credential"], let headers = fields["SignedHeaders"],
            let signature = fields["Signature"]
        else { return nil }
        return claim(credential: credential, signedHeaders: headers, signature: signature, timestamp: timestamp, expires: nil)
    }

    /// Reads a presigned URL's `X-Amz-Credential`, `X-Amz-SignedHeaders`, `X-Amz-Signature`,
    /// `X-Amz-Date` and `X-Amz-Expires`.
    public static func claim(query: [String: String]) -> Claim? {
        guard query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256", let credential = query["X-Amz-Credential"],
            let headers = query["X-Amz-SignedHeaders"], let signature = query["X-Amz-Signature"],
            let timestamp = query["X-Amz-Date"]
        else { return nil }
        return claim(
            credential: credential, signedHeaders: headers, signature: signature, timestamp: timestamp,
            expires: Int(query["X-Amz-Expires"] ?? "") ?? 604_800)
    }

    static func claim(credential: String, signedHeaders: String, signature: String, timestamp: String, expires: Int?)
        -> Claim?
    {
        let parts = credential.split(separator: "/").map(String.init)
        guard parts.count == 5, parts[4] == "aws4_request" else { return nil }
        return Claim(
            accessKey: parts[0], date: parts[1], region: parts[2], service: parts[3],
            signedHeaders: signedHeaders.split(separator: ";").map { $0.lowercased() }, signature: signature.lowercased(),
            timestamp: timestamp, expires: expires)
    }

    /// The canonical request of AWS's specification.
    public static func canonicalRequest(_ request: Request, signedHeaders: [String], presigned: Bool) -> String {
        let path: String = canonicalPath(request.path)
        let pairs: [(String, String)] = request.query.filter { !(presigned && $0.0 == "X-Amz-Signature") }
            .map { (encode($0.0), encode($0.1)) }
            .sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
        let query: String = pairs.map { (pair: (String, String)) -> String in pair.0 + "=" + pair.1 }
            .joined(separator: "&")
        var headers = ""
        for name in signedHeaders {
            let value: String = request.headers[name] ?? ""
            let trimmed: String = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            headers += name + ":" + trimmed + "\n"
        }
        let lines: [String] = [
            request.method, path, query, headers, signedHeaders.joined(separator: ";"), request.payloadHash,
        ]
        return lines.joined(separator: "\n")
    }

    /// The path with each segment decoded and encoded again by AWS's rules (S3 does not
    /// normalise `.` or `//`).
    static func canonicalPath(_ raw: String) -> String {
        raw.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            encode(String(segment).removingPercentEncoding ?? String(segment))
        }.joined(separator: "/")
    }

    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// AWS's URI encoding: every byte but the unreserved ones as `%XX`, upper-case.
    public static func encode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80, unreserved.contains(scalar) {
                result.unicodeScalars.append(scalar)
            } else {
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }

    /// The key derived from the secret for one day, region and service.
    public static func signingKey(secret: String, claim: Claim) -> SymmetricKey {
        var key = SymmetricKey(data: Data("AWS4\(secret)".utf8))
        for part in [claim.date, claim.region, claim.service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    /// The signature of a request under `secret`.
    public static func signature(_ request: Request, claim: Claim, secret: String) -> String {
        let canonical = canonicalRequest(request, signedHeaders: claim.signedHeaders, presigned: claim.expires != nil)
        let toSign = [
            "AWS4-HMAC-SHA256", claim.timestamp, claim.scope, SHA256.hash(data: Data(canonical.utf8)).hexString,
        ].joined(separator: "\n")
        return Data(HMAC<SHA256>.authenticationCode(for: Data(toSign.utf8), using: signingKey(secret: secret, claim: claim)))
            .hexString
    }

    /// The signature of one `aws-chunked` chunk, chained to the previous one's.
    public static func chunkSignature(
        previous: String, chunkHash: String, claim: Claim, key: SymmetricKey
    ) -> String {
        let toSign = [
            "AWS4-HMAC-SHA256-PAYLOAD", claim.timestamp, claim.scope, previous,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", chunkHash,
        ].joined(separator: "\n")
        return Data(HMAC<SHA256>.authenticationCode(for: Data(toSign.utf8), using: key)).hexString
    }

    /// Seconds since 1970 of `20261129T172335Z`.
    public static func time(of timestamp: String) -> Double? {
        guard timestamp.count == 16 else { return nil }
        let chars = Array(timestamp)
        let iso =
            "\(String(chars[0..<4]))-\(String(chars[4..<6]))-\(String(chars[6..<8]))T"
            + "\(String(chars[9..<11])):\(String(chars[11..<13])):\(String(chars[13..<15]))Z"
        return Timestamp.parse(iso)?.timeIntervalSince1970
    }
}
