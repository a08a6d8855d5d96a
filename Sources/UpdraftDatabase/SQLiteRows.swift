import Logging
import NIOCore
import SQLKit
import SQLiteKit
import SQLiteNIO

/// SQLite through SQLKit as SQLiteKit gives it, except for its rows: text, integers, reals and
/// flags are read straight from the row. SQLiteKit's generic decoder looks up a protocol
/// conformance for every value, which is most of the cost of reading a long list (10,000
/// ports); anything else still goes through it.
struct SQLiteRows: SQLDatabase {
    /// SQLiteKit's own view of the connection: dialect, version, logging.
    let inner: any SQLDatabase
    let connection: SQLiteConnection

    init(_ connection: SQLiteConnection, queryLogLevel: Logger.Level?) {
        self.connection = connection
        inner = connection.sql(queryLogLevel: queryLogLevel)
    }

    var logger: Logger { inner.logger }
    var eventLoop: any EventLoop { inner.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { inner.version }
    var dialect: any SQLDialect { inner.dialect }
    var queryLogLevel: Logger.Level? { inner.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        do {
            let (sql, binds) = try prepare(query)
            return connection.query(sql, binds) { onRow(Row(row: $0)) }
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    /// Rows are handed over on SQLite's thread as they are read (the future-based variant
    /// hops to the event loop once per row).
    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        let (sql, binds) = try prepare(query)
        try await connection.query(sql, binds) { onRow(Row(row: $0)) }
    }

    private func prepare(_ query: any SQLExpression) throws -> (String, [SQLiteData]) {
        let (sql, binds) = serialize(query)
        if let queryLogLevel {
            logger.log(level: queryLogLevel, "Executing query", metadata: ["sql": .string(sql)])
        }
        let encoder = SQLiteDataEncoder()
        return (sql, try binds.map { try encoder.encode($0) })
    }

    struct MissingColumn: Error {
        let column: String
    }

    /// One result row, read by column name.
    struct Row: SQLRow {
        let row: SQLiteRow

        var allColumns: [String] { row.columns.map(\.name) }

        func contains(column: String) -> Bool { row.column(column) != nil }

        func decodeNil(column: String) throws -> Bool { (row.column(column) ?? .null) == .null }

        func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
            guard let data = row.column(column) else { throw MissingColumn(column: column) }
            // Type comparisons, then casts between identical types, which cost nothing.
            switch data {
            case .text(let text):
                if D.self == String.self { return unsafeBitCast(text, to: D.self) }
                if D.self == String?.self { return unsafeBitCast(String?.some(text), to: D.self) }
            case .integer(let number):
                if D.self == Int.self { return unsafeBitCast(number, to: D.self) }
                if D.self == Bool.self { return unsafeBitCast(number != 0, to: D.self) }
                if D.self == Int?.self { return unsafeBitCast(Int?.some(number), to: D.self) }
                if D.self == Double.self { return unsafeBitCast(Double(number), to: D.self) }
            case .float(let number):
                if D.self == Double.self { return unsafeBitCast(number, to: D.self) }
                if D.self == Double?.self { return unsafeBitCast(Double?.some(number), to: D.self) }
            case .null:
                if D.self == String?.self { return unsafeBitCast(String?.none, to: D.self) }
                if D.self == Double?.self { return unsafeBitCast(Double?.none, to: D.self) }
                if D.self == Int?.self { return unsafeBitCast(Int?.none, to: D.self) }
            case .blob:
                break
            }
            return try SQLiteDataDecoder().decode(D.self, from: data)
        }
    }
}
