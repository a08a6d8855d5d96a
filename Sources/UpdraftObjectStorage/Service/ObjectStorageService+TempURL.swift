import Crypto
import Foundation
import UpdraftCore

/// TempURLs: a URL signed with a key the account or container holds, valid for one method
/// until it expires, that lets anyone read or write one object (or every object under a
/// prefix) without a token.
extension ObjectStorageService {
    /// A TempURL's query parameters.
    public struct TempURL: Sendable {
        public var signature: String
        public var expires: String
        public var prefix: String?

        public init(signature: String, expires: String, prefix: String?) {
            self.signature = signature
            self.expires = expires
            self.prefix = prefix
        }
    }

    /// The digests Swift accepts by default.
    static let tempURLDigests = ["sha1", "sha256", "sha512"]

    /// Whether `url` signs `method` on `paths` (the request path, and the same path as Swift
    /// itself sees it, from `/v1/`) with a key of the account or the container, unexpired.
    /// A HEAD is allowed by a GET, PUT or HEAD signature, as in Swift.
    public func verify(
        _ url: TempURL, method: String, paths: [String], project: String, container: String, object: String
    ) async -> Bool {
        let expires: Double
        if let seconds = Double(url.expires) {
            expires = seconds
        } else if let date = Timestamp.parse(url.expires) {
            expires = date.timeIntervalSince1970
        } else {
            return false
        }
        guard expires > Self.now else { return false }
        if let prefix = url.prefix, !object.hasPrefix(prefix) { return false }
        let keys = await signingKeys(project, container)
        let methods = method == "HEAD" ? ["HEAD", "GET", "PUT"] : [method]
        let messages = methods.flatMap { method in
            paths.map { path in
                url.prefix.map { "\(method)\n\(url.expires)\nprefix:\(Self.prefixPath(path, object: object, prefix: $0))" }
                    ?? "\(method)\n\(url.expires)\n\(path)"
            }
        }
        return Self.signs(url.signature, any: messages, keys: keys)
    }

    /// The TempURL keys of the account and the container (`Temp-URL-Key` and `-Key-2`), which
    /// sign TempURLs and FormPOST forms; none when either is missing.
    func signingKeys(_ project: String, _ container: String) async -> [String] {
        do {
            return try await read { db in
                let account = try await Self.account(project, db)
                let container = try await Self.containerRow(project, container, db)
                return [
                    account.metadata["temp-url-key"], account.metadata["temp-url-key-2"],
                    container?.metadata["temp-url-key"], container?.metadata["temp-url-key-2"],
                ].compactMap { $0 }
            }
        } catch {
            return []
        }
    }

    /// Whether `signature` is an HMAC of one of `messages` under one of `keys`: hex, or
    /// `<digest>:<base64>` as Swift also accepts.
    static func signs(_ signature: String, any messages: [String], keys: [String]) -> Bool {
        var (digest, signature) = ("", signature)
        if let colon = signature.firstIndex(of: ":") {
            digest = String(signature[..<colon])
            signature = String(signature[signature.index(after: colon)...])
            guard tempURLDigests.contains(digest), let raw = Data(base64Encoded: Self.unURLSafe(signature)) else {
                return false
            }
            signature = raw.hexString
        }
        let wanted = signature.lowercased()
        for key in keys {
            for message in messages where hmacs(message, key: key, digest: digest).contains(wanted) {
                return true
            }
        }
        return false
    }

    /// The signed path of a prefix TempURL: the object path with the object name cut to the prefix.
    static func prefixPath(_ path: String, object: String, prefix: String) -> String {
        guard path.hasSuffix(object) else { return path }
        return String(path.dropLast(object.utf8.count)) + prefix
    }

    static func unURLSafe(_ text: String) -> String {
        var base = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base.count % 4 != 0 { base += "=" }
        return base
    }

    /// Hex HMACs of `message` under `key` with the named digest, or with every digest
    /// Swift accepts when the signature names none (told apart by length there).
    static func hmacs(_ message: String, key: String, digest: String) -> [String] {
        let key = SymmetricKey(data: Data(key.utf8))
        let data = Data(message.utf8)
        var result: [String] = []
        if digest.isEmpty || digest == "sha1" {
            result.append(Data(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: key)).hexString)
        }
        if digest.isEmpty || digest == "sha256" {
            result.append(Data(HMAC<SHA256>.authenticationCode(for: data, using: key)).hexString)
        }
        if digest.isEmpty || digest == "sha512" {
            result.append(Data(HMAC<SHA512>.authenticationCode(for: data, using: key)).hexString)
        }
        return result
    }
}
