import Foundation
import NIOCore
import Testing
import UpdraftCore

@testable import UpdraftObjectStorage

/// `multipart/form-data` bodies as browsers and tempest write them, read through
/// `FormDataStream` in pieces of every size a network may deliver.
@Suite("Form data stream")
struct FormDataStreamTests {
    /// A form with fields, a file whose bytes hold near-miss boundaries, and an empty file.
    static let body =
        "preamble\r\n"
        + "----boundary--\r\nContent-Disposition: form-data; name=\"Expires\"\r\n\r\n600\r\n"
        + "----boundary--\r\nContent-Disposition: form-data; name=\"redirect\"\r\n\r\n\r\n"
        + "----boundary--\r\nContent-Disposition: form-data; name=\"file1\"; filename=\"a \\\"q\\\".txt\"\r\n"
        + "Content-Type: text/plain\r\n\r\nline\r\n--bound\r\n----boundary-x\r\n----boundary\r\n"
        + "----boundary--\r\nContent-Disposition: form-data; name=\"file2\"; filename=\"\"\r\n\r\n\r\n"
        + "----boundary----\r\n"

    @Test("fields, files and their bytes, whatever the piece size", arguments: [1, 2, 7, 16, 17, 64, 4096])
    func parts(_ size: Int) async throws {
        let stream = FormDataStream(Pieces(body: ByteBuffer(string: Self.body), size: size), boundary: "--boundary--")
        var found: [(FormData.Part, String)] = []
        while let part = try await stream.next() {
            var bytes = ByteBuffer()
            for try await var chunk in stream.body() { bytes.writeBuffer(&chunk) }
            found.append((part, String(buffer: bytes)))
        }
        #expect(found.map(\.0.name) == ["expires", "redirect", "file1", "file2"])
        #expect(found.map(\.1) == ["600", "", "line\r\n--bound\r\n----boundary-x\r\n----boundary", ""])
        #expect(found[2].0.filename == "a \"q\".txt")
        #expect(found[2].0.contentType == "text/plain")
        #expect(found[3].0.filename == "")
        #expect(found[0].0.filename == nil)
    }

    @Test("a part past its limit, and a body cut inside a part, are 400s")
    func refusals() async throws {
        let stream = FormDataStream(Pieces(body: ByteBuffer(string: Self.body), size: 5), boundary: "--boundary--")
        _ = try await stream.next()
        _ = try await stream.next()
        _ = try await stream.next()
        await #expect(throws: UpdraftError.self) {
            for try await _ in stream.body(limit: 10) {}
        }
        let cut = FormDataStream(
            Pieces(body: ByteBuffer(string: String(Self.body.prefix(120))), size: 5), boundary: "--boundary--")
        await #expect(throws: UpdraftError.self) {
            while try await cut.next() != nil { for try await _ in cut.body() {} }
        }
    }

    @Test("header parameters: quoted, escaped, bare and case-insensitive names")
    func parameters() {
        #expect(
            FormData.parameters("multipart/form-data; boundary=abc; Name=\"x; y\"; k=\"a\\\\b\"")
                == ["boundary": "abc", "name": "x; y", "k": "a\\b"])
        #expect(FormData.parameters("multipart/form-data").isEmpty)
    }
}
