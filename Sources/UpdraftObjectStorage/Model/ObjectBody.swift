import NIOCore
import UpdraftCore

/// The bytes a GET of an object returns: one blob, or a large object's segments in order,
/// each a range of its blob. Sliced for `Range` requests without reading anything.
public struct ObjectBody: Sendable {
    public struct Part: Sendable {
        /// The blob, opened when its bytes are first needed (a manifest may list a thousand).
        public var blob: String
        /// An already opened reader for the blob (the plain object case).
        public var reader: (any BlobReader)?
        /// The bytes of the blob this part covers.
        public var range: ClosedRange<Int64>

        public var count: Int64 { range.upperBound - range.lowerBound + 1 }

        /// The range of every byte of a blob of `size` bytes; nil when it has none.
        public static func whole(_ size: Int64) -> ClosedRange<Int64>? {
            size > 0 ? 0...(size - 1) : nil
        }

        /// The part covering all of a blob, none for an empty one.
        public static func all(_ blob: String, size: Int64, reader: (any BlobReader)? = nil) -> [Part] {
            whole(size).map { [Part(blob: blob, reader: reader, range: $0)] } ?? []
        }
    }

    public var parts: [Part]
    /// A large object's ETag, computed from its segments (hex, unquoted).
    public var etag: String?
    let blobs: any BlobStore

    public init(parts: [Part], etag: String? = nil, blobs: any BlobStore) {
        self.parts = parts.filter { $0.count > 0 }
        self.etag = etag
        self.blobs = blobs
    }

    public var size: Int64 { parts.reduce(0) { $0 + $1.count } }

    /// The body's bytes `range` (offsets in the whole body).
    public func slice(_ range: ClosedRange<Int64>) -> ObjectBody {
        var result: [Part] = []
        var offset: Int64 = 0
        for part in parts {
            let start = offset
            let end = offset + part.count - 1
            offset += part.count
            guard end >= range.lowerBound, start <= range.upperBound else { continue }
            var piece = part
            let first = part.range.lowerBound + max(0, range.lowerBound - start)
            let last = part.range.upperBound - max(0, end - range.upperBound)
            piece.range = first...last
            result.append(piece)
        }
        return ObjectBody(parts: result, etag: etag, blobs: blobs)
    }

    /// The bytes as buffers of at most 1 MiB.
    public var chunks: Chunks { Chunks(body: self) }

    public struct Chunks: AsyncSequence, Sendable {
        public typealias Element = ByteBuffer
        let body: ObjectBody

        public struct AsyncIterator: AsyncIteratorProtocol {
            let body: ObjectBody
            var index = 0
            var current: BlobChunks.AsyncIterator?

            public mutating func next() async throws -> ByteBuffer? {
                while true {
                    if var iterator = current {
                        if let buffer = try await iterator.next() {
                            current = iterator
                            return buffer
                        }
                        current = nil
                        index += 1
                    }
                    guard index < body.parts.count else { return nil }
                    let part = body.parts[index]
                    let reader: any BlobReader
                    if let open = part.reader {
                        reader = open
                    } else {
                        reader = try await body.blobs.open(part.blob)
                    }
                    guard reader.size > part.range.upperBound else {
                        throw UpdraftError.internal("a segment's data is shorter than its record says")
                    }
                    current = reader.chunks(part.range).makeAsyncIterator()
                }
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: body) }
    }
}
