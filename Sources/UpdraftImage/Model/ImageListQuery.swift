import Foundation
import UpdraftCore

/// The filters, order and page of `GET /v2/images`, read from its query string.
public struct ImageListQuery: Sendable, Equatable {
    public enum VisibilityFilter: Sendable, Equatable {
        case only(Image.Visibility)
        case all
    }

    public enum MemberStatusFilter: Sendable, Equatable {
        case status(ImageMember.Status)
        case all
    }

    public enum Direction: String, Sendable {
        case asc, desc
    }

    /// Attributes a list may be sorted by, as Glance allows.
    public static let sortKeys: Set<String> = [
        "name", "status", "container_format", "disk_format", "size", "virtual_size", "id", "created_at", "updated_at",
        "visibility", "owner", "min_disk", "min_ram", "protected", "os_hidden",
    ]

    /// The largest page; Glance's `api_limit_max`.
    public static let maxLimit = 1000

    public var visibility: VisibilityFilter?
    public var memberStatus: MemberStatusFilter = .status(.accepted)
    /// Equality filters on core attributes (`name`, `status`, `owner`, ...); each allows several values (`in:`).
    public var attributes: [String: Set<String>] = [:]
    public var tags: [String] = []
    public var protected: Bool?
    /// Hidden images are left out unless `os_hidden=true` is asked for.
    public var hidden = false
    public var sizeMin: Int64?
    public var sizeMax: Int64?
    /// Any other parameter filters on a property of that name.
    public var properties: [String: String] = [:]
    public var sort: [(key: String, direction: Direction)] = []
    public var limit: Int = 25
    public var marker: String?

    /// True when the client chose an order; otherwise featured images come first.
    public var sortRequested: Bool { !sort.isEmpty }

    public init() {}

    public static func == (a: ImageListQuery, b: ImageListQuery) -> Bool {
        a.visibility == b.visibility && a.memberStatus == b.memberStatus && a.attributes == b.attributes
            && a.tags == b.tags && a.protected == b.protected && a.hidden == b.hidden && a.sizeMin == b.sizeMin
            && a.sizeMax == b.sizeMax && a.properties == b.properties && a.limit == b.limit && a.marker == b.marker
            && a.sort.map(\.key) == b.sort.map(\.key) && a.sort.map(\.direction) == b.sort.map(\.direction)
    }

    /// Reads the query string's pairs (repeated keys kept, as `tag` and `sort_key` repeat).
    public init(parameters: [(String, String)]) throws(UpdraftError) {
        var sortKeys: [String] = []
        var sortDirs: [Direction] = []
        for (key, value) in parameters {
            switch key {
            case "limit":
                guard let limit = Int(value), limit >= 0 else { throw .badRequest("limit param must be an integer") }
                self.limit = min(limit, Self.maxLimit)
            case "marker":
                marker = value
            case "visibility":
                if value == "all" {
                    visibility = .all
                } else if let wanted = Image.Visibility(rawValue: value) {
                    visibility = .only(wanted)
                } else {
                    throw .badRequest("Invalid visibility value: \(value)")
                }
            case "member_status":
                if value == "all" {
                    memberStatus = .all
                } else if let wanted = ImageMember.Status(rawValue: value) {
                    memberStatus = .status(wanted)
                } else {
                    throw .badRequest("Invalid status value: \(value)")
                }
            case "tag":
                tags.append(value)
            case "protected":
                protected = try Self.flag(key, value)
            case "os_hidden":
                hidden = try Self.flag(key, value)
            case "size_min", "size_max":
                guard let size = Int64(value), size >= 0 else { throw .badRequest("\(key) must be a non-negative integer.") }
                if key == "size_min" { sizeMin = size } else { sizeMax = size }
            case "sort_key":
                sortKeys.append(value)
            case "sort_dir":
                guard let direction = Direction(rawValue: value) else {
                    throw .badRequest("Invalid sort direction: \(value)")
                }
                sortDirs.append(direction)
            case "sort":
                guard sortKeys.isEmpty, sortDirs.isEmpty else {
                    throw .badRequest("The 'sort' parameter cannot be combined with 'sort_key' or 'sort_dir'.")
                }
                for part in value.split(separator: ",") {
                    let pieces = part.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    let direction: Direction
                    if pieces.count == 2 {
                        guard let parsed = Direction(rawValue: pieces[1]) else {
                            throw .badRequest("Invalid sort direction: \(pieces[1])")
                        }
                        direction = parsed
                    } else {
                        direction = .desc
                    }
                    sort.append((try Self.sortKey(pieces[0]), direction))
                }
            case "id", "name", "status", "owner", "disk_format", "container_format", "size", "min_ram", "min_disk":
                attributes[key] = try Self.values(value, attribute: key)
            default:
                properties[key] = value
            }
        }
        if !sortKeys.isEmpty || !sortDirs.isEmpty {
            guard sortDirs.count <= 1 || sortDirs.count == sortKeys.count else {
                throw .badRequest("Number of sort dirs does not match the number of sort keys")
            }
            let keys = sortKeys.isEmpty ? ["created_at"] : sortKeys
            for (index, key) in keys.enumerated() {
                let direction = sortDirs.isEmpty ? .desc : sortDirs[sortDirs.count == 1 ? 0 : index]
                sort.append((try Self.sortKey(key), direction))
            }
        }
        if let status = attributes["status"] {
            for value in status where Image.Status(rawValue: value) == nil {
                throw .badRequest("Invalid status value: \(value)")
            }
        }
    }

    static func sortKey(_ key: String) throws(UpdraftError) -> String {
        guard sortKeys.contains(key) else { throw .badRequest("Invalid sort key: \(key). It is not allowed.") }
        return key
    }

    static func flag(_ key: String, _ value: String) throws(UpdraftError) -> Bool {
        switch value.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .badRequest("Invalid value '\(value)' for \(key): expected true or false.")
        }
    }

    /// `x` or `in:x,y,"z,w"`.
    static func values(_ value: String, attribute: String) throws(UpdraftError) -> Set<String> {
        guard value.hasPrefix("in:") else {
            if value.contains(":"), let op = value.split(separator: ":").first,
                ["eq", "neq", "gt", "gte", "lt", "lte"].contains(String(op))
            {
                guard op == "eq" else { throw .badRequest("Unsupported filter operator \(op) on \(attribute).") }
                return [String(value.dropFirst(3))]
            }
            return [value]
        }
        var values: Set<String> = []
        var current = ""
        var quoted = false
        for character in value.dropFirst(3) {
            if character == "\"" {
                quoted.toggle()
            } else if character == ",", !quoted {
                values.insert(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        values.insert(current)
        return values
    }

    /// Whether `image` passes every filter except visibility, which ``ImageAccess`` decides.
    public func matches(_ image: Image) -> Bool {
        for (attribute, wanted) in attributes {
            let actual: String? =
                switch attribute {
                case "id": image.id
                case "name": image.name
                case "status": image.status.rawValue
                case "owner": image.owner
                case "disk_format": image.diskFormat
                case "container_format": image.containerFormat
                case "size": image.size.map { String($0) }
                case "min_ram": String(image.minRAM)
                case "min_disk": String(image.minDisk)
                default: nil
                }
            guard let actual, wanted.contains(actual) else { return false }
        }
        if let protected, image.protected != protected { return false }
        if image.hidden != hidden { return false }
        if let sizeMin, (image.size ?? -1) < sizeMin { return false }
        if let sizeMax, (image.size ?? Int64.max) > sizeMax { return false }
        for tag in tags where !image.tags.contains(tag) { return false }
        for (key, value) in properties where image.properties[key] != value { return false }
        return true
    }
}
