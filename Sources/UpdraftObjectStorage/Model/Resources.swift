/// A project's account: `AUTH_<project_id>` in Swift's paths, the owner of S3 buckets.
public struct Account: Sendable {
    public var projectID: String
    public var containerCount: Int64
    public var objectCount: Int64
    public var bytesUsed: Int64
    /// Seconds since 1970 (Swift's `X-Timestamp`).
    public var createdAt: Double
    public var metadata: Metadata
}

/// A container (an S3 bucket).
public struct Container: Sendable {
    public var id: String
    public var projectID: String
    public var name: String
    public var objectCount: Int64
    public var bytesUsed: Int64
    public var createdAt: Double
    public var modifiedAt: Double
    public var metadata: Metadata
    /// `X-Container-Read` and `X-Container-Write` as set (shown only to the owner).
    public var readACL: String?
    public var writeACL: String?
    /// Where replaced or deleted objects go: `X-Versions-Location` (`stack`) or `X-History-Location` (`history`).
    public var versioning: Versioning?

    public struct Versioning: Sendable, Equatable {
        public enum Mode: String, Sendable { case stack, history }
        public var mode: Mode
        /// The container old versions are written to, in the same account.
        public var location: String

        public init(mode: Mode, location: String) {
            self.mode = mode
            self.location = location
        }
    }
}

/// What one object is: plain bytes, or a manifest whose body is the concatenation of segments.
public enum ObjectKind: String, Sendable {
    case plain
    /// Dynamic large object: every object under `container/prefix` (`X-Object-Manifest`), in name order.
    case dynamic
    /// Static large object: the segments its stored manifest lists (`X-Static-Large-Object`).
    case `static`
}

/// An object as stored: its record and, for bytes, the blob that holds them.
public struct StoredObject: Sendable {
    public var containerID: String
    public var name: String
    public var kind: ObjectKind
    /// The blob holding the bytes (for a static manifest, the manifest itself).
    public var blob: String?
    /// Bytes the blob holds.
    public var blobSize: Int64
    /// Bytes a GET returns: the blob's, or a static manifest's segments together.
    public var size: Int64
    /// Hex MD5 of the bytes (for a static manifest, MD5 of its segments' ETags).
    public var etag: String
    public var contentType: String
    /// Seconds since 1970 (Swift's `X-Timestamp`).
    public var modifiedAt: Double
    public var metadata: Metadata
    /// Headers stored and returned as sent: `content-disposition`, `content-encoding`.
    public var headers: [String: String]
    /// When the object expires (`X-Delete-At`).
    public var deleteAt: Double?
    /// A dynamic manifest's `container/prefix`.
    public var manifest: String?
}

/// One line of a listing: an object, or the common prefix a delimiter rolled names into.
public enum ListingEntry: Sendable {
    case object(name: String, size: Int64, etag: String, contentType: String, modifiedAt: Double)
    case container(name: String, objectCount: Int64, bytesUsed: Int64, modifiedAt: Double)
    case subdirectory(String)

    public var name: String {
        switch self {
        case .object(let name, _, _, _, _): name
        case .container(let name, _, _, _): name
        case .subdirectory(let name): name
        }
    }
}

/// The query of a container or account listing, as Swift reads it.
public struct ListingQuery: Sendable {
    public var prefix: String?
    public var delimiter: String?
    public var marker: String?
    public var endMarker: String?
    public var limit: Int?
    public var reverse = false
    /// List an object completed from S3 multipart parts with its S3 ETag (`<md5>-<parts>`),
    /// as an S3 listing shows it, rather than the MD5 of its bytes.
    public var s3ETags = false

    public init(
        prefix: String? = nil, delimiter: String? = nil, marker: String? = nil, endMarker: String? = nil, limit: Int? = nil,
        reverse: Bool = false
    ) {
        self.prefix = prefix
        self.delimiter = delimiter
        self.marker = marker
        self.endMarker = endMarker
        self.limit = limit
        self.reverse = reverse
    }
}
