import SQLKit
import UpdraftDatabase

/// Accounting's own bookkeeping (`accounting_state`): what the running sums were built with,
/// and the last notice handed to the operator's hook.
extension AccountingService {
    enum StateKey: String {
        case ledger
        case noticesDelivered = "notices_delivered"
    }

    static func state(_ key: StateKey, _ db: any SQLDatabase) async throws -> String? {
        try await db.raw("SELECT value FROM accounting_state WHERE key = \(bind: key.rawValue)").first()?.string("value")
    }

    static func setState(_ key: StateKey, _ value: String, _ db: any SQLDatabase) async throws {
        try await db.raw("DELETE FROM accounting_state WHERE key = \(bind: key.rawValue)").run()
        try await db.raw("INSERT INTO accounting_state (key, value) VALUES (\(bind: key.rawValue), \(bind: value))").run()
    }
}
