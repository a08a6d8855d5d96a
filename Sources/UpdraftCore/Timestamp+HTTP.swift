import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// HTTP's dates (`Last-Modified`, `If-Modified-Since`, S3's `Date`).
extension Timestamp {
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Sun, 29 Nov 2026 17:23:35 GMT` (RFC 9110's IMF-fixdate), whole seconds.
    public static func httpDate(_ seconds: Double) -> String {
        var time = time_t(floor(seconds))
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekdays[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    /// Seconds since 1970 of an IMF-fixdate (`Sun, 29 Nov 2026 17:23:35 GMT`), the obsolete
    /// RFC 850 form (`Sunday, 29-Nov-26 17:23:35 GMT`) or asctime (`Sun Nov 29 17:23:35 2026`);
    /// nil for anything else, which HTTP says to ignore.
    public static func parseHTTPDate(_ text: String) -> Double? {
        let words = text.replacingOccurrences(of: ",", with: " ").split(separator: " ").map(String.init)
        var day: Int?
        var month: Int?
        var year: Int?
        var clock: [Int]?
        for word in words {
            if let index = months.firstIndex(of: word) {
                month = index
            } else if word.contains(":") {
                let fields = word.split(separator: ":").compactMap { Int($0) }
                if fields.count == 3 { clock = fields }
            } else if word.contains("-") {
                let fields = word.split(separator: "-")
                guard fields.count == 3, let d = Int(fields[0]), let y = Int(fields[2]),
                    let m = months.firstIndex(of: String(fields[1]))
                else { return nil }
                (day, month, year) = (d, m, y < 100 ? (y < 70 ? 2000 + y : 1900 + y) : y)
            } else if let number = Int(word) {
                if number > 31 { year = number } else { day = number }
            }
        }
        guard let day, let month, let year, let clock, (1...31).contains(day) else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(clock[0])
        parts.tm_min = Int32(clock[1])
        parts.tm_sec = Int32(clock[2])
        return Double(timegm(&parts))
    }
}
