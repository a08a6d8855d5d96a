@preconcurrency import Crypto
import Foundation

/// Lowercase hex SHA-256, as Keystone derives an EC2 credential's id from its access key.
public enum SHA256Hex {
    public static func digest(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
