import UpdraftCore

/// Custom metadata of an account, container or object: lower-cased names without their
/// prefix (`x-object-meta-color` is `color`), values as sent.
public typealias Metadata = [String: String]

/// One metadata change a request carries: `X-<Kind>-Meta-<name>: value` assigns, an empty value
/// or `X-Remove-<Kind>-Meta-<name>` removes.
public struct MetadataChange: Sendable, Equatable {
    public var assigned: Metadata = [:]
    public var removed: Set<String> = []

    public init(assigned: Metadata = [:], removed: Set<String> = []) {
        self.assigned = assigned
        self.removed = removed
    }

    public var isEmpty: Bool { assigned.isEmpty && removed.isEmpty }

    /// Reads the `X-<kind>-Meta-*` and `X-Remove-<kind>-Meta-*` headers of `headers`
    /// (lower-cased names), e.g. `kind` = `object`. An object keeps a metadata item with an
    /// empty value (`keepEmpty`), as Swift does; accounts and containers remove it.
    public static func parse(_ headers: [(name: String, value: String)], kind: String, keepEmpty: Bool = false)
        -> MetadataChange
    {
        let prefix = "x-\(kind)-meta-"
        let removePrefix = "x-remove-\(kind)-meta-"
        var change = MetadataChange()
        for (name, value) in headers {
            if name.hasPrefix(prefix) {
                let key = String(name.dropFirst(prefix.count))
                if value.isEmpty && !keepEmpty {
                    change.removed.insert(key)
                } else {
                    change.assigned[key] = value
                    change.removed.remove(key)
                }
            } else if name.hasPrefix(removePrefix) {
                let key = String(name.dropFirst(removePrefix.count))
                change.assigned[key] = nil
                change.removed.insert(key)
            }
        }
        return change
    }

    /// `metadata` with this change applied.
    public func applied(to metadata: Metadata) -> Metadata {
        var result = metadata
        for key in removed { result[key] = nil }
        for (key, value) in assigned { result[key] = value }
        return result
    }

    /// Swift's limits on the metadata that results: names up to 128 bytes, values up to
    /// 256, at most 90 items and 4096 bytes together; keys of `system` (quotas, the TempURL
    /// keys) do not count. 400 with Swift's message otherwise.
    public static func check(_ metadata: Metadata, kind: String, limits: StorageLimits, system: Set<String> = [])
        throws(UpdraftError)
    {
        var count = 0
        var size = 0
        for (name, value) in metadata {
            if name.isEmpty { throw .badRequest("Metadata name cannot be empty") }
            if name.utf8.count > limits.maxMetaNameLength {
                throw .badRequest("Metadata name too long: X-\(kind.capitalized)-Meta-\(name); max \(limits.maxMetaNameLength)")
            }
            if value.utf8.count > limits.maxMetaValueLength {
                throw .badRequest("Metadata value longer than \(limits.maxMetaValueLength): X-\(kind.capitalized)-Meta-\(name)")
            }
            guard !system.contains(name) else { continue }
            count += 1
            size += name.utf8.count + value.utf8.count
        }
        if count > limits.maxMetaCount { throw .badRequest("Too many metadata items; max \(limits.maxMetaCount)") }
        if size > limits.maxMetaOverallSize {
            throw .badRequest("Total metadata too large; max \(limits.maxMetaOverallSize)")
        }
    }
}
