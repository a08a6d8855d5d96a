import Foundation

/// Resource identifiers: 32 lowercase hex digits, as Keystone writes them.
public enum Identifier {
    /// A new random identifier.
    public static func make() -> String {
        UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }
}
