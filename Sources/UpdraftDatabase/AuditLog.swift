import Foundation
import SQLKit
import UpdraftCore

/// The audit log: every call that changes something, who made it, through which API, and
/// how it ended.
public struct AuditLog: Sendable {
    /// One call.
    public struct Event: Sendable {
        public var requestID: String
        public var userID: String?
        public var projectID: String?
        /// The API's name (`compute`).
        public var api: String
        public var method: String
        public var path: String
        public var status: Int

        public init(
            requestID: String, userID: String?, projectID: String?, api: String, method: String, path: String, status: Int
        ) {
            self.requestID = requestID
            self.userID = userID
            self.projectID = projectID
            self.api = api
            self.method = method
            self.path = path
            self.status = status
        }
    }

    public static let migrations = [
        Migration(
            "audit-1",
            [
                """
                CREATE TABLE audit_events (id TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL, request_id TEXT NOT NULL,
                  user_id TEXT, project_id TEXT, method TEXT NOT NULL, path TEXT NOT NULL, status BIGINT NOT NULL)
                """,
                "CREATE INDEX audit_events_at ON audit_events (at)",
            ]),
        Migration("audit-2", ["ALTER TABLE audit_events ADD COLUMN api TEXT"]),
    ]

    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Appends `event`, stamped now; durable when this returns (in a transaction, so that on
    /// SQLite concurrent calls share one commit).
    public func record(_ event: Event) async throws {
        let id = Identifier.make()
        let at = Date.now.timeIntervalSince1970
        try await database.transaction { db in
            try await db.raw(
                """
                INSERT INTO audit_events (id, at, request_id, user_id, project_id, api, method, path, status)
                VALUES (\(bind: id), \(bind: at), \(bind: event.requestID), \(bind: event.userID), \(bind: event.projectID),
                \(bind: event.api), \(bind: event.method), \(bind: event.path), \(bind: event.status))
                """
            ).run()
        }
    }
}
