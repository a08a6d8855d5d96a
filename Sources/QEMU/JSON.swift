import Foundation

extension QEMU {
    /// A JSON value as QMP sends and receives it: command arguments, `return` payloads and
    /// event data.
    public enum JSON: Codable, Sendable, Equatable, Hashable {
        case null
        case bool(Bool)
        case int(Int64)
        case double(Double)
        case string(String)
        case array([JSON])
        case object([String: JSON])

        /// Decodes any JSON value, keeping integers exact (QMP sizes exceed `Double`'s precision).
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Int64.self) {
                self = .int(value)
            } else if let value = try? container.decode(Double.self) {
                self = .double(value)
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else if let value = try? container.decode([JSON].self) {
                self = .array(value)
            } else {
                self = .object(try container.decode([String: JSON].self))
            }
        }

        /// Encodes the value as plain JSON.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .null: try container.encodeNil()
            case .bool(let value): try container.encode(value)
            case .int(let value): try container.encode(value)
            case .double(let value): try container.encode(value)
            case .string(let value): try container.encode(value)
            case .array(let value): try container.encode(value)
            case .object(let value): try container.encode(value)
            }
        }

        /// The member `key` of an object; nil for other values or a missing key.
        public subscript(key: String) -> JSON? {
            if case .object(let members) = self { return members[key] }
            return nil
        }

        /// The value when it is a string.
        public var string: String? {
            if case .string(let value) = self { return value }
            return nil
        }

        /// The value when it is a number that fits an integer.
        public var int: Int64? {
            switch self {
            case .int(let value): value
            case .double(let value) where value == value.rounded(): Int64(exactly: value)
            default: nil
            }
        }

        /// The value when it is a boolean.
        public var bool: Bool? {
            if case .bool(let value) = self { return value }
            return nil
        }

        /// Parses one JSON text.
        public static func parse(_ data: Data) throws -> JSON {
            try JSONDecoder().decode(JSON.self, from: data)
        }

        /// The compact serialised form with sorted keys, so output is deterministic.
        public func serialized() throws -> Data {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return try encoder.encode(self)
        }
    }
}

extension QEMU.JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral
{
    /// A string literal as a JSON string.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An integer literal as a JSON number.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// A boolean literal as a JSON boolean.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// A dictionary literal as a JSON object; a repeated key keeps the last value.
    public init(dictionaryLiteral elements: (String, QEMU.JSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    /// An array literal as a JSON array.
    public init(arrayLiteral elements: QEMU.JSON...) { self = .array(elements) }
}
