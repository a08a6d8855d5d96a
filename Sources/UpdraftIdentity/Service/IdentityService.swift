import Foundation
import Logging
import SQLKit
import Synchronization
import UpdraftCore
import UpdraftDatabase

/// Keystone's logic and persistence: domains, projects, users, groups, roles and their
/// assignments, the catalog, credentials and tokens. Knows nothing of HTTP.
public final class IdentityService: Sendable {
    public struct Configuration: Sendable {
        /// Failed password checks in a row that lock a user (Keystone's `lockout_failure_attempts`).
        public var lockoutFailures: Int = 6
        /// How long a locked user stays locked, in seconds (Keystone's `lockout_duration`).
        public var lockoutDuration: TimeInterval = 300
        public var tokens = TokenProvider.Configuration()
        public var passwords = PasswordHasher.Configuration()

        public init() {}
    }

    public let configuration: Configuration
    let database: Database
    public let tokens: TokenProvider
    let passwords: PasswordHasher
    let credentialSealer: Sealer
    let logger: Logger
    /// Bumped by every change; cached token bodies and the catalog are valid for one generation.
    let generation = Atomic<Int>(0)
    let tokenBodies = Mutex<[String: (generation: Int, json: Data)]>([:])
    let catalogCache = Mutex<(generation: Int, catalog: [CatalogEntry])?>(nil)
    private let loginObserverBox = Mutex<(any LoginObserver)?>(nil)

    /// Told of every password login before its token is issued; set by the composition root
    /// on a cloud that gives first-time users a trial project.
    public var loginObserver: (any LoginObserver)? {
        get { loginObserverBox.withLock { $0 } }
        set { loginObserverBox.withLock { $0 = newValue } }
    }

    public init(
        configuration: Configuration, database: Database, tokenKeys: KeyRepository, credentialKeys: KeyRepository,
        logger: Logger
    ) {
        self.configuration = configuration
        self.database = database
        self.tokens = TokenProvider(
            configuration: configuration.tokens, keys: tokenKeys,
            revocations: RevocationList(database: database, horizon: configuration.tokens.lifetime + 60))
        self.passwords = PasswordHasher(configuration: configuration.passwords)
        self.credentialSealer = Sealer(repository: credentialKeys)
        self.logger = logger
    }

    /// Loads revocation events; call once at start.
    public func start() async throws {
        try await tokens.revocations.load()
    }

    /// Marks every cached view stale.
    func changed() {
        generation.add(1, ordering: .relaxed)
    }

    /// Runs a change in one transaction and invalidates caches afterwards.
    func write<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        defer { changed() }
        return try await database.write(body)
    }

    func read<R: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await database.read(body)
    }

    static var now: Double { Date.now.timeIntervalSince1970 }

    /// The row with this id, or a `notFound` naming the resource as Keystone does.
    static func row(_ table: String, id: String, noun: String, _ db: any SQLDatabase) async throws -> any SQLRow {
        guard let row = try await db.raw("SELECT * FROM \(ident: table) WHERE id = \(bind: id)").first() else {
            throw UpdraftError.notFound("Could not find \(noun): \(id).")
        }
        return row
    }

    /// Builds `SELECT * FROM table WHERE a = ? AND b = ? ORDER BY ...` from equality filters.
    static func select(
        _ table: String, where filters: [(String, any Encodable & Sendable)], order: String = "name"
    ) -> SQLQueryString {
        var query: SQLQueryString = "SELECT * FROM \(ident: table)"
        for (index, filter) in filters.enumerated() {
            query += index == 0 ? " WHERE " : " AND "
            query += "\(ident: filter.0) = \(bind: filter.1)"
        }
        query += " ORDER BY \(ident: order)"
        return query
    }
}
