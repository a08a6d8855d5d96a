import NIOCore
import UpdraftCore

#if canImport(Glibc)
    import Glibc
#endif

/// A `multipart/form-data` body read as it streams (Swift's FormPOST): each part's
/// disposition, then its bytes as an async sequence, in constant memory however large a
/// file part is. Used by one task at a time, part after part, as ``TarStream`` is.
public final class FormDataStream<Base: AsyncSequence>: BufferedStream<Base> where Base.Element == ByteBuffer {
    /// `\r\n--<boundary>`: what ends a part's bytes.
    let delimiter: [UInt8]
    /// Whether the current part's bytes have all been read.
    var partEnded = true
    /// Whether the closing delimiter has been read.
    var finished = false
    var started = false

    public init(_ base: Base, boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        super.init(base)
    }

    static func malformed(_ what: String) -> UpdraftError {
        UpdraftError(.badRequest, "FormPost: \(what)")
    }

    /// Where `needle` starts in the buffered bytes, if it is there: `memchr` to each
    /// candidate first byte, then `memcmp`.
    func find(_ needle: [UInt8]) -> Int? {
        buffer.withUnsafeReadableBytes { raw -> Int? in
            guard let base = raw.baseAddress, let first = needle.first, raw.count >= needle.count else { return nil }
            return needle.withUnsafeBytes { pattern -> Int? in
                var offset = 0
                let last = raw.count - needle.count
                while offset <= last {
                    guard let hit = memchr(base + offset, Int32(first), last - offset + 1) else { return nil }
                    let at = base.distance(to: UnsafeRawPointer(hit))
                    if let pattern = pattern.baseAddress, memcmp(base + at, pattern, needle.count) == 0 { return at }
                    offset = at + 1
                }
                return nil
            }
        }
    }

    /// The next part's disposition, after what is left of the previous one; nil after the
    /// closing delimiter.
    public func next() async throws -> FormData.Part? {
        if !started {
            started = true
            // The body opens with `--<boundary>` (a preamble before it is allowed).
            let opening = Array(delimiter.dropFirst(2))
            guard try await fill(opening.count) else { throw Self.malformed("invalid starting boundary") }
            if buffer.readableBytesView.starts(with: opening) {
                buffer.moveReaderIndex(forwardBy: opening.count)
            } else {
                partEnded = false
                try await skipPart()
            }
        } else {
            try await skipPart()
        }
        // After a delimiter: `--` closes the body, `\r\n` opens a part.
        guard try await fill(2) else { throw Self.malformed("the body ends inside a part") }
        let after = buffer.readBytes(length: 2) ?? []
        if after == Array("--".utf8) {
            finished = true
            return nil
        }
        guard after == Array("\r\n".utf8) else { throw Self.malformed("invalid boundary") }
        let headers = try await readHeaders()
        partEnded = false
        return FormData.part(headers)
    }

    /// Drops the current part's bytes up to and including the delimiter that ends it.
    func skipPart() async throws {
        while try await nextChunk() != nil {}
    }

    /// A part's header lines, up to the empty line (at most 16 KiB of them).
    func readHeaders() async throws -> [(name: String, value: String)] {
        let end = Array("\r\n\r\n".utf8)
        var lines: [(String, String)] = []
        // A part with no headers starts with the empty line at once.
        guard try await fill(2) else { throw Self.malformed("the body ends inside a part's headers") }
        if buffer.readableBytesView.starts(with: Array("\r\n".utf8)) {
            buffer.moveReaderIndex(forwardBy: 2)
            return []
        }
        while find(end) == nil {
            guard buffer.readableBytes < 16 << 10, try await fill(buffer.readableBytes + 1) else {
                throw Self.malformed("invalid part headers")
            }
        }
        let length = find(end) ?? 0
        let text = buffer.readString(length: length) ?? ""
        buffer.moveReaderIndex(forwardBy: end.count)
        for line in text.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            lines.append((name, line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return lines
    }

    /// The current part's bytes; at most `limit` of them kept as text (a form field's value).
    public func text(limit: Int) async throws -> String {
        var kept = ByteBuffer()
        for try await chunk in body() {
            kept.writeBytes(chunk.readableBytesView.prefix(max(0, limit - kept.readableBytes)))
        }
        return String(buffer: kept)
    }

    /// The bytes of the part ``next()`` returned; past `limit` of them, reading throws
    /// `FormPost: max_file_size exceeded` (400).
    public func body(limit: Int64 = .max) -> Body { Body(stream: self, limit: limit) }

    public struct Body: AsyncSequence {
        public typealias Element = ByteBuffer
        let stream: FormDataStream
        let limit: Int64

        public struct AsyncIterator: AsyncIteratorProtocol {
            let stream: FormDataStream
            var left: Int64

            public mutating func next() async throws -> ByteBuffer? {
                guard let chunk = try await stream.nextChunk() else { return nil }
                left -= Int64(chunk.readableBytes)
                guard left >= 0 else { throw FormDataStream.malformed("max_file_size exceeded") }
                return chunk
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: stream, left: limit) }
    }

    /// The current part's next bytes; nil once the delimiter that ends it is read.
    func nextChunk() async throws -> ByteBuffer? {
        guard !partEnded, !finished else { return nil }
        while true {
            if let at = find(delimiter) {
                if at == 0 {
                    buffer.moveReaderIndex(forwardBy: delimiter.count)
                    partEnded = true
                    return nil
                }
                return buffer.readSlice(length: at)
            }
            // Everything but a tail that may start the delimiter is the part's.
            let safe = buffer.readableBytes - (delimiter.count - 1)
            if safe > 0 { return buffer.readSlice(length: safe) }
            guard try await fill(buffer.readableBytes + 1) else { throw Self.malformed("the body ends inside a part") }
        }
    }
}

/// What `multipart/form-data` parts and header parameters say.
public enum FormData {
    /// What a part's headers say.
    public struct Part: Sendable, Equatable {
        /// The form field's name, lower-cased as Swift keys its attributes.
        public var name: String
        /// Set for a file part (empty when the browser sent `filename=""`).
        public var filename: String?
        public var contentType: String?
        public var contentEncoding: String?
    }

    /// The part a header block describes: `Content-Disposition: form-data; name="x"; filename="y"`.
    static func part(_ headers: [(name: String, value: String)]) -> Part {
        var part = Part(name: "")
        for (name, value) in headers {
            switch name {
            case "content-disposition":
                let parameters = parameters(value)
                part.name = parameters["name"]?.lowercased() ?? ""
                part.filename = parameters["filename"]
            case "content-type": part.contentType = value
            case "content-encoding": part.contentEncoding = value
            default: break
            }
        }
        return part
    }

    /// `key=value` and `key="quoted value"` parameters after a header's first `;`.
    public static func parameters(_ value: String) -> [String: String] {
        var result: [String: String] = [:]
        var rest = Substring(value)
        guard let first = rest.firstIndex(of: ";") else { return result }
        rest = rest[rest.index(after: first)...]
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == ";" }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let key = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...]
            var parsed = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let character = rest.first, character != "\"" {
                    rest = rest.dropFirst()
                    if character == "\\", let escaped = rest.first {
                        parsed.append(escaped)
                        rest = rest.dropFirst()
                    } else {
                        parsed.append(character)
                    }
                }
                rest = rest.dropFirst()
                rest = rest.drop { $0 != ";" }
            } else {
                let end = rest.firstIndex(of: ";") ?? rest.endIndex
                parsed = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            result[key] = parsed
        }
        return result
    }
}
