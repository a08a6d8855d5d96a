@preconcurrency import AsyncKit
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import SQLiteKit
import UpdraftCore

/// The state store: one SQLite file by default, PostgreSQL when configured, behind SQLKit.
///
/// All SQL is written once in the dialect both accept; bound values go through SQLKit
/// binds. SQLite runs on a single connection (its writes serialise anyway), so a
/// transaction holds the store; PostgreSQL uses a pool.
public final class Database: Sendable {
    /// Which engine holds the state.
    public enum Kind: Sendable, Equatable {
        case sqlite(path: String)
        case postgres(url: String)
    }

    // The pools lock internally (AsyncKit guards their state with NIOLock) but are not marked Sendable.
    private enum Backend: @unchecked Sendable {
        case sqlite(EventLoopGroupConnectionPool<SQLiteConnectionSource>)
        case postgres(EventLoopGroupConnectionPool<PostgresConnectionSource>)
    }

    public let kind: Kind
    private let backend: Backend
    private let groupCommit = GroupCommit()
    private let eventLoopGroup: MultiThreadedEventLoopGroup
    private let logger: Logger

    /// Opens the store and checks that it answers. Throws a message the operator can act on.
    public static func open(_ kind: Kind, logger: Logger) async throws -> Database {
        let database = try Database(kind: kind, logger: logger)
        do {
            try await database.prepare()
        } catch {
            await database.close()
            throw UpdraftError.internal("cannot open database \(kind.redacted): \(Database.describe(error))")
        }
        return database
    }

    /// Parses `--database`: empty for SQLite in the data directory, `sqlite:PATH`, or `postgres://...`.
    public static func kind(from url: String?, dataDirectory: String) throws(UpdraftError) -> Kind {
        guard let url, !url.isEmpty else { return .sqlite(path: dataDirectory + "/updraft.sqlite") }
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") { return .postgres(url: url) }
        if url.hasPrefix("sqlite:") { return .sqlite(path: String(url.dropFirst("sqlite:".count))) }
        throw .badRequest("unsupported database URL \(Kind.postgres(url: url).redacted): use postgres://... or sqlite:PATH")
    }

    private init(kind: Kind, logger: Logger) throws {
        self.kind = kind
        // Connection failures reach callers as thrown errors (and the edge logs them once);
        // the pool's own log lines would repeat them.
        var logger = logger
        logger.logLevel = .critical
        self.logger = logger
        switch kind {
        case .sqlite(let path):
            eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let source = SQLiteConnectionSource(configuration: .init(storage: .file(path: path), enableForeignKeys: true))
            backend = .sqlite(
                EventLoopGroupConnectionPool(
                    source: source, maxConnectionsPerEventLoop: 1, requestTimeout: .seconds(30), logger: logger,
                    on: eventLoopGroup))
        case .postgres(let url):
            eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let configuration = try SQLPostgresConfiguration(url: url)
            backend = .postgres(
                EventLoopGroupConnectionPool(
                    source: PostgresConnectionSource(sqlConfiguration: configuration), maxConnectionsPerEventLoop: 8,
                    requestTimeout: .seconds(10), logger: logger, on: eventLoopGroup))
        }
    }

    private func prepare() async throws {
        switch backend {
        case .sqlite:
            try await withConnection { db in
                try await db.raw("PRAGMA journal_mode=WAL").run()
                try await db.raw("PRAGMA synchronous=FULL").run()
                try await db.raw("PRAGMA busy_timeout=5000").run()
            }
        case .postgres:
            try await withConnection { db in try await db.raw("SELECT 1").run() }
        }
    }

    /// Runs `body` on one connection.
    public func withConnection<R: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        switch backend {
        case .sqlite(let pool):
            let connection = try await pool.requestConnection(logger: logger).get()
            defer { pool.releaseConnection(connection, logger: logger) }
            return try await body(SQLiteRows(connection, queryLogLevel: .trace))
        case .postgres(let pool):
            let connection = try await pool.requestConnection(logger: logger).get()
            defer { pool.releaseConnection(connection, logger: logger) }
            return try await body(connection.sql(queryLogLevel: .trace))
        }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    /// On SQLite, transactions that arrive together share one commit (``GroupCommit``).
    public func transaction<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        if kind.isSQLite {
            return try await groupCommit.transaction(body) { work in try await self.withConnection(work) }
        }
        return try await withConnection { db in
            try await db.raw("BEGIN").run()
            do {
                let result = try await body(db)
                try await db.raw("COMMIT").run()
                return result
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    /// Runs a read on one connection; driver errors become ``UpdraftError`` (see ``mapError(_:)``).
    public func read<R: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        do {
            return try await withConnection(body)
        } catch let error as UpdraftError {
            throw error
        } catch {
            throw Self.mapError(error)
        }
    }

    /// Runs a change in one transaction; driver errors become ``UpdraftError``.
    public func write<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        do {
            return try await transaction(body)
        } catch let error as UpdraftError {
            throw error
        } catch {
            throw Self.mapError(error)
        }
    }

    /// A unique violation is a 409, a dangling reference a 400; anything else is internal.
    public static func mapError(_ error: any Error) -> UpdraftError {
        let text = String(reflecting: error)
        if text.contains("UNIQUE constraint") || text.contains("duplicate key") || text.contains("23505") {
            return .conflict("Conflict occurred attempting to store the resource: a resource with that name already exists.")
        }
        if text.contains("FOREIGN KEY constraint") || text.contains("23503") {
            return .badRequest("The request refers to a resource that does not exist.")
        }
        return .internal("database error", cause: error)
    }

    /// Closes every connection.
    public func close() async {
        switch backend {
        case .sqlite(let pool): try? await pool.shutdownAsync()
        case .postgres(let pool): try? await pool.shutdownAsync()
        }
        try? await eventLoopGroup.shutdownGracefully()
    }

    /// A one-line description of a driver error for operators.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }
}

extension Database.Kind {
    public var isSQLite: Bool {
        if case .sqlite = self { return true }
        return false
    }

    /// The URL with any password removed, for logs and error messages.
    public var redacted: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let url):
            guard var components = URLComponents(string: url) else { return "postgres://..." }
            if components.password != nil { components.password = "***" }
            return components.string ?? "postgres://..."
        }
    }
}
