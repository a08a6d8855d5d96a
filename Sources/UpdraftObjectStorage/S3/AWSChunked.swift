import Crypto
import Foundation
import NIOCore
import UpdraftCore

/// The body of an `aws-chunked` upload, decoded as it streams: `<hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n`
/// per chunk, a zero-size chunk, then optional trailers. With a signing key each chunk's
/// signature is checked against the chain that starts at the request's own signature; a bad
/// one fails the stream before it ends, so nothing is stored.
public struct AWSChunkedBody<Base: AsyncSequence>: AsyncSequence where Base.Element == ByteBuffer {
    public typealias Element = ByteBuffer

    /// What chunk signatures are checked with.
    public struct Signing: Sendable {
        public var claim: SignatureV4.Claim
        /// The signing key's bytes (``SignatureV4/signingKey(secret:claim:)``).
        public var key: Data
        /// The request's signature: the first chunk's "previous".
        public var seed: String

        public init(claim: SignatureV4.Claim, key: SymmetricKey, seed: String) {
            self.claim = claim
            self.key = key.withUnsafeBytes { Data($0) }
            self.seed = seed
        }
    }

    let base: Base
    let signing: Signing?

    public init(_ base: Base, signing: Signing?) {
        self.base = base
        self.signing = signing
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), signing: signing, previous: signing?.seed ?? "")
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        enum State { case header, data, dataEnd, trailer, finished }

        var base: Base.AsyncIterator
        let signing: Signing?
        var previous: String
        var buffer = ByteBuffer()
        var state = State.header
        var remaining = 0
        var signature: String?
        var hash = SHA256()

        init(base: Base.AsyncIterator, signing: Signing?, previous: String) {
            self.base = base
            self.signing = signing
            self.previous = previous
        }

        static func malformed(_ what: String) -> UpdraftError {
            UpdraftError(.badRequest, "The aws-chunked body is malformed: \(what).", kind: "IncompleteBody")
        }

        /// Reads more of the body; false at its end.
        mutating func fill() async throws -> Bool {
            guard var more = try await base.next() else { return false }
            buffer.discardReadBytes()
            buffer.writeBuffer(&more)
            return true
        }

        /// One line without its CRLF, when the buffer holds a whole one.
        mutating func line() -> String? {
            let view = buffer.readableBytesView
            guard let index = view.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            let length = index - view.startIndex + 1
            guard var text = buffer.readString(length: length) else { return nil }
            text.removeLast()
            if text.hasSuffix("\r") { text.removeLast() }
            return text
        }

        mutating func verify(_ chunkHash: String) throws {
            guard let signing else { return }
            let expected = SignatureV4.chunkSignature(
                previous: previous, chunkHash: chunkHash, claim: signing.claim, key: SymmetricKey(data: signing.key))
            guard signature?.lowercased() == expected else {
                throw UpdraftError(
                    .forbidden, "The chunk signature we calculated does not match the signature you provided.",
                    kind: "SignatureDoesNotMatch")
            }
            previous = expected
        }

        public mutating func next() async throws -> ByteBuffer? {
            while true {
                switch state {
                case .finished:
                    return nil
                case .header:
                    guard let header = line() else {
                        if buffer.readableBytes > 4096 { throw Self.malformed("a chunk header is too long") }
                        guard try await fill() else { throw Self.malformed("it ends inside a chunk header") }
                        continue
                    }
                    let fields = header.split(separator: ";", maxSplits: 1)
                    guard let first = fields.first, let size = Int(first.trimmingCharacters(in: .whitespaces), radix: 16),
                        size >= 0
                    else { throw Self.malformed("bad chunk size \(header)") }
                    signature = fields.count > 1 ? fields[1].split(separator: "=", maxSplits: 1).last.map(String.init) : nil
                    hash = SHA256()
                    if size == 0 {
                        try verify(hash.finalize().hexString)
                        state = .trailer
                    } else {
                        remaining = size
                        state = .data
                    }
                case .data:
                    if buffer.readableBytes == 0 {
                        guard try await fill() else { throw Self.malformed("it ends inside a chunk") }
                    }
                    let count = Swift.min(remaining, buffer.readableBytes)
                    guard let slice = buffer.readSlice(length: count) else { continue }
                    slice.withUnsafeReadableBytes { hash.update(bufferPointer: $0) }
                    remaining -= count
                    if remaining == 0 { state = .dataEnd }
                    return slice
                case .dataEnd:
                    guard let end = line() else {
                        guard try await fill() else { throw Self.malformed("a chunk does not end with CRLF") }
                        continue
                    }
                    guard end.isEmpty else { throw Self.malformed("a chunk is longer than its size") }
                    try verify(hash.finalize().hexString)
                    state = .header
                case .trailer:
                    // Trailers (`x-amz-checksum-crc32:...`) end with an empty line or the body.
                    if let trailer = line() {
                        if trailer.isEmpty { state = .finished }
                        continue
                    }
                    guard try await fill() else {
                        state = .finished
                        continue
                    }
                }
            }
        }
    }
}

/// A body passed through as it streams, failing at its end when its SHA-256 is not the one
/// the request's signature covered (`x-amz-content-sha256`).
public struct SHA256CheckedBody<Base: AsyncSequence>: AsyncSequence where Base.Element == ByteBuffer {
    public typealias Element = ByteBuffer
    let base: Base
    let expected: String

    public init(_ base: Base, expected: String) {
        self.base = base
        self.expected = expected.lowercased()
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), expected: expected)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let expected: String
        var hash = SHA256()

        public mutating func next() async throws -> ByteBuffer? {
            guard let buffer = try await base.next() else {
                guard hash.finalize().hexString == expected else {
                    throw UpdraftError(
                        .badRequest, "The provided 'x-amz-content-sha256' header does not match what was computed.",
                        kind: "XAmzContentSHA256Mismatch")
                }
                return nil
            }
            buffer.withUnsafeReadableBytes { hash.update(bufferPointer: $0) }
            return buffer
        }
    }
}
