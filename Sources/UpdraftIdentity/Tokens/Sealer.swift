@preconcurrency import Crypto
import Foundation

/// Authenticated encryption with a ``KeyRepository``: AES-256-GCM, base64url without padding.
public struct Sealer: Sendable {
    public let repository: KeyRepository

    public init(repository: KeyRepository) {
        self.repository = repository
    }

    /// Encrypts with the primary key.
    public func seal(_ plaintext: Data) throws -> String {
        let box = try AES.GCM.seal(plaintext, using: repository.keys[0])
        guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
        return Base64URL.encode(combined)
    }

    /// Decrypts with whichever active key sealed it; nil when none did or the text was altered.
    public func open(_ text: some StringProtocol) -> Data? {
        guard let combined = Base64URL.decode(text), let box = try? AES.GCM.SealedBox(combined: combined) else { return nil }
        for key in repository.keys {
            if let plaintext = try? AES.GCM.open(box, using: key) { return plaintext }
        }
        return nil
    }
}

/// RFC 4648 base64url without padding: safe in headers and URLs.
public enum Base64URL {
    public static func encode(_ data: Data) -> String {
        var text = data.base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    public static func decode(_ text: some StringProtocol) -> Data? {
        var base = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base.count % 4 != 0 { base += "=" }
        return Data(base64Encoded: base)
    }
}
