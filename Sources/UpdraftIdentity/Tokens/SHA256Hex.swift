@preconcurrency import Crypto
import Foundation
import UpdraftCore

/// Lowercase hex SHA-256, as Keystone derives an EC2 credential's id from its access key.
public enum SHA256Hex {
    public static func digest(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).hexString
    }
}
