import SQLKit

extension SQLDatabase {
    /// One more than the largest `column` in `table` (1 when it is empty): the next id of a
    /// table numbered in the order rows were written. Call it in the transaction that inserts.
    public func nextValue(_ column: String, of table: String) async throws -> Int {
        let row = try await raw("SELECT COALESCE(MAX(\(ident: column)), 0) + 1 AS next FROM \(ident: table)").first()
        return try row?.int("next") ?? 1
    }
}
