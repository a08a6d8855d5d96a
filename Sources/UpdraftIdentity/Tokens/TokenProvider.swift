import Foundation
import Synchronization
import UpdraftCore

/// Issues and validates tokens: AES-GCM-sealed ``TokenPayload``s checked against the
/// in-memory ``RevocationList``, so validation reads no database.
public final class TokenProvider: Sendable {
    public struct Configuration: Sendable {
        /// Token lifetime in seconds (Keystone's default: one hour).
        public var lifetime: TimeInterval = 3600

        public init(lifetime: TimeInterval = 3600) {
            self.lifetime = lifetime
        }
    }

    public let configuration: Configuration
    private let sealer: Mutex<Sealer>
    public let revocations: RevocationList
    private static let prefix = "u1"
    /// Tokens whose payload is kept decrypted; the cache is emptied when it fills.
    private static let openedLimit = 20_000
    private let opened = Mutex<[String: TokenPayload]>([:])

    public init(configuration: Configuration, keys: KeyRepository, revocations: RevocationList) {
        self.configuration = configuration
        self.sealer = Mutex(Sealer(repository: keys))
        self.revocations = revocations
    }

    /// Seals `payload` into a token string.
    public func issue(_ payload: TokenPayload) throws -> String {
        let data = try JSONEncoder().encode(payload)
        return Self.prefix + (try sealer.withLock { $0 }.seal(data))
    }

    /// Opens a token and checks expiry and revocation. Throws `unauthorized` (Keystone
    /// answers 404 for a bad subject token; the caller decides which).
    public func validate(_ token: String, now: Date = .now) throws(UpdraftError) -> TokenPayload {
        guard let payload = opened.withLock({ $0[token] }) ?? open(token) else {
            throw .unauthorized("The request you have made requires authentication.")
        }
        guard payload.expiresAt > now.timeIntervalSince1970 else {
            throw .unauthorized("The request you have made requires authentication.")
        }
        guard !revocations.isRevoked(payload) else {
            throw .unauthorized("The request you have made requires authentication.")
        }
        return payload
    }

    /// Rereads the key repository, so `updraft admin rotate-keys` takes effect without a
    /// restart. Returns true when the keys changed; remembered payloads are then forgotten,
    /// so tokens sealed with a key that was rotated out stop validating.
    @discardableResult
    public func reloadKeys() throws -> Bool {
        let current = sealer.withLock { $0 }
        let fresh = try KeyRepository.open(current.repository.configuration)
        guard fresh.fingerprint != current.repository.fingerprint else { return false }
        sealer.withLock { $0 = Sealer(repository: fresh) }
        opened.withLock { $0.removeAll() }
        return true
    }

    /// Decrypts a token and remembers the result: a token's payload never changes, so only
    /// expiry and revocation need checking on later requests.
    private func open(_ token: String) -> TokenPayload? {
        guard token.hasPrefix(Self.prefix), token.count < 8192,
            let data = sealer.withLock({ $0 }).open(token.dropFirst(Self.prefix.count)),
            let payload = try? JSONDecoder().decode(TokenPayload.self, from: data)
        else { return nil }
        opened.withLock { cache in
            if cache.count >= Self.openedLimit { cache.removeAll(keepingCapacity: true) }
            cache[token] = payload
        }
        return payload
    }
}
