@preconcurrency import Crypto
import Foundation
import Synchronization
import _CryptoExtras

/// Slow salted password hashes: PBKDF2-HMAC-SHA256 with 600,000 rounds (OWASP's current
/// recommendation), stored as `$pbkdf2-sha256$ROUNDS$SALT$HASH` so the cost can rise later.
///
/// A successful check is remembered for a few minutes under a keyed digest (the key lives
/// only in this process), so a client that logs in for every command does not pay the
/// slow hash each time. Failed checks are never remembered.
public final class PasswordHasher: Sendable {
    public struct Configuration: Sendable {
        public var rounds: Int = 600_000
        /// How long a verified password is remembered; 0 turns the memory off.
        public var rememberFor: TimeInterval = 300

        public init(rounds: Int = 600_000, rememberFor: TimeInterval = 300) {
            self.rounds = rounds
            self.rememberFor = rememberFor
        }
    }

    public let configuration: Configuration
    private let memoryKey = SymmetricKey(size: .bits256)
    private let remembered = Mutex<[Data: Date]>([:])

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// A new hash of `password` with a fresh salt.
    public func hash(_ password: String) throws -> String {
        let salt = SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) }
        let derived = try derive(password, salt: salt, rounds: configuration.rounds)
        return "$pbkdf2-sha256$\(configuration.rounds)$\(Base64URL.encode(salt))$\(Base64URL.encode(derived))"
    }

    /// True when `password` matches `stored`.
    public func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: true)
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let rounds = Int(parts[1]),
            let salt = Base64URL.decode(parts[2]), let expected = Base64URL.decode(parts[3])
        else { return false }
        let memo = Data(HMAC<SHA256>.authenticationCode(for: Data((stored + "\u{0}" + password).utf8), using: memoryKey))
        let now = Date.now
        if configuration.rememberFor > 0, let at = remembered.withLock({ $0[memo] }),
            now.timeIntervalSince(at) < configuration.rememberFor
        {
            return true
        }
        guard let derived = try? derive(password, salt: salt, rounds: rounds), constantTimeEquals(derived, expected) else {
            return false
        }
        if configuration.rememberFor > 0 {
            remembered.withLock { memory in
                if memory.count > 10_000 { memory.removeAll() }
                memory[memo] = now
            }
        }
        return true
    }

    private func derive(_ password: String, salt: Data, rounds: Int) throws -> Data {
        let key = try KDF.Insecure.PBKDF2.deriveKey(
            from: Data(password.utf8), salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: rounds)
        return key.withUnsafeBytes { Data($0) }
    }

    private func constantTimeEquals(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
