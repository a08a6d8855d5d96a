import Foundation
import UpdraftCore

/// Keystone writes `"links": {"self": URL}` on every resource; the base URL is the
/// identity endpoint the client called, passed in the encoder's user info.
public enum Links {
    public static let baseKey = CodingUserInfoKey.linkBase

    /// An encoder for identity responses whose links start at `base` (e.g. `http://h:p/identity`).
    public static func encoder(base: String) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.userInfo[baseKey] = base
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }

    static func link(_ encoder: any Encoder, _ path: String) -> [String: String] {
        ["self": "\(encoder.userInfo[baseKey] as? String ?? "")/v3/\(path)"]
    }
}

/// Shorthand for the keyed container the models encode into.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
    init(_ s: String) { stringValue = s }
}

extension KeyedEncodingContainer where K == AnyKey {
    mutating func put<T: Encodable>(_ key: String, _ value: T) throws { try encode(value, forKey: AnyKey(key)) }
    /// Writes `null` for nil, as Keystone does for fields such as `parent_id`.
    mutating func putOrNull<T: Encodable>(_ key: String, _ value: T?) throws {
        if let value { try encode(value, forKey: AnyKey(key)) } else { try encodeNil(forKey: AnyKey(key)) }
    }
}
