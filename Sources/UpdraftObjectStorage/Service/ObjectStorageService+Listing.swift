import SQLKit
import UpdraftCore

/// Listings in Swift's order and with its parameters: names in byte order (or reversed),
/// after `marker`, before `end_marker`, under `prefix`, and names that go on past the
/// `delimiter` rolled into one `subdir` each.
extension ObjectStorageService {
    /// The name range one query reads, in its direction.
    struct Bounds {
        /// Names above this (`inclusive` says whether it counts).
        var lower: (value: String, inclusive: Bool)?
        /// Names below this.
        var upper: (value: String, inclusive: Bool)?
        var descending = false

        /// ` AND name > ... ORDER BY name`, for a query whose WHERE clause is already open.
        var sql: SQLQueryString {
            var sql: SQLQueryString = ""
            if let lower { sql += lower.inclusive ? " AND name >= \(bind: lower.value)" : " AND name > \(bind: lower.value)" }
            if let upper { sql += upper.inclusive ? " AND name <= \(bind: upper.value)" : " AND name < \(bind: upper.value)" }
            sql += descending ? " ORDER BY name DESC" : " ORDER BY name"
            return sql
        }
    }

    /// The page size asked, within Swift's limit; 412 above it, as Swift answers.
    static func limit(_ query: ListingQuery, max: Int) throws(UpdraftError) -> Int {
        guard let limit = query.limit else { return max }
        guard limit >= 0 else { return max }
        guard limit <= max else { throw .preconditionFailed("Maximum limit is \(max)") }
        return limit
    }

    /// The first string above every string that starts with `prefix`, or nil when there is none.
    static func successor(of prefix: String) -> String? {
        var scalars = Array(prefix.unicodeScalars)
        while let last = scalars.popLast() {
            var next = last.value + 1
            if next == 0xD800 { next = 0xE000 }
            if let scalar = Unicode.Scalar(next) {
                scalars.append(scalar)
                var result = String.UnicodeScalarView()
                result.append(contentsOf: scalars)
                return String(result)
            }
        }
        return nil
    }

    /// Reads one page of `query` through `fetch` (which runs one bounded query of at most
    /// `count` rows), rolling names up at the delimiter: each common prefix is one entry and
    /// the next query starts past it, so a page costs a query per common prefix, not a scan.
    static func collect(
        _ query: ListingQuery, limit: Int, fetch: (Bounds, Int) async throws -> [ListingEntry]
    ) async throws -> [ListingEntry] {
        guard limit > 0 else { return [] }
        var query = query
        if query.marker?.isEmpty == true { query.marker = nil }
        if query.endMarker?.isEmpty == true { query.endMarker = nil }
        let prefix = query.prefix ?? ""
        let delimiter = query.delimiter.flatMap { $0.isEmpty ? nil : $0 }
        var bounds = Bounds(descending: query.reverse)
        let prefixEnd = prefix.isEmpty ? nil : successor(of: prefix)
        if query.reverse {
            // Reversed, `marker` is where the list starts from above and `end_marker` where it stops.
            bounds.upper = [query.marker.map { ($0, false) }, prefixEnd.map { ($0, false) }].compactMap { $0 }
                .min { $0.0 < $1.0 }
            bounds.lower = [query.endMarker.map { ($0, false) }, prefix.isEmpty ? nil : (prefix, true)].compactMap { $0 }
                .max { $0.0 < $1.0 }
        } else {
            if let marker = query.marker, marker >= prefix {
                bounds.lower = (marker, false)
            } else if !prefix.isEmpty {
                bounds.lower = (prefix, true)
            }
            bounds.upper = [query.endMarker.map { ($0, false) }, prefixEnd.map { ($0, false) }].compactMap { $0 }
                .min { $0.0 < $1.0 }
        }
        var entries: [ListingEntry] = []
        while entries.count < limit {
            let wanted = limit - entries.count
            let rows = try await fetch(bounds, wanted)
            var rolled = false
            for row in rows {
                let name = row.name
                if let delimiter, name.hasPrefix(prefix),
                    let range = name.dropFirst(prefix.count).range(of: delimiter)
                {
                    let common = prefix + name.dropFirst(prefix.count)[..<range.upperBound]
                    // A common prefix at or before the marker was the last page's end: not again.
                    if query.reverse || query.marker.map({ $0.utf8.lexicographicallyPrecedes(common.utf8) }) ?? true {
                        entries.append(.subdirectory(String(common)))
                    }
                    if query.reverse {
                        bounds.upper = (common, false)
                    } else if let next = successor(of: common) {
                        bounds.lower = (next, true)
                    } else {
                        return entries
                    }
                    rolled = true
                    break
                }
                entries.append(row)
                if query.reverse { bounds.upper = (name, false) } else { bounds.lower = (name, false) }
            }
            if !rolled && rows.count < wanted { break }
        }
        return entries
    }
}
