extension Sequence<UInt8> {
    /// The bytes as lowercase hexadecimal, two digits each: `[0xde, 0xad]` is `"dead"`. How
    /// digests are written (Glance's checksums, Keystone's ids).
    public var hexString: String {
        hexString(separator: "")
    }

    /// The bytes as lowercase hexadecimal with `separator` between bytes: `"de:ad"` with
    /// `":"`, as an SSH key's MD5 fingerprint is written.
    public func hexString(separator: String) -> String {
        let separator = Array(separator.utf8)
        var text: [UInt8] = []
        text.reserveCapacity(underestimatedCount * (2 + separator.count))
        for byte in self {
            if !separator.isEmpty && !text.isEmpty { text.append(contentsOf: separator) }
            text.append(Self.hexDigit(byte >> 4))
            text.append(Self.hexDigit(byte & 0x0f))
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The ASCII digit for a value below 16: `0`–`9`, then `a`–`f`.
    @inline(__always)
    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? value &+ UInt8(ascii: "0") : value &+ (UInt8(ascii: "a") &- 10)
    }
}
