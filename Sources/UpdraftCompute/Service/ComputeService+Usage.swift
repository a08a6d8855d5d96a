import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// `os-simple-tenant-usage`: the hours each instance existed in a window.
extension ComputeService {
    public struct ServerUsage: Sendable {
        public var instance: Instance
        /// Hours of the window the instance existed.
        public var hours: Double
    }

    /// The instances of `projectID` (every project when nil) that existed between `start` and `end`.
    public func usage(projectID: String?, start: Date, end: Date) async throws -> [ServerUsage] {
        let rows = try await database.read { db in
            var sql = SQLQueryString(
                "SELECT * FROM instances WHERE created_at < \(bind: end.timeIntervalSince1970) AND (terminated_at IS NULL OR terminated_at > \(bind: start.timeIntervalSince1970))"
            )
            if let projectID { sql += " AND project_id = \(bind: projectID)" }
            sql += " ORDER BY created_at"
            return try await db.raw(sql).all().map(self.repository.instance)
        }
        return rows.map { i in
            let from = max(i.createdAt, start)
            let to = min(i.terminatedAt ?? end, end)
            return ServerUsage(instance: i, hours: max(0, to.timeIntervalSince(from)) / 3600)
        }
    }
}
