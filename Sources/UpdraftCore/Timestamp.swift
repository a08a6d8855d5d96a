import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The timestamp formats OpenStack APIs write and read.
public enum Timestamp {
    /// `2026-11-24T21:00:00.000000Z`, as Keystone writes `expires_at` and `issued_at`.
    public static func microseconds(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        let whole = floor(seconds)
        let micros = min(999_999, Int(((seconds - whole) * 1_000_000).rounded()))
        let digits = String(micros)
        return fields(whole) + "." + String(repeating: "0", count: 6 - digits.count) + digits + "Z"
    }

    /// `2026-11-24T21:00:00Z`.
    public static func iso8601(_ date: Date) -> String {
        fields(floor(date.timeIntervalSince1970)) + "Z"
    }

    private static func fields(_ seconds: Double) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        // Digits written into one buffer: string formatting and concatenation were the largest
        // cost of rendering a long list (two timestamps per resource).
        return String(unsafeUninitializedCapacity: 19) { buffer in
            func put(_ value: Int32, _ width: Int, at start: Int) {
                var value = Int(max(0, value))
                for index in stride(from: start + width - 1, through: start, by: -1) {
                    buffer[index] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
            }
            put(parts.tm_year + 1900, 4, at: 0)
            put(parts.tm_mon + 1, 2, at: 5)
            put(parts.tm_mday, 2, at: 8)
            put(parts.tm_hour, 2, at: 11)
            put(parts.tm_min, 2, at: 14)
            put(parts.tm_sec, 2, at: 17)
            let (dash, colon) = (UInt8(ascii: "-"), UInt8(ascii: ":"))
            for (index, separator) in [(4, dash), (7, dash), (10, UInt8(ascii: "T")), (13, colon), (16, colon)] {
                buffer[index] = separator
            }
            return 19
        }
    }

    /// Parses the ISO 8601 forms clients send: with or without fractional seconds, `Z` or `+00:00`.
    public static func parse(_ text: String) -> Date? {
        var s = Substring(text.trimmingCharacters(in: .whitespaces))
        var offset = 0.0
        if s.hasSuffix("Z") {
            s = s.dropLast()
        } else if s.count > 19, let sign = s.dropFirst(19).firstIndex(where: { $0 == "+" || $0 == "-" }) {
            let zone = s[s.index(after: sign)...].split(separator: ":")
            let hours = Double(zone.first ?? "0") ?? 0
            let minutes = zone.count > 1 ? Double(zone[1]) ?? 0 : 0
            offset = (hours * 3600 + minutes * 60) * (s[sign] == "+" ? 1 : -1)
            s = s[..<sign]
        }
        var fraction = 0.0
        if let dot = s.firstIndex(of: ".") {
            fraction = Double("0" + s[dot...]) ?? 0
            s = s[..<dot]
        }
        let numbers = s.split(whereSeparator: { "-T: ".contains($0) }).compactMap { Int32($0) }
        guard numbers.count == 6 || numbers.count == 5 else { return nil }
        var parts = tm()
        parts.tm_year = numbers[0] - 1900
        parts.tm_mon = numbers[1] - 1
        parts.tm_mday = numbers[2]
        parts.tm_hour = numbers[3]
        parts.tm_min = numbers[4]
        parts.tm_sec = numbers.count == 6 ? numbers[5] : 0
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: Double(epoch) + fraction - offset)
    }
}
