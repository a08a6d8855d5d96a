import NIOCore

/// Any stream of buffers under one type: a request body as it is, checked against its
/// SHA-256, or decoded from `aws-chunked`, for the one storage call that takes it.
struct ByteStream: AsyncSequence {
    typealias Element = ByteBuffer

    private let make: () -> AsyncIterator

    init<Source: AsyncSequence>(_ source: Source) where Source.Element == ByteBuffer {
        make = {
            var iterator = source.makeAsyncIterator()
            return AsyncIterator { try await iterator.next() }
        }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let pull: () async throws -> ByteBuffer?
        mutating func next() async throws -> ByteBuffer? { try await pull() }
    }

    func makeAsyncIterator() -> AsyncIterator { make() }
}
