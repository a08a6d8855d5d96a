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

    @Test("the version document advertises 2.1 to 2.49 and other versions are 406")
    func versions() async throws {
        try await IdentityAPITests.withCloud { client, password in
            try await client.execute(uri: "/compute/", method: .get) {
                let versions = try #require(try IdentityAPITests.json($0.body)["versions"] as? [[String: Any]])
                // Nova lists the legacy v2.0 first, then v2.1; tempest's test_list_api_versions checks the order.
                #expect(versions.map { $0["id"] as? String } == ["v2.0", "v2.1"])
                #expect(versions.first?["status"] as? String == "SUPPORTED")
            }
            try await client.execute(uri: "/compute/v2.1", method: .get) {
                let version = try #require(try IdentityAPITests.json($0.body)["version"] as? [String: Any])
                #expect(version["version"] as? String == "2.49")
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
                #expect($0.headers[.openStackAPIVersion] == "compute 2.49")
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

    @Test("huge, fractional and wrongly typed numbers and negative limits are Nova's 400, and the cloud keeps serving")
    func badNumbers() async throws {
        try await IdentityAPITests.withCloud { client, password in
            let headers: HTTPFields = [.authToken: try await Self.token(client, password)]
            for path in [
                "flavors?limit=-1", "flavors/detail?limit=x", "os-keypairs?limit=-1", "servers?limit=-5", "images?limit=-1",
            ] {
                try await client.execute(uri: "/compute/v2.1/" + path, method: .get, headers: headers) {
                    #expect($0.status == .badRequest, "\(path)")
                    let fault = try IdentityAPITests.json($0.body)["badRequest"]
                    #expect(fault != nil, "\(path)")
                }
            }
            let bodies = [
                ("flavors", #"{"flavor": {"name": "big", "ram": 1e300, "vcpus": 1, "disk": 1}}"#),
                ("flavors", #"{"flavor": {"name": "big", "ram": 9223372036854775808, "vcpus": 1, "disk": 1}}"#),
                ("flavors", #"{"flavor": {"name": "typed", "id": 7, "ram": 64, "vcpus": 1, "disk": 1}}"#),
                ("servers", #"{"server": {"name": "x", "imageRef": "img", "flavorRef": 1e300}}"#),
                ("servers", #"{"server": {"name": "x", "imageRef": "img", "flavorRef": 1.5}}"#),
                ("servers", #"{"server": {"name": "x", "imageRef": "img", "flavorRef": "42", "min_count": 1e300}}"#),
                ("os-quota-sets/x", #"{"quota_set": {"cores": 1e300}}"#),
            ]
            for (path, text) in bodies {
                let method: HTTPRequest.Method = path.hasPrefix("os-quota-sets") ? .put : .post
                try await client.execute(
                    uri: "/compute/v2.1/" + path, method: method, headers: headers, body: ByteBuffer(string: text)
                ) {
                    #expect($0.status == .badRequest, "\(text)")
                }
            }
            try await client.execute(uri: "/compute/v2.1/flavors", method: .get, headers: headers) {
                #expect($0.status == .ok)
                let flavors = try #require(try IdentityAPITests.json($0.body)["flavors"] as? [[String: Any]])
                #expect(!flavors.contains { ["big", "typed"].contains($0["name"] as? String) })
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
