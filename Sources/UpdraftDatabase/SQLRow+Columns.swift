import SQLKit

extension SQLRow {
    /// A non-null text column.
    public func string(_ column: String) throws -> String { try decode(column: column, as: String.self) }

    /// A nullable text column.
    public func optionalString(_ column: String) throws -> String? { try decode(column: column, as: String?.self) }

    /// A boolean column (SQLite stores 0/1).
    public func bool(_ column: String) throws -> Bool {
        if let value = try? decode(column: column, as: Bool.self) { return value }
        return try decode(column: column, as: Int.self) != 0
    }

    public func double(_ column: String) throws -> Double { try decode(column: column, as: Double.self) }

    public func optionalDouble(_ column: String) throws -> Double? { try decode(column: column, as: Double?.self) }

    public func int(_ column: String) throws -> Int { try decode(column: column, as: Int.self) }
}
