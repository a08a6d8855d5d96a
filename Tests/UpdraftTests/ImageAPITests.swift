import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import UpdraftServer

/// The image API in process, on a fresh SQLite data directory (JSON body limit 4 KiB).
@Suite("Image API")
struct ImageAPITests {
    static func token(_ client: any TestClientProtocol, _ password: String) async throws -> String {
        try await client.execute(
            uri: "/identity/v3/auth/tokens", method: .post, body: IdentityAPITests.passwordAuth(password)
        ) { response in try #require(response.headers[.subjectToken]) }
    }

    static func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
    }

    @Test("create, upload past the JSON body limit, download byte-identical with Content-MD5")
    func roundTrip() async throws {
        try await IdentityAPITests.withCloud { client, password in
            let token = try await Self.token(client, password)
            let auth: HTTPFields = [.authToken: token]
            let id = try await client.execute(
                uri: "/image/v2/images", method: .post, headers: auth,
                body: ByteBuffer(string: #"{"name": "t", "disk_format": "raw", "container_format": "bare", "kernel_id": "k"}"#)
            ) { response in
                #expect(response.status == .created)
                let image = try IdentityAPITests.json(response.body)
                #expect(image["status"] as? String == "queued")
                #expect(image["visibility"] as? String == "shared")
                #expect(image["kernel_id"] as? String == "k")
                #expect(image["checksum"] is NSNull)
                return try #require(image["id"] as? String)
            }
            try await client.execute(uri: "/image/v2/images/\(id)/file", method: .get, headers: auth) { response in
                #expect(response.status == .noContent)
            }
            let data = Self.bytes(300_000)
            var upload = auth
            upload[.contentType] = "application/octet-stream"
            try await client.execute(
                uri: "/image/v2/images/\(id)/file", method: .put, headers: upload, body: ByteBuffer(bytes: data)
            ) { response in #expect(response.status == .noContent) }
            let checksum = try await client.execute(uri: "/image/v2/images/\(id)", method: .get, headers: auth) { response in
                let image = try IdentityAPITests.json(response.body)
                #expect(image["status"] as? String == "active")
                #expect(image["size"] as? Int == data.count)
                #expect(image["virtual_size"] as? Int == data.count)
                #expect(image["os_hash_algo"] as? String == "sha512")
                #expect((image["os_hash_value"] as? String)?.count == 128)
                return try #require(image["checksum"] as? String)
            }
            try await client.execute(uri: "/image/v2/images/\(id)/file", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentMD5] == checksum)
                #expect(Array(buffer: response.body) == data)
            }
            var range = auth
            range[.range] = "bytes=10-19"
            try await client.execute(uri: "/image/v2/images/\(id)/file", method: .get, headers: range) { response in
                #expect(response.status == .partialContent)
                #expect(Array(buffer: response.body) == Array(data[10...19]))
            }
            // A second upload to an active image is a conflict.
            try await client.execute(
                uri: "/image/v2/images/\(id)/file", method: .put, headers: upload, body: ByteBuffer(bytes: [1, 2, 3])
            ) { response in #expect(response.status == .conflict) }
        }
    }

    @Test("versions, schemas, patch media type and webob-style faults")
    func surface() async throws {
        try await IdentityAPITests.withCloud { client, password in
            let token = try await Self.token(client, password)
            let auth: HTTPFields = [.authToken: token]
            try await client.execute(uri: "/image", method: .get) { response in
                #expect(response.status == .multipleChoices)
                let versions = try #require(IdentityAPITests.json(response.body)["versions"] as? [[String: Any]])
                #expect(versions.first?["status"] as? String == "CURRENT")
            }
            for name in ["image", "images", "member", "members"] {
                try await client.execute(uri: "/image/v2/schemas/\(name)", method: .get, headers: auth) { response in
                    #expect(response.status == .ok)
                    let schema = try IdentityAPITests.json(response.body)
                    #expect(schema["name"] as? String == name)
                }
            }
            let id = try await client.execute(
                uri: "/image/v2/images", method: .post, headers: auth, body: ByteBuffer(string: #"{"name": "p"}"#)
            ) { response in try #require(try IdentityAPITests.json(response.body)["id"] as? String) }
            let patch = ByteBuffer(string: #"[{"op": "replace", "path": "/status", "value": "active"}]"#)
            try await client.execute(uri: "/image/v2/images/\(id)", method: .patch, headers: auth, body: patch) { response in
                #expect(response.status == .unsupportedMediaType)
            }
            var typed = auth
            typed[.contentType] = "application/openstack-images-v2.1-json-patch"
            try await client.execute(uri: "/image/v2/images/\(id)", method: .patch, headers: typed, body: patch) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                #expect(String(buffer: response.body).hasPrefix("403 Forbidden"))
            }
            try await client.execute(uri: "/image/v2/images/not-a-uuid", method: .get, headers: auth) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
