import NIOCore
import UpdraftCore

/// Where object bytes live, behind the object storage service. A blob is immutable once
/// written and named by an id the service chooses; names of objects never reach it.
///
/// A write is staged, then the service commits the object's record, then the blob is
/// published: a crash before the commit leaves a staged blob ``recover(committed:)``
/// removes, a crash after it one that recovery publishes. `LocalBlobStore` keeps blobs as
/// files under one directory; a Ceph RADOS backend would map a blob to a RADOS object
/// (staging as a write to a temporary object name, publishing as a rename), see ARCHITECTURE.md.
public protocol BlobStore: Sendable {
    /// Streams `bytes` into a new staged blob in constant memory, hashing MD5 on the way;
    /// 413 past `limit` bytes. The staged blob is durable when this returns.
    func stage<Bytes: AsyncSequence>(_ bytes: Bytes, limit: Int64) async throws(UpdraftError) -> StagedBlob
    where Bytes.Element == ByteBuffer
    /// Makes a staged blob readable under its id, once its record is committed.
    func publish(_ blob: StagedBlob) async throws(UpdraftError)
    /// Removes a staged blob whose record was never committed.
    func discard(_ blob: StagedBlob) async
    /// Opens a published blob for reading; it stays readable while open, even if removed.
    func open(_ id: String) async throws(UpdraftError) -> any BlobReader
    /// Removes a published blob; a missing one is not an error.
    func remove(_ id: String) async
    /// Finishes what a crash interrupted: each staged blob is published when `committed`
    /// says its record exists, and removed otherwise. Call once at start.
    func recover(committed: @Sendable (String) async throws -> Bool) async throws
}

/// A blob written and flushed, not yet published.
public struct StagedBlob: Sendable {
    public var id: String
    public var size: Int64
    /// Hex MD5 of the bytes.
    public var md5: String
}

/// An open blob.
public protocol BlobReader: Sendable {
    var size: Int64 { get }
    /// Up to `count` bytes from `offset`; fewer only at the end.
    func read(at offset: Int64, count: Int) async throws(UpdraftError) -> ByteBuffer
}

extension BlobReader {
    /// The bytes of `range` (the whole blob when nil), in chunks of at most 4 MiB.
    public func chunks(_ range: ClosedRange<Int64>? = nil) -> BlobChunks {
        BlobChunks(reader: self, range: range ?? ObjectBody.Part.whole(size))
    }
}

/// A blob's bytes as an async sequence of buffers, for a response body or a copy.
public struct BlobChunks: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    /// Bytes per read.
    static let chunkSize = 4 << 20
    let reader: any BlobReader
    /// Nil for no bytes.
    let range: ClosedRange<Int64>?

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: any BlobReader
        var next: Int64
        let end: Int64
        /// The read of the chunk after the one returned, started while that one is sent, so
        /// the disk and the network work at once. If the download stops early, the read
        /// finishes on its own and its bytes are dropped.
        var ahead: Task<ByteBuffer, any Error>?

        /// The chunk of `reader` that starts at `offset`.
        static func chunk(_ reader: any BlobReader, at offset: Int64, end: Int64) async throws -> ByteBuffer {
            try await reader.read(at: offset, count: Int(Swift.min(Int64(BlobChunks.chunkSize), end - offset + 1)))
        }

        public mutating func next() async throws -> ByteBuffer? {
            guard next <= end else { return nil }
            let buffer: ByteBuffer
            if let ahead {
                buffer = try await ahead.value
                self.ahead = nil
            } else {
                buffer = try await Self.chunk(reader, at: next, end: end)
            }
            guard buffer.readableBytes > 0 else {
                throw UpdraftError.internal("object data ended early at byte \(next) of \(end + 1)")
            }
            next += Int64(buffer.readableBytes)
            if next <= end {
                let (reader, offset, end) = (reader, next, end)
                ahead = Task { try await Self.chunk(reader, at: offset, end: end) }
            }
            return buffer
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: reader, next: range?.lowerBound ?? 0, end: range?.upperBound ?? -1)
    }
}

/// One buffer as an async sequence: a small body written through ``BlobStore/stage(_:limit:)``.
public struct BufferSequence: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    let buffer: ByteBuffer

    public init(_ buffer: ByteBuffer) { self.buffer = buffer }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var buffer: ByteBuffer?
        public mutating func next() async -> ByteBuffer? {
            defer { buffer = nil }
            return buffer
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
}
