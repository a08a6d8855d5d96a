import NIOCore

/// An async sequence of buffers read as a format's parser needs it: ``fill(_:)`` buffers
/// at least so many bytes. The base of the streaming readers of request bodies
/// (``TarStream``, ``FormDataStream``); used by one task at a time.
public class BufferedStream<Base: AsyncSequence> where Base.Element == ByteBuffer {
    var iterator: Base.AsyncIterator
    /// What has arrived and not been read.
    var buffer = ByteBuffer()

    public init(_ base: Base) {
        iterator = base.makeAsyncIterator()
    }

    /// Reads until `count` bytes are buffered; false when the body ends first.
    func fill(_ count: Int) async throws -> Bool {
        while buffer.readableBytes < count {
            guard var more = try await iterator.next() else { return false }
            buffer.discardReadBytes()
            buffer.writeBuffer(&more)
        }
        return true
    }
}
