/// A key of a JSON object, by name: for bodies written field by field, whose keys depend on
/// who reads them or at which API version.
public struct FieldKey: CodingKey, Sendable {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

extension KeyedEncodingContainer where K == FieldKey {
    /// Writes `value` under `key`; nil is written as `null`, as OpenStack shows unset attributes.
    public mutating func put<T: Encodable>(_ key: String, _ value: T?) throws {
        if let value {
            try encode(value, forKey: FieldKey(stringValue: key))
        } else {
            try encodeNil(forKey: FieldKey(stringValue: key))
        }
    }
}
