import Foundation
import UpdraftCore

/// A Glance v2 image: its core attributes plus free-form string properties, written flat
/// in one JSON object as the api-ref shows.
public struct Image: Encodable, Sendable, Equatable {
    /// Glance's image lifecycle. Updraft moves images through queued → saving → active,
    /// active ⇄ deactivated, and to killed when a snapshot fails.
    public enum Status: String, Sendable, Codable, CaseIterable {
        case queued, saving, active, killed, deleted, deactivated, uploading, importing
    }

    /// Who may see the image besides its owner.
    public enum Visibility: String, Sendable, Codable, CaseIterable {
        case `public`, `private`, shared, community
    }

    public var id: String
    public var name: String?
    public var status: Status
    public var visibility: Visibility
    public var protected: Bool
    public var hidden: Bool
    /// Hex MD5 of the bytes, Glance's legacy `checksum`.
    public var checksum: String?
    public var hashAlgorithm: String?
    public var hashValue: String?
    /// The owning project.
    public var owner: String?
    public var size: Int64?
    public var virtualSize: Int64?
    public var minRAM: Int
    public var minDisk: Int
    public var diskFormat: String?
    public var containerFormat: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var tags: [String]
    /// Extra properties (`kernel_id`, `hw_*`, `description`, ...), written flat beside the core attributes.
    public var properties: [String: String]

    /// The attributes Glance defines itself; every other key of an image is a property.
    public static let coreAttributes: Set<String> = [
        "id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo", "os_hash_value",
        "owner", "size", "virtual_size", "min_ram", "min_disk", "disk_format", "container_format", "created_at",
        "updated_at", "tags", "self", "file", "schema", "direct_url", "locations",
    ]

    /// Core attributes no client may set or change.
    public static let readOnlyAttributes: Set<String> = [
        "id", "status", "checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size", "created_at",
        "updated_at", "self", "file", "schema", "direct_url", "location", "deleted", "deleted_at",
    ]

    /// The disk formats Updraft accepts, as Glance's `disk_formats` option lists them.
    public static let diskFormats: [String] = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"]
    /// The container formats Updraft accepts.
    public static let containerFormats: [String] = ["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]

    /// The property an administrator sets to `true` to feature an image in the image library:
    /// featured images are listed first when a client asks for no particular order.
    public static let featuredProperty = "updraft_featured"

    public var isFeatured: Bool { properties[Self.featuredProperty] == "true" }

    public init(
        id: String, name: String?, status: Status, visibility: Visibility, protected: Bool = false, hidden: Bool = false,
        owner: String?, minRAM: Int = 0, minDisk: Int = 0, diskFormat: String?, containerFormat: String?,
        createdAt: Date, tags: [String] = [], properties: [String: String] = [:]
    ) {
        self.id = id
        self.name = name
        self.status = status
        self.visibility = visibility
        self.protected = protected
        self.hidden = hidden
        self.owner = owner
        self.minRAM = minRAM
        self.minDisk = minDisk
        self.diskFormat = diskFormat
        self.containerFormat = containerFormat
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.tags = tags
        self.properties = properties
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: ImageKey.self)
        for (key, value) in properties where !Self.coreAttributes.contains(key) {
            try c.encode(value, forKey: ImageKey(key))
        }
        try c.encode(id, forKey: "id")
        try c.encodeNullable(name, forKey: "name")
        try c.encode(status.rawValue, forKey: "status")
        try c.encode(visibility.rawValue, forKey: "visibility")
        try c.encode(protected, forKey: "protected")
        try c.encode(hidden, forKey: "os_hidden")
        try c.encodeNullable(checksum, forKey: "checksum")
        try c.encodeNullable(hashAlgorithm, forKey: "os_hash_algo")
        try c.encodeNullable(hashValue, forKey: "os_hash_value")
        try c.encodeNullable(owner, forKey: "owner")
        try c.encodeNullable(size, forKey: "size")
        try c.encodeNullable(virtualSize, forKey: "virtual_size")
        try c.encode(minRAM, forKey: "min_ram")
        try c.encode(minDisk, forKey: "min_disk")
        try c.encodeNullable(diskFormat, forKey: "disk_format")
        try c.encodeNullable(containerFormat, forKey: "container_format")
        try c.encode(Timestamp.iso8601(createdAt), forKey: "created_at")
        try c.encode(Timestamp.iso8601(updatedAt), forKey: "updated_at")
        try c.encode(tags, forKey: "tags")
        try c.encode("/v2/images/\(id)", forKey: "self")
        try c.encode("/v2/images/\(id)/file", forKey: "file")
        try c.encode("/v2/schemas/image", forKey: "schema")
    }
}

/// A JSON key chosen at run time (image properties are free-form).
struct ImageKey: CodingKey, ExpressibleByStringLiteral {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
    init(_ s: String) { stringValue = s }
    init(stringLiteral value: String) { stringValue = value }
}

extension KeyedEncodingContainer where K == ImageKey {
    /// Glance writes `null` for an unset core attribute rather than leaving it out.
    mutating func encodeNullable<T: Encodable>(_ value: T?, forKey key: ImageKey) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
}
