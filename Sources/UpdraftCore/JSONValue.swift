import Foundation

/// Any JSON value: for request bodies read field by field, and for free-form attributes
/// (Keystone's user extras, image properties) stored as they came.
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits in `Int`, kept exact.
    case integer(Int)
    /// Any other number: a fraction, an exponent, or an integer too large for `Int`.
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value):
            if value == value.rounded(), abs(value) < 1e15 {
                try container.encode(Int64(value))
            } else {
                try container.encode(value)
            }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The value as an exact `Int`: an integer, or a number with no fraction that `Int` holds.
    /// Nil for anything else (a fraction, 1e300, a string); never traps.
    public var exactInteger: Int? {
        switch self {
        case .integer(let value): value
        case .number(let value): Int(exactly: value)
        default: nil
        }
    }

    /// Parses a request body; a body that is not JSON is a `badRequest`.
    public static func parse(_ data: Data) throws(UpdraftError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw .badRequest(
                "Expecting to find valid JSON in request body. The server could not comply with the request since it is either malformed or otherwise incorrect."
            )
        }
    }

    /// The serialised form, for storing free-form attributes.
    public var jsonText: String {
        (try? String(decoding: JSONEncoder().encode(self), as: UTF8.self)) ?? "null"
    }

    public static func decode(text: String) -> JSONValue {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .null
    }
}

/// A JSON object read field by field with typed accessors that reject wrong types with a
/// message naming the field.
public struct JSONObject: Sendable {
    public var fields: [String: JSONValue]
    /// The path shown in error messages, e.g. `project`.
    public var path: String

    public init(_ fields: [String: JSONValue], path: String) {
        self.fields = fields
        self.path = path
    }

    /// The whole body as an object, for calls whose body has more than one top-level key.
    public init(_ value: JSONValue) throws(UpdraftError) {
        guard case .object(let fields) = value else { throw .badRequest("The request body must be a JSON object.") }
        self.init(fields, path: "")
    }

    /// The object under `key` of a request body (`{"project": {...}}`).
    public static func body(_ value: JSONValue, key: String) throws(UpdraftError) -> JSONObject {
        guard case .object(let root) = value, case .object(let inner)? = root[key] else {
            throw .badRequest("Invalid input for field '\(key)': the request body must be a JSON object with a '\(key)' object.")
        }
        return JSONObject(inner, path: key)
    }

    public func has(_ key: String) -> Bool { fields[key] != nil }

    /// A string field. A NUL character is a 400 in every service: no OpenStack field holds
    /// one, and PostgreSQL cannot store it.
    public func string(_ key: String) throws(UpdraftError) -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case .string(let value)?:
            guard !value.utf8.contains(0) else {
                throw .badRequest("Invalid input for field '\(path).\(key)': NUL characters are not allowed.")
            }
            return value
        default: throw .badRequest("Invalid input for field '\(path).\(key)': expected a string.")
        }
    }

    public func requiredString(_ key: String, maxLength: Int = 255) throws(UpdraftError) -> String {
        guard let value = try string(key), !value.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .badRequest("Invalid input for field '\(path).\(key)': a non-empty string is required.")
        }
        guard value.count <= maxLength else {
            throw .badRequest("Invalid input for field '\(path).\(key)': longer than \(maxLength) characters.")
        }
        return value
    }

    /// An integer field within `range`; a wrong type, a fraction, or a value outside `range`
    /// is a 400 naming the field and the range. Every count, size and id a client sends is
    /// read through here (or the compute API's variant that also takes numeric strings).
    public func integer(_ key: String, in range: ClosedRange<Int>) throws(UpdraftError) -> Int? {
        switch fields[key] {
        case nil, .null?: return nil
        case let value?:
            guard let number = value.exactInteger else {
                throw .badRequest("Invalid input for field '\(path).\(key)': expected an integer, got \(value.jsonText).")
            }
            guard range.contains(number) else {
                throw .badRequest(
                    "Invalid input for field '\(path).\(key)': \(number) is not between \(range.lowerBound) and \(range.upperBound)."
                )
            }
            return number
        }
    }

    /// A number field, whole or not; a string or anything else is a 400 naming the field.
    public func number(_ key: String) throws(UpdraftError) -> Double? {
        switch fields[key] {
        case nil, .null?: return nil
        case .integer(let value)?: return Double(value)
        case .number(let value)? where value.isFinite: return value
        default: throw .badRequest("Invalid input for field '\(path).\(key)': expected a number.")
        }
    }

    public func bool(_ key: String) throws(UpdraftError) -> Bool? {
        switch fields[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        default: throw .badRequest("Invalid input for field '\(path).\(key)': expected a boolean.")
        }
    }

    public func object(_ key: String) throws(UpdraftError) -> JSONObject? {
        switch fields[key] {
        case nil, .null?: return nil
        case .object(let value)?: return JSONObject(value, path: "\(path).\(key)")
        default: throw .badRequest("Invalid input for field '\(path).\(key)': expected an object.")
        }
    }

    public func array(_ key: String) throws(UpdraftError) -> [JSONValue]? {
        switch fields[key] {
        case nil, .null?: return nil
        case .array(let value)?: return value
        default: throw .badRequest("Invalid input for field '\(path).\(key)': expected a list.")
        }
    }

    public func strings(_ key: String) throws(UpdraftError) -> [String]? {
        guard let values = try array(key) else { return nil }
        var strings: [String] = []
        for value in values {
            guard case .string(let s) = value else {
                throw .badRequest("Invalid input for field '\(path).\(key)': expected a list of strings.")
            }
            strings.append(s)
        }
        return strings
    }

    public func objects(_ key: String) throws(UpdraftError) -> [JSONObject]? {
        guard let values = try array(key) else { return nil }
        var objects: [JSONObject] = []
        for (index, value) in values.enumerated() {
            guard case .object(let o) = value else {
                throw .badRequest("Invalid input for field '\(path).\(key)': expected a list of objects.")
            }
            objects.append(JSONObject(o, path: "\(path).\(key)[\(index)]"))
        }
        return objects
    }
}
