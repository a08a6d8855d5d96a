import Foundation

/// An `Encoder` that writes compact JSON bytes while `encode(to:)` runs, instead of building
/// a tree of values first as `JSONEncoder` does (which dominates the cost of a long list:
/// 10,000 ports). Keys come out in the order a type encodes them. It matches `JSONEncoder`
/// with `.withoutEscapingSlashes` and default strategies for everything Updraft encodes:
/// `Data` as base64, `URL` as its absolute string, `Date` as seconds since 2001 (its own
/// encoding), integral doubles without a fraction; a non-finite number is an error.
public struct StreamingJSONEncoder: Sendable {
    public var userInfo: [CodingUserInfoKey: any Sendable]
    /// When set, the objects that are items of a top-level array keep only these keys
    /// (Neutron's `fields`); a value they leave out is never encoded.
    public var fields: Set<String>?

    public init(userInfo: [CodingUserInfoKey: any Sendable] = [:], fields: Set<String>? = nil) {
        self.userInfo = userInfo
        self.fields = fields
    }

    public func encode(_ value: some Encodable) throws -> [UInt8] {
        let sink = Sink(userInfo: userInfo, fields: fields)
        try sink.write(value)
        return sink.bytes
    }

    /// Writes `value` at the end of `bytes` (for bodies assembled around an encoded part).
    public func encode(_ value: some Encodable, appendingTo bytes: inout [UInt8]) throws {
        let sink = Sink(userInfo: userInfo, fields: fields)
        swap(&sink.bytes, &bytes)
        defer { swap(&sink.bytes, &bytes) }
        try sink.write(value)
    }
}

