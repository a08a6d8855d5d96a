import Foundation
import Hummingbird
import UpdraftCore

/// Neutron's list query, applied to resources already encoded as JSON objects: a filter on
/// any attribute (repeat a key for any of several values), the tag filters, `fields`,
/// `sort_key`/`sort_dir`, and `limit`/`marker`/`page_reverse` pagination with links.
struct NeutronQuery: Sendable {
    static let reserved: Set<String> = [
        "fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse", "tags", "tags-any", "not-tags", "not-tags-any",
    ]

    var filters: [String: [String]] = [:]
    var fields: [String] = []
    var sort: [(key: String, ascending: Bool)] = []
    var limit: Int?
    var marker: String?
    var pageReverse = false
    var allTags: [String] = []
    var anyTags: [String] = []
    var notAllTags: [String] = []
    var notAnyTags: [String] = []

    init(_ request: Request, maxLimit: Int) throws(UpdraftError) {
        let parameters = request.uri.queryParameters
        for (key, value) in parameters {
            let key = Self.decoded(key)
            guard !Self.reserved.contains(key) else { continue }
            filters[key, default: []].append(Self.decoded(value))
        }
        fields = parameters[values: "fields"].flatMap { $0.split(separator: ",").map(String.init) }
        let keys = parameters[values: "sort_key"].map(String.init)
        let directions = parameters[values: "sort_dir"].map { $0.lowercased() }
        for direction in directions where direction != "asc" && direction != "desc" {
            throw UpdraftError(
                .badRequest, "Bad request: sort_dir must be 'asc' or 'desc', not '\(direction)'.", kind: "HTTPBadRequest")
        }
        guard directions.isEmpty || directions.count == keys.count else {
            throw UpdraftError(.badRequest, "The number of sort_keys and sort_dirs must be same", kind: "HTTPBadRequest")
        }
        sort = keys.enumerated().map { (key: $1, ascending: directions.isEmpty ? true : directions[$0] == "asc") }
        if let text = parameters["limit"] {
            guard let n = Int(text), n >= 0 else {
                throw UpdraftError(
                    .badRequest, "Bad limit request: Limit must be an integer 0 or greater and not '\(text)'.", kind: "BadRequest"
                )
            }
            limit = n == 0 ? nil : min(n, maxLimit)
        }
        marker = parameters["marker"].map(String.init)
        pageReverse = parameters["page_reverse"].map { $0.lowercased() == "true" } ?? false
        func tagList(_ key: String) -> [String] {
            parameters[values: Substring(key)].flatMap { $0.split(separator: ",").map(String.init) }
        }
        allTags = tagList("tags")
        anyTags = tagList("tags-any")
        notAllTags = tagList("not-tags")
        notAnyTags = tagList("not-tags-any")
    }

    /// Whether the query asks for everything, unfiltered, unsorted, whole.
    var isPlain: Bool { fields.isEmpty && isWhole }

    /// Whether the query asks for every resource, in no order, on one page (`fields` may pick
    /// attributes): what the encoder can write without the query's own pass.
    var isWhole: Bool {
        filters.isEmpty && sort.isEmpty && limit == nil && marker == nil && !pageReverse
            && allTags.isEmpty && anyTags.isEmpty && notAllTags.isEmpty && notAnyTags.isEmpty
    }

    /// Takes the one value of filter `key` when it is asked for alone, for a store that can
    /// filter by it: the query then no longer applies it.
    mutating func take(_ key: String) -> String? {
        guard let values = filters[key], values.count == 1 else { return nil }
        filters[key] = nil
        return values[0]
    }

    /// The page of `items` this query asks for, and whether more lie beyond it.
    func apply(_ items: [[String: JSONValue]]) throws(UpdraftError) -> (page: [[String: JSONValue]], more: Bool) {
        var matched = items.filter(matches)
        if !sort.isEmpty || limit != nil || marker != nil {
            matched.sort { a, b in
                for (key, ascending) in sort {
                    let order = Self.compare(a[key], b[key])
                    if order != .orderedSame { return ascending ? order == .orderedAscending : order == .orderedDescending }
                }
                return Self.compare(a["id"], b["id"]) == .orderedAscending
            }
        }
        if pageReverse { matched.reverse() }
        if let marker {
            guard let index = matched.firstIndex(where: { $0["id"] == .string(marker) }) else {
                throw UpdraftError(.notFound, "Marker \(marker) could not be found.", kind: "NotFound")
            }
            matched = Array(matched[(index + 1)...])
        }
        var more = false
        if let limit, matched.count > limit {
            matched = Array(matched.prefix(limit))
            more = true
        }
        if pageReverse { matched.reverse() }
        return (matched.map(project), more)
    }

    /// Only the requested `fields`, when some were asked for.
    func project(_ object: [String: JSONValue]) -> [String: JSONValue] {
        guard !fields.isEmpty else { return object }
        return object.filter { fields.contains($0.key) }
    }

    /// A query key or value as sent, percent-encoding and `+` undone (`router%3Aexternal`).
    static func decoded(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// Whether `object` passes every filter; a filter on an attribute the resource does not
    /// have is ignored, as Neutron does without its filter-validation extension.
    func matches(_ object: [String: JSONValue]) -> Bool {
        for (key, values) in filters {
            guard let attribute = object[key] else { continue }
            guard values.contains(where: { Self.matches(attribute, $0) }) else { return false }
        }
        let tags = Set(
            object["tags"].flatMap { value -> [String]? in
                guard case .array(let items) = value else { return nil }
                return items.compactMap { if case .string(let s) = $0 { s } else { nil } }
            } ?? [])
        if !allTags.isEmpty && !Set(allTags).isSubset(of: tags) { return false }
        if !anyTags.isEmpty && tags.isDisjoint(with: anyTags) { return false }
        if !notAllTags.isEmpty && Set(notAllTags).isSubset(of: tags) { return false }
        if !notAnyTags.isEmpty && !tags.isDisjoint(with: notAnyTags) { return false }
        return true
    }

    /// Whether one attribute matches one filter value: text compared as text, booleans in
    /// any case, a list when one element matches, a list of objects by `key=value`.
    static func matches(_ attribute: JSONValue, _ value: String) -> Bool {
        switch attribute {
        case .string(let s): return s == value
        case .bool(let b): return value.lowercased() == (b ? "true" : "false")
        case .integer(let n): return String(n) == value
        case .number(let n): return Double(value) == n
        case .null: return value.isEmpty || value == "None"
        case .array(let items):
            return items.contains { item in
                if case .object(let fields) = item {
                    let pair = value.split(separator: "=", maxSplits: 1).map(String.init)
                    guard pair.count == 2, let field = fields[pair[0]] else { return false }
                    return matches(field, pair[1])
                }
                return matches(item, value)
            }
        case .object: return false
        }
    }

    static func compare(_ a: JSONValue?, _ b: JSONValue?) -> ComparisonResult {
        switch (a, b) {
        case (.integer(let x)?, .integer(let y)?): return x < y ? .orderedAscending : x > y ? .orderedDescending : .orderedSame
        case (.bool(let x)?, .bool(let y)?): return x == y ? .orderedSame : (!x ? .orderedAscending : .orderedDescending)
        default:
            let x = a.map(Self.text) ?? ""
            let y = b.map(Self.text) ?? ""
            return x < y ? .orderedAscending : x > y ? .orderedDescending : .orderedSame
        }
    }

    static func text(_ value: JSONValue) -> String {
        if case .string(let s) = value { return s }
        return value.jsonText
    }
}
