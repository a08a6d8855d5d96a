import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import UpdraftServer

/// The compute API in process, on the fake driver.
@Suite("Compute API")
struct ComputeAPITests {
    static func token(_ client: any TestClientProtocol, _ password: String) async throws -> String {
        try await client.execute(
            uri: "/identity/v3/auth/tokens", method: .post, body: IdentityAPITests.passwordAuth(password)
        ) { try #require($0.headers[.subjectToken]) }
    }

    @Test("the version document advertises 2.1 to 2.47 and other versions are 406")
    func versions() async throws {
        try await IdentityAPITests.withCloud { client, password in
            try await client.execute(uri: "/compute/v2.1", method: .get) {
                let version = try #require(try IdentityAPITests.json($0.body)["version"] as? [String: Any])
                #expect(version["version"] as? String == "2.47")
                #expect(version["min_version"] as? String == "2.1")
            }
            let token = try await Self.token(client, password)
            let too_new: HTTPFields = [.authToken: token, .openStackAPIVersion: "compute 2.99"]
            try await client.execute(uri: "/compute/v2.1/flavors", method: .get, headers: too_new) {
                #expect($0.status == .notAcceptable)
            }
            let latest: HTTPFields = [.authToken: token, .openStackAPIVersion: "compute latest"]
            try await client.execute(uri: "/compute/v2.1/flavors", method: .get, headers: latest) {
                #expect($0.status == .ok)
                #expect($0.headers[.openStackAPIVersion] == "compute 2.47")
            }
        }
    }

    @Test("errors use Nova's fault bodies: itemNotFound, badRequest")
    func faults() async throws {
        try await IdentityAPITests.withCloud { client, password in
            let headers: HTTPFields = [.authToken: try await Self.token(client, password)]
            try await client.execute(uri: "/compute/v2.1/servers/nope", method: .get, headers: headers) {
                #expect($0.status == .notFound)
                let fault = try #require(try IdentityAPITests.json($0.body)["itemNotFound"] as? [String: Any])
                #expect(fault["code"] as? Int == 404)
            }
            let body = ByteBuffer(string: #"{"server": {"name": "x", "imageRef": "nope", "flavorRef": "42"}}"#)
            try await client.execute(uri: "/compute/v2.1/servers", method: .post, headers: headers, body: body) {
                #expect($0.status == .badRequest)
                let fault = try #require(try IdentityAPITests.json($0.body)["badRequest"] as? [String: Any])
                #expect((fault["message"] as? String)?.contains("image") == true)
            }
        }
    }

    @Test("the default flavors are Jetstream2's plus m1.nano and m1.micro")
    func flavors() async throws {
        try await IdentityAPITests.withCloud { client, password in
            let headers: HTTPFields = [.authToken: try await Self.token(client, password)]
            try await client.execute(uri: "/compute/v2.1/flavors/detail", method: .get, headers: headers) {
                let flavors = try #require(try IdentityAPITests.json($0.body)["flavors"] as? [[String: Any]])
                let byName = Dictionary(uniqueKeysWithValues: flavors.compactMap { f in (f["name"] as? String).map { ($0, f) } })
                #expect(byName.count == 11)
                #expect(byName["m3.quad"]?["vcpus"] as? Int == 4)
                #expect(byName["m3.quad"]?["ram"] as? Int == 15 * 1024)
                #expect(byName["m1.nano"]?["ram"] as? Int == 128)
                #expect(byName["r3.xl"]?["vcpus"] as? Int == 128)
            }
        }
    }
}
