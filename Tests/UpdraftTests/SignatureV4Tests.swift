import Crypto
import Foundation
import NIOCore
import Testing
import UpdraftCore

@testable import UpdraftObjectStorage

/// Signature V4 against the examples in AWS's S3 documentation ("Signature Calculations for the
/// Authorization Header" and "Transferring Payload in Multiple Chunks"), whose inputs and
/// signatures are published.
@Suite("Signature V4")
struct SignatureV4Tests {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    @Test("GET with a range: AWS's example signature")
    func getObject() throws {
        let claim = try #require(
            SignatureV4.claim(
                authorization:
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                    + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                    + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
                timestamp: "20130524T000000Z"))
        let request = SignatureV4.Request(
            method: "GET", path: "/test.txt", query: [],
            headers: [
                "host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9", "x-amz-content-sha256": Self.emptyHash,
                "x-amz-date": "20130524T000000Z",
            ], payloadHash: Self.emptyHash)
        #expect(SignatureV4.signature(request, claim: claim, secret: Self.secret) == claim.signature)
        var wrong = request
        wrong.headers["range"] = "bytes=0-10"
        #expect(SignatureV4.signature(wrong, claim: claim, secret: Self.secret) != claim.signature)
    }

    @Test("GET ?lifecycle with an empty query value: AWS's example signature")
    func getLifecycle() throws {
        let claim = try #require(
            SignatureV4.claim(
                authorization:
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                    + "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
                    + "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
                timestamp: "20130524T000000Z"))
        let request = SignatureV4.Request(
            method: "GET", path: "/", query: [("lifecycle", "")],
            headers: [
                "host": "examplebucket.s3.amazonaws.com", "x-amz-content-sha256": Self.emptyHash,
                "x-amz-date": "20130524T000000Z",
            ], payloadHash: Self.emptyHash)
        #expect(SignatureV4.signature(request, claim: claim, secret: Self.secret) == claim.signature)
    }

    @Test("a presigned GET URL: AWS's example signature")
    func presigned() throws {
        let query = [
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
            "X-Amz-Date": "20130524T000000Z", "X-Amz-Expires": "86400", "X-Amz-SignedHeaders": "host",
            "X-Amz-Signature": "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
        ]
        let claim = try #require(SignatureV4.claim(query: query))
        let request = SignatureV4.Request(
            method: "GET", path: "/test.txt", query: query.map { ($0.key, $0.value) },
            headers: ["host": "examplebucket.s3.amazonaws.com"], payloadHash: "UNSIGNED-PAYLOAD")
        #expect(SignatureV4.signature(request, claim: claim, secret: Self.secret) == claim.signature)
    }

    /// AWS's chunked upload example: 65 KiB of `a` in a 64 KiB chunk and a 1 KiB chunk.
    static func chunkedBody(corrupt: Bool = false) -> ByteBuffer {
        let first = String(repeating: "a", count: 65536)
        let second = String(repeating: "a", count: 1024)
        var text = "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"
        text += (corrupt ? "b" + first.dropFirst() : Substring(first)) + "\r\n"
        text += "400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" + second + "\r\n"
        text += "0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
        return ByteBuffer(string: text)
    }

    static func decode(_ body: ByteBuffer, split: Int) async throws -> Int {
        let claim = try #require(
            SignatureV4.claim(
                authorization:
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                    + "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
                    + "x-amz-decoded-content-length;x-amz-storage-class,"
                    + "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
                timestamp: "20130524T000000Z"))
        let signing = AWSChunkedBody<Pieces>.Signing(
            claim: claim, key: SignatureV4.signingKey(secret: Self.secret, claim: claim), seed: claim.signature)
        var total = 0
        for try await chunk in AWSChunkedBody(Pieces(body: body, size: split), signing: signing) {
            total += chunk.readableBytes
        }
        return total
    }

    @Test("aws-chunked: AWS's example chunk signatures verify, however the body is split; a changed byte fails")
    func chunked() async throws {
        for split in [1, 7, 4096, 100_000] {
            #expect(try await Self.decode(Self.chunkedBody(), split: split) == 66560)
        }
        await #expect(throws: UpdraftError.self) { _ = try await Self.decode(Self.chunkedBody(corrupt: true), split: 8192) }
    }

    @Test("a body whose SHA-256 is not the signed one fails at its end")
    func sha256Checked() async throws {
        let body = ByteBuffer(string: "hello")
        let good = SHA256.hash(data: Data("hello".utf8)).hexString
        var count = 0
        for try await chunk in SHA256CheckedBody(Pieces(body: body, size: 2), expected: good) { count += chunk.readableBytes }
        #expect(count == 5)
        await #expect(throws: UpdraftError.self) {
            for try await _ in SHA256CheckedBody(Pieces(body: body, size: 2), expected: Self.emptyHash) {}
        }
    }
}

/// A buffer handed over in pieces of `size` bytes, as a network delivers a body.
struct Pieces: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let body: ByteBuffer
    let size: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var rest: ByteBuffer
        let size: Int
        mutating func next() async -> ByteBuffer? {
            guard rest.readableBytes > 0 else { return nil }
            return rest.readSlice(length: Swift.min(size, rest.readableBytes))
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: body, size: size) }
}
