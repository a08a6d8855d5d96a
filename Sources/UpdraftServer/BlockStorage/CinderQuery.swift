import Foundation
import Hummingbird
import UpdraftCore

/// A Cinder list's query: `limit`, `marker`, `offset`, `sort` (`key[:dir],...`, or the older
/// `sort_key`/`sort_dir`), and the rest as filters. Cinder sorts by `created_at` descending
/// unless asked otherwise, and links the next page when a page is full.
struct CinderQuery: Sendable {
    var limit: Int?
    var marker: String?
    var offset = 0
    var sort: [(key: String, ascending: Bool)] = [("created_at", false)]
    /// Every other parameter, by name.
    var filters: [String: String] = [:]

    static let paging: Set<String> = ["limit", "marker", "offset", "sort", "sort_key", "sort_dir", "with_count"]

    init(_ request: Request, maxLimit: Int, sortable: Set<String>) throws(UpdraftError) {
        for (name, value) in request.uri.queryParameters {
            let key = String(name)
            if !Self.paging.contains(key) { filters[key] = String(value) }
        }
        if let text = request.uri.queryParameters["limit"] {
            guard let n = Int(String(text)), n >= 0 else {
                throw .badRequest("Invalid input received: limit must be a non-negative integer, not '\(text)'.")
            }
            limit = min(n, maxLimit)
        }
        if let text = request.uri.queryParameters["offset"] {
            guard let n = Int(String(text)), n >= 0 else {
                throw .badRequest("Invalid input received: offset must be a non-negative integer, not '\(text)'.")
            }
            offset = n
        }
        marker = request.uri.queryParameters["marker"].map(String.init)
        var keys: [(String, Bool)] = []
        if let text = request.uri.queryParameters["sort"] {
            for item in text.split(separator: ",") {
                let parts = item.split(separator: ":")
                let key = String(parts[0]).trimmingCharacters(in: .whitespaces)
                let direction = parts.count > 1 ? String(parts[1]).lowercased() : "desc"
                keys.append((key, direction == "asc"))
                guard ["asc", "desc"].contains(direction) else {
                    throw .badRequest("Invalid input received: Unknown sort direction, must be 'desc' or 'asc'")
                }
            }
        } else if let key = request.uri.queryParameters["sort_key"] {
            let direction = request.uri.queryParameters["sort_dir"].map { String($0).lowercased() } ?? "desc"
            guard ["asc", "desc"].contains(direction) else {
                throw .badRequest("Invalid input received: Unknown sort direction, must be 'desc' or 'asc'")
            }
            keys.append((String(key), direction == "asc"))
        }
        for (key, _) in keys where !sortable.contains(key) {
            throw .badRequest("Invalid input received: Invalid sort key \(key)")
        }
        if !keys.isEmpty { sort = keys.map { (key: $0.0, ascending: $0.1) } }
    }

    /// Whether an administrator asked for every project (`all_tenants`).
    var allProjects: Bool {
        guard let value = filters["all_tenants"] else { return false }
        return ["1", "true", "yes", "on", "True"].contains(value)
    }

    /// `items` sorted, after `marker` and `offset`, cut at `limit`; and whether to link a next page.
    func page<T>(_ items: [T], id: (T) -> String, value: (T, String) -> String) throws(UpdraftError) -> ([T], Bool) {
        let sorted = items.sorted { a, b in
            for (key, ascending) in sort {
                let (x, y) = (value(a, key), value(b, key))
                if x != y { return ascending ? x < y : x > y }
            }
            return ascending(id(a), id(b))
        }
        var start = 0
        if let marker {
            guard let index = sorted.firstIndex(where: { id($0) == marker }) else {
                throw UpdraftError(.notFound, "Marker \(marker) could not be found.")
            }
            start = index + 1
        }
        start = min(sorted.count, start + offset)
        let rest = sorted[start...]
        guard let limit else { return (Array(rest), false) }
        let page = Array(rest.prefix(limit))
        // Cinder links a next page whenever a page is full, even when nothing follows it.
        return (page, limit > 0 && page.count == limit)
    }

    private func ascending(_ a: String, _ b: String) -> Bool {
        (sort.first?.ascending ?? false) ? a < b : a > b
    }

    /// Text that sorts like the number it holds (sizes), for ``page(_:id:value:)``.
    static func sortable(_ number: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }
}
