import Foundation
import UpdraftCore

/// A `Range: bytes=...` header read against an object's size, as Swift and S3 read it.
public enum ByteRanges: Sendable, Equatable {
    /// No header, or one that is not a byte range: the whole object.
    case whole
    /// The ranges that fall inside the object, in the order asked, each `first...last`.
    case partial([ClosedRange<Int64>])
    /// Every range falls outside the object: 416 with `Content-Range: bytes */size`.
    case unsatisfiable

    /// Parses `header` for an object of `size` bytes. A malformed header is ignored (the whole
    /// object), as RFC 9110 asks; ranges past the end are dropped; `bytes=-n` is the last n.
    public init(header: String?, size: Int64, maxRanges: Int = 100) {
        guard let header, header.lowercased().hasPrefix("bytes=") else {
            self = .whole
            return
        }
        var ranges: [ClosedRange<Int64>] = []
        let specs = header.dropFirst("bytes=".count).split(separator: ",", omittingEmptySubsequences: false)
        guard specs.count <= maxRanges else {
            self = .whole
            return
        }
        for raw in specs {
            let spec = raw.trimmingCharacters(in: .whitespaces)
            let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                self = .whole
                return
            }
            if parts[0].isEmpty {
                guard let count = Int64(parts[1]), count >= 0 else {
                    self = .whole
                    return
                }
                if count > 0, size > 0 { ranges.append(max(0, size - count)...(size - 1)) }
                continue
            }
            guard let first = Int64(parts[0]), first >= 0 else {
                self = .whole
                return
            }
            let last: Int64
            if parts[1].isEmpty {
                last = size - 1
            } else {
                guard let value = Int64(parts[1]), value >= first else {
                    self = .whole
                    return
                }
                last = min(value, size - 1)
            }
            if first < size { ranges.append(first...last) }
        }
        self = ranges.isEmpty ? .unsatisfiable : .partial(ranges)
    }
}

/// The conditional headers of a read or write (`If-Match`, `If-None-Match`,
/// `If-Modified-Since`, `If-Unmodified-Since`), evaluated in RFC 9110's order.
public struct Preconditions: Sendable {
    public var ifMatch: String?
    public var ifNoneMatch: String?
    /// Seconds since 1970, already parsed; an unparseable date is ignored.
    public var ifModifiedSince: Double?
    public var ifUnmodifiedSince: Double?

    public init(
        ifMatch: String? = nil, ifNoneMatch: String? = nil, ifModifiedSince: Double? = nil, ifUnmodifiedSince: Double? = nil
    ) {
        self.ifMatch = ifMatch
        self.ifNoneMatch = ifNoneMatch
        self.ifModifiedSince = ifModifiedSince
        self.ifUnmodifiedSince = ifUnmodifiedSince
    }

    public enum Outcome: Sendable, Equatable {
        case proceed
        /// 304 for a GET or HEAD.
        case notModified
        /// 412.
        case failed
    }

    /// The outcome for a resource with `etag` (hex, unquoted) last modified at `modified`
    /// (HTTP dates have whole seconds, so it is compared rounded up, as Swift does).
    public func evaluate(etag: String, modified: Double, isRead: Bool) -> Outcome {
        let seconds = modified.rounded(.up)
        if let ifMatch {
            if !Self.matches(ifMatch, etag) { return .failed }
        } else if let ifUnmodifiedSince, seconds > ifUnmodifiedSince {
            return .failed
        }
        if let ifNoneMatch {
            if Self.matches(ifNoneMatch, etag) { return isRead ? .notModified : .failed }
        } else if isRead, let ifModifiedSince, seconds <= ifModifiedSince {
            return .notModified
        }
        return .proceed
    }

    /// Whether a list of entity tags (`"a", "b"`, or `*`) names `etag`.
    static func matches(_ list: String, _ etag: String) -> Bool {
        list.split(separator: ",").contains { raw in
            var tag = raw.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag = String(tag.dropFirst(2)) }
            return tag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) == etag
        }
    }
}
