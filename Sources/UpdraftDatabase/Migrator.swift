import SQLKit

/// One schema change: statements in the SQL both engines accept, or one list per engine
/// where they differ (a column PostgreSQL must compare byte by byte, `COLLATE "C"`, which
/// SQLite's default `BINARY` already does).
public struct Migration: Sendable {
    public var id: String
    public var statements: [String]
    /// What PostgreSQL runs instead of ``statements``, when they differ.
    public var postgresStatements: [String]?

    public init(_ id: String, _ statements: [String], postgres: [String]? = nil) {
        self.id = id
        self.statements = statements
        self.postgresStatements = postgres
    }
}

/// Applies each module's migrations once, in order, recording them in `schema_migrations`.
public enum Migrator {
    public static func apply(_ migrations: [Migration], to database: Database) async throws {
        try await database.withConnection { db in
            try await db.raw(
                "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
            )
            .run()
        }
        for migration in migrations {
            try await database.transaction { db in
                let done = try await db.raw("SELECT id FROM schema_migrations WHERE id = \(bind: migration.id)").first()
                guard done == nil else { return }
                let statements =
                    database.kind.isSQLite ? migration.statements : migration.postgresStatements ?? migration.statements
                for statement in statements {
                    try await db.raw(SQLQueryString(statement)).run()
                }
                try await db.raw(
                    "INSERT INTO schema_migrations (id, applied_at) VALUES (\(bind: migration.id), \(bind: Date.now.timeIntervalSince1970))"
                ).run()
            }
        }
    }
}

import Foundation
