import NIOCore
import UpdraftCore

/// A tar archive read as it streams (`?extract-archive=tar`): each regular file's name and
/// size, then its bytes as an async sequence, in constant memory. POSIX ustar names
/// (prefix + name), pax `path` records and GNU long names are understood; other entries are
/// skipped. Used by one task at a time, entry after entry.
public final class TarStream<Base: AsyncSequence>: BufferedStream<Base> where Base.Element == ByteBuffer {
    /// Bytes of the current entry not yet read, and the padding after them.
    var remaining: Int64 = 0
    var padding: Int64 = 0

    static func malformed(_ what: String) -> UpdraftError {
        UpdraftError(.badRequest, "Invalid Tar File: \(what)")
    }

    /// Drops `count` bytes of the archive.
    func skip(_ count: Int64) async throws {
        var left = count
        while left > 0 {
            if buffer.readableBytes == 0 {
                guard try await fill(1) else { throw Self.malformed("it ends inside an entry") }
            }
            let step = Int(min(left, Int64(buffer.readableBytes)))
            buffer.moveReaderIndex(forwardBy: step)
            left -= Int64(step)
        }
    }

    /// The next regular file (its path and size), after what is left of the previous one;
    /// nil at the archive's end.
    public func next() async throws -> (name: String, size: Int64)? {
        try await skip(remaining + padding)
        (remaining, padding) = (0, 0)
        var longName: String?
        while true {
            guard try await fill(512), let header = buffer.readBytes(length: 512) else {
                return nil  // an archive cut after its last entry, as some writers leave it
            }
            if header.allSatisfy({ $0 == 0 }) { return nil }
            let size = Self.octal(header[124..<136])
            guard size >= 0 else { throw Self.malformed("bad size field") }
            let pad = (512 - size % 512) % 512
            let type = header[156]
            switch type {
            case UInt8(ascii: "x"), UInt8(ascii: "L"):
                guard size <= 1 << 20, try await fill(Int(size)), let data = buffer.readBytes(length: Int(size)) else {
                    throw Self.malformed("bad extended header")
                }
                try await skip(pad)
                let text = String(decoding: data, as: UTF8.self)
                if type == UInt8(ascii: "L") {
                    longName = String(text.prefix { $0 != "\0" })
                } else {
                    for record in text.split(separator: "\n") {
                        if let range = record.range(of: " path=") { longName = String(record[range.upperBound...]) }
                    }
                }
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
                let name = longName ?? Self.name(header)
                (remaining, padding) = (size, pad)
                return (name, size)
            default:
                longName = nil
                try await skip(size + pad)
            }
        }
    }

    /// The bytes of the entry ``next()`` returned.
    public var entry: Entry { Entry(stream: self) }

    public struct Entry: AsyncSequence {
        public typealias Element = ByteBuffer
        let stream: TarStream

        public struct AsyncIterator: AsyncIteratorProtocol {
            let stream: TarStream
            public mutating func next() async throws -> ByteBuffer? {
                guard stream.remaining > 0 else { return nil }
                if stream.buffer.readableBytes == 0 {
                    guard try await stream.fill(1) else { throw TarStream.malformed("it ends inside an entry") }
                }
                let count = Int(Swift.min(stream.remaining, Int64(stream.buffer.readableBytes)))
                guard let slice = stream.buffer.readSlice(length: count) else { return nil }
                stream.remaining -= Int64(count)
                return slice
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: stream) }
    }

    static func octal(_ field: ArraySlice<UInt8>) -> Int64 {
        var value: Int64 = 0
        for byte in field {
            if byte == 0 || byte == UInt8(ascii: " ") { if value > 0 { break } else { continue } }
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte) else { return -1 }
            value = value * 8 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// ustar's `prefix/name`.
    static func name(_ header: [UInt8]) -> String {
        func text(_ range: Range<Int>) -> String {
            String(decoding: header[range].prefix { $0 != 0 }, as: UTF8.self)
        }
        let name = text(0..<100)
        let prefix = header[257..<262] == [0x75, 0x73, 0x74, 0x61, 0x72] ? text(345..<500) : ""
        return prefix.isEmpty ? name : prefix + "/" + name
    }
}