extension StreamingJSONEncoder {
    /// The output and the containers still open in it, innermost last.
    fileprivate final class Sink {
        // One encode runs on one thread; the checks would cost more than the writing.
        @exclusivity(unchecked) var bytes: [UInt8] = []
        /// Per open container: how many members it has so far (for the commas).
        @exclusivity(unchecked) var open: [Int] = []
        let userInfo: [CodingUserInfoKey: Any]
        let fields: Set<String>?
        /// Whether the outermost value is an array: its items are the objects `fields` trims.
        var topArray = false

        init(userInfo: [CodingUserInfoKey: any Sendable], fields: Set<String>?) {
            self.userInfo = userInfo
            self.fields = fields
            bytes.reserveCapacity(1024)
        }

        /// Whether key `key` of the object at `depth` is left out by `fields`.
        func skips(_ key: String, at depth: Int) -> Bool {
            guard let fields, topArray, depth == 2 else { return false }
            return !fields.contains(key)
        }

        /// Closes the containers deeper than `depth` (a nested container its owner moved past).
        func close(to depth: Int) {
            while open.count > depth {
                open.removeLast()
                bytes.append(closers.removeLast())
            }
        }
        @exclusivity(unchecked) private var closers: [UInt8] = []

        func push(_ opener: UInt8, _ closer: UInt8) {
            if open.isEmpty { topArray = opener == UInt8(ascii: "[") }
            bytes.append(opener)
            open.append(0)
            closers.append(closer)
        }

        /// Starts member `depth - 1`'s next item: a comma after the first.
        func member(at depth: Int) {
            close(to: depth)
            if open[depth - 1] > 0 { bytes.append(UInt8(ascii: ",")) }
            open[depth - 1] += 1
        }

        func key(_ key: String, at depth: Int) {
            member(at: depth)
            JSONValue.writeString(key, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
        }

        func number(_ value: Double) throws {
            guard value.isFinite else {
                throw EncodingError.invalidValue(
                    value, .init(codingPath: [], debugDescription: "Unable to encode \(value) directly in JSON."))
            }
            JSONValue.number(value).write(to: &bytes)
        }

        func integer(_ value: some BinaryInteger) {
            bytes.append(contentsOf: String(value).utf8)
        }

        /// Writes one whole value (a primitive, or a type's own encoding) where a value goes.
        func write<T: Encodable>(_ value: T) throws {
            // Type checks, not casts: they cost a comparison each.
            if T.self == String.self {
                JSONValue.writeString(unsafeBitCast(value, to: String.self), to: &bytes)
            } else if T.self == Int.self {
                integer(unsafeBitCast(value, to: Int.self))
            } else if T.self == Bool.self {
                bytes.append(contentsOf: (unsafeBitCast(value, to: Bool.self) ? "true" : "false").utf8)
            } else if T.self == Double.self {
                try number(unsafeBitCast(value, to: Double.self))
            } else if T.self == Data.self {
                JSONValue.writeString(unsafeBitCast(value, to: Data.self).base64EncodedString(), to: &bytes)
            } else if T.self == URL.self {
                JSONValue.writeString(unsafeBitCast(value, to: URL.self).absoluteString, to: &bytes)
            } else if T.self == JSONValue.self {
                unsafeBitCast(value, to: JSONValue.self).write(to: &bytes)
            } else {
                let depth = open.count
                let encoder = Writer(sink: self)
                try value.encode(to: encoder)
                if !encoder.wrote { bytes.append(contentsOf: "{}".utf8) }
                close(to: depth)
            }
        }
    }

    /// The `Encoder` one value writes itself through.
    fileprivate final class Writer: Encoder {
        let sink: Sink
        /// The depth of the container this value opened, once it opened one.
        var opened: Int?
        /// Whether the value wrote anything (a single value, or a container).
        var wrote = false

        init(sink: Sink) { self.sink = sink }

        var codingPath: [any CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { sink.userInfo }

        /// The container this value writes into: opened on first request, shared by later ones.
        private func depth(_ opener: UInt8, _ closer: UInt8) -> Int {
            if let opened, sink.open.count >= opened { return opened }
            sink.push(opener, closer)
            wrote = true
            opened = sink.open.count
            return sink.open.count
        }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            KeyedEncodingContainer(Keyed<Key>(sink: sink, depth: depth(UInt8(ascii: "{"), UInt8(ascii: "}"))))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            Unkeyed(sink: sink, depth: depth(UInt8(ascii: "["), UInt8(ascii: "]")))
        }

        func singleValueContainer() -> any SingleValueEncodingContainer {
            wrote = true
            return Single(sink: sink)
        }
    }

    fileprivate struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let sink: Sink
        let depth: Int
        var codingPath: [any CodingKey] { [] }

        /// Writes `key` and returns true, or false when `fields` leaves it out.
        private func start(_ key: Key) -> Bool {
            if sink.skips(key.stringValue, at: depth) { return false }
            sink.key(key.stringValue, at: depth)
            return true
        }

        private func integer(_ value: some BinaryInteger, _ key: Key) {
            guard start(key) else { return }
            sink.integer(value)
        }

        mutating func encodeNil(forKey key: Key) throws {
            guard start(key) else { return }
            sink.bytes.append(contentsOf: "null".utf8)
        }
        mutating func encode(_ value: Bool, forKey key: Key) throws {
            guard start(key) else { return }
            sink.bytes.append(contentsOf: (value ? "true" : "false").utf8)
        }
        mutating func encode(_ value: String, forKey key: Key) throws {
            guard start(key) else { return }
            JSONValue.writeString(value, to: &sink.bytes)
        }
        mutating func encode(_ value: Double, forKey key: Key) throws {
            guard start(key) else { return }
            try sink.number(value)
        }
        mutating func encode(_ value: Float, forKey key: Key) throws {
            guard start(key) else { return }
            try sink.number(Double(value))
        }
        mutating func encode(_ value: Int, forKey key: Key) throws { integer(value, key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { integer(value, key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { integer(value, key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { integer(value, key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { integer(value, key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { integer(value, key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { integer(value, key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { integer(value, key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { integer(value, key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { integer(value, key) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            guard start(key) else { return }
            try sink.write(value)
        }
        // Containers opened by key are written whatever `fields` says (no Neutron model opens one).
        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type, forKey key: Key
        ) -> KeyedEncodingContainer<NestedKey> {
            sink.key(key.stringValue, at: depth)
            sink.push(UInt8(ascii: "{"), UInt8(ascii: "}"))
            return KeyedEncodingContainer(Keyed<NestedKey>(sink: sink, depth: sink.open.count))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            sink.key(key.stringValue, at: depth)
            sink.push(UInt8(ascii: "["), UInt8(ascii: "]"))
            return Unkeyed(sink: sink, depth: sink.open.count)
        }
        mutating func superEncoder() -> any Encoder {
            sink.key("super", at: depth)
            return Writer(sink: sink)
        }
        mutating func superEncoder(forKey key: Key) -> any Encoder {
            sink.key(key.stringValue, at: depth)
            return Writer(sink: sink)
        }
    }

    fileprivate struct Unkeyed: UnkeyedEncodingContainer {
        let sink: Sink
        let depth: Int
        var codingPath: [any CodingKey] { [] }
        var count: Int { sink.open.count >= depth ? sink.open[depth - 1] : 0 }

        private func integer(_ value: some BinaryInteger) {
            sink.member(at: depth)
            sink.integer(value)
        }

        mutating func encodeNil() throws {
            sink.member(at: depth)
            sink.bytes.append(contentsOf: "null".utf8)
        }
        mutating func encode(_ value: String) throws {
            sink.member(at: depth)
            JSONValue.writeString(value, to: &sink.bytes)
        }
        mutating func encode(_ value: Int8) throws { integer(value) }
        mutating func encode(_ value: Int16) throws { integer(value) }
        mutating func encode(_ value: Int32) throws { integer(value) }
        mutating func encode(_ value: UInt) throws { integer(value) }
        mutating func encode(_ value: UInt8) throws { integer(value) }
        mutating func encode(_ value: UInt16) throws { integer(value) }
        mutating func encode(_ value: UInt32) throws { integer(value) }
        mutating func encode(_ value: Int) throws { integer(value) }
        mutating func encode(_ value: Int64) throws { integer(value) }
        mutating func encode(_ value: UInt64) throws { integer(value) }
        mutating func encode(_ value: Bool) throws {
            sink.member(at: depth)
            sink.bytes.append(contentsOf: (value ? "true" : "false").utf8)
        }
        mutating func encode(_ value: Double) throws {
            sink.member(at: depth)
            try sink.number(value)
        }
        mutating func encode(_ value: Float) throws {
            sink.member(at: depth)
            try sink.number(Double(value))
        }
        mutating func encode<T: Encodable>(_ value: T) throws {
            sink.member(at: depth)
            try sink.write(value)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey>
        {
            sink.member(at: depth)
            sink.push(UInt8(ascii: "{"), UInt8(ascii: "}"))
            return KeyedEncodingContainer(Keyed<NestedKey>(sink: sink, depth: sink.open.count))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            sink.member(at: depth)
            sink.push(UInt8(ascii: "["), UInt8(ascii: "]"))
            return Unkeyed(sink: sink, depth: sink.open.count)
        }
        mutating func superEncoder() -> any Encoder {
            sink.member(at: depth)
            return Writer(sink: sink)
        }
    }

    fileprivate struct Single: SingleValueEncodingContainer {
        let sink: Sink
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil() throws { sink.bytes.append(contentsOf: "null".utf8) }
        mutating func encode(_ value: Bool) throws { sink.bytes.append(contentsOf: (value ? "true" : "false").utf8) }
        mutating func encode(_ value: String) throws { JSONValue.writeString(value, to: &sink.bytes) }
        mutating func encode(_ value: Double) throws { try sink.number(value) }
        mutating func encode(_ value: Float) throws { try sink.number(Double(value)) }
        mutating func encode(_ value: Int) throws { sink.integer(value) }
        mutating func encode(_ value: Int64) throws { sink.integer(value) }
        mutating func encode(_ value: UInt64) throws { sink.integer(value) }
        mutating func encode(_ value: Int8) throws { sink.integer(value) }
        mutating func encode(_ value: Int16) throws { sink.integer(value) }
        mutating func encode(_ value: Int32) throws { sink.integer(value) }
        mutating func encode(_ value: UInt) throws { sink.integer(value) }
        mutating func encode(_ value: UInt8) throws { sink.integer(value) }
        mutating func encode(_ value: UInt16) throws { sink.integer(value) }
        mutating func encode(_ value: UInt32) throws { sink.integer(value) }
        mutating func encode<T: Encodable>(_ value: T) throws { try sink.write(value) }
    }
}
