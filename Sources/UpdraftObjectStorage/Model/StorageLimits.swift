/// Swift's default constraints, enforced on every write and published in `/info`
/// (`swift.*` capabilities), so clients and tempest size their requests by them.
public struct StorageLimits: Sendable {
    /// The largest single object (5 GiB + 2 bytes, Swift's `max_file_size`); bigger data is
    /// uploaded in segments under a large-object manifest.
    public var maxFileSize: Int64 = 5_368_709_122
    public var maxObjectNameLength = 1024
    public var maxContainerNameLength = 256
    public var maxAccountNameLength = 256
    public var maxMetaNameLength = 128
    public var maxMetaValueLength = 256
    public var maxMetaCount = 90
    /// Names and values of one resource's custom metadata together.
    public var maxMetaOverallSize = 4096
    public var maxHeaderSize = 8192
    public var containerListingLimit = 10_000
    public var accountListingLimit = 10_000
    /// The most segments one static large object manifest may list.
    public var maxManifestSegments = 1000
    /// The largest manifest body accepted (`?multipart-manifest=put`).
    public var maxManifestSize = 8 * 1024 * 1024
    /// The smallest segment of a static large object, other than the last.
    public var minSegmentSize = 1
    /// How many names one bulk delete may carry.
    public var maxDeletesPerRequest = 10_000

    public init() {}
}
