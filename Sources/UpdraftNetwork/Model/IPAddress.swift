import Foundation

/// An IPv4 or IPv6 address held as a number, for subnet arithmetic.
public struct IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public enum Family: Int, Sendable, Codable {
        case v4 = 4
        case v6 = 6

        /// Bits in an address of this family.
        public var bits: Int { self == .v4 ? 32 : 128 }
    }

    public let family: Family
    /// The address as an unsigned number (IPv4 in the low 32 bits).
    public let value: UInt128

    public init(family: Family, value: UInt128) {
        self.family = family
        self.value = family == .v4 ? value & 0xFFFF_FFFF : value
    }

    /// Parses `10.0.0.1` or `fd00::1`; nil for anything else (no zone, no prefix, no padding).
    public init?(_ text: String) {
        var v4 = in_addr()
        if !text.contains(":"), inet_pton(AF_INET, text, &v4) == 1 {
            self.init(family: .v4, value: UInt128(UInt32(bigEndian: v4.s_addr)))
            return
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard text.contains(":"), inet_pton(AF_INET6, text, &bytes) == 1 else { return nil }
        self.init(family: .v6, value: bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) })
    }

    /// The canonical text: dotted quad, or RFC 5952 for IPv6.
    public var description: String {
        switch family {
        case .v4:
            let n = UInt32(truncatingIfNeeded: value)
            return "\(n >> 24).\(n >> 16 & 0xff).\(n >> 8 & 0xff).\(n & 0xff)"
        case .v6:
            var bytes = (0..<16).map { UInt8(truncatingIfNeeded: value >> (8 * (15 - $0))) }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            _ = inet_ntop(AF_INET6, &bytes, &buffer, socklen_t(buffer.count))
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// The address `n` after this one, or nil past the end of the family.
    public func advanced(by n: UInt128) -> IPAddress? {
        let limit: UInt128 = family == .v4 ? 0xFFFF_FFFF : .max
        guard n <= limit - value else { return nil }
        return IPAddress(family: family, value: value + n)
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        (a.family.rawValue, a.value) < (b.family.rawValue, b.value)
    }
}

/// A subnet, `10.0.0.0/24`: an address whose host bits are zero and a prefix length.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// Parses a CIDR whose host bits are zero, as Neutron insists; nil otherwise.
    public init?(_ cidr: String) {
        guard let (address, length) = Self.parts(cidr), address == Self.masked(address, length) else { return nil }
        self.address = address
        self.prefixLength = length
    }

    /// The network `cidr` lies in, host bits cleared (`10.0.0.5/24` → `10.0.0.0/24`).
    public init?(containing cidr: String) {
        guard let (address, length) = Self.parts(cidr) else { return nil }
        self.address = Self.masked(address, length)
        self.prefixLength = length
    }

    public var family: IPAddress.Family { address.family }
    public var description: String { "\(address)/\(prefixLength)" }

    /// How many addresses it spans (saturating at `UInt128.max` for a /0 in IPv6).
    public var size: UInt128 {
        let hostBits = family.bits - prefixLength
        return hostBits >= 128 ? .max : UInt128(1) << hostBits
    }

    /// The last address (IPv4's broadcast).
    public var last: IPAddress {
        IPAddress(family: family, value: address.value + (size == .max ? .max - address.value : size - 1))
    }

    /// `255.255.255.0` for an IPv4 network; the prefix length for IPv6.
    public var mask: String {
        guard family == .v4 else { return String(prefixLength) }
        let bits: UInt32 = prefixLength == 0 ? 0 : ~UInt32(0) << (32 - prefixLength)
        return IPAddress(family: .v4, value: UInt128(bits)).description
    }

    public func contains(_ ip: IPAddress) -> Bool {
        ip.family == family && ip.value >= address.value && ip.value <= last.value
    }

    public func overlaps(_ other: IPNetwork) -> Bool {
        other.family == family && other.address.value <= last.value && address.value <= other.last.value
    }

    static func parts(_ cidr: String) -> (IPAddress, Int)? {
        let pieces = cidr.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count == 2, let address = IPAddress(String(pieces[0])), let length = Int(pieces[1]),
            pieces[1].allSatisfy(\.isASCII), (0...address.family.bits).contains(length)
        else { return nil }
        return (address, length)
    }

    static func masked(_ address: IPAddress, _ length: Int) -> IPAddress {
        let hostBits = address.family.bits - length
        let mask: UInt128 = hostBits >= 128 ? 0 : ~((UInt128(1) << hostBits) - 1)
        return IPAddress(family: address.family, value: address.value & mask)
    }
}
