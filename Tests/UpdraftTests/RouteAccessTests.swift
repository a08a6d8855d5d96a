import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import UpdraftServer

/// Every route names who it lets in, and a reader is refused on every write: walked from the
/// routes the APIs registered, so a new route is covered the day it is added.
@Suite("Route access")
struct RouteAccessTests {
    /// Writes any authenticated user may make on what they own (Keystone's and Nova's
    /// defaults): their token, password, credentials, trusts and key pairs. A new write route
    /// that does not need `member` or `admin` must be added here on purpose.
    static let selfService: Set<String> = [
        "POST /identity/v3/auth/tokens", "DELETE /identity/v3/auth/tokens",
        "POST /identity/v3/users/{id}/password",
        "POST /identity/v3/users/{id}/application_credentials",
        "DELETE /identity/v3/users/{id}/application_credentials/{cred}",
        "DELETE /identity/v3/users/{id}/access_rules/{rule}",
        "POST /identity/v3/users/{id}/credentials/OS-EC2",
        "DELETE /identity/v3/users/{id}/credentials/OS-EC2/{access}",
        "POST /identity/v3/credentials", "PATCH /identity/v3/credentials/{id}", "DELETE /identity/v3/credentials/{id}",
        "POST /identity/v3/OS-TRUST/trusts", "DELETE /identity/v3/OS-TRUST/trusts/{id}",
        "POST /compute/v2.1/os-keypairs", "DELETE /compute/v2.1/os-keypairs/{id}",
        // Object storage decides per container: write ACLs grant other projects' users and
        // TempURLs grant callers without a token, so ObjectStorageService.authorize checks
        // every write (ObjectStorageServiceTests covers readers, strangers and anonymous callers).
        "PUT /object-store/v1/**", "POST /object-store/v1/**", "DELETE /object-store/v1/**",
        // S3 authenticates each request by its signature (an EC2 credential), not a token, and
        // then asks the same ObjectStorageService rule; unsigned requests read public buckets only.
        "PUT /s3", "POST /s3", "DELETE /s3", "PUT /s3/**", "POST /s3/**", "DELETE /s3/**",
    ]

    static let writes: Set<String> = ["POST", "PUT", "PATCH", "DELETE"]

    /// The product's APIs, and networking, which is built and tested before it joins the
    /// product's list (when compute plugs servers into it).
    static let apis: [any API.Type] = UpdraftServer.apis(networking: true)

    @Test("every route the router holds names its access")
    func everyRouteNamed() async throws {
        try await IdentityAPITests.withParts(apis: Self.apis) { _, _, _, routes in
            #expect(routes.count > 200)
            let unnamed = routes.filter { $0.hasSuffix(" unnamed") }
            #expect(unnamed.isEmpty, "routes registered without an access rule: \(unnamed)")
            let open = routes.filter { line in
                let parts = line.split(separator: " ")
                return Self.writes.contains(String(parts[0])) && ["anyone", "authenticated"].contains(String(parts[2]))
                    && !Self.selfService.contains("\(parts[0]) \(parts[1])")
            }
            #expect(open.isEmpty, "write routes any caller may reach, not listed as self-service: \(open)")
        }
    }

    @Test("a reader is refused with 403 on every write that needs member or admin")
    func readerRefused() async throws {
        try await IdentityAPITests.withParts(apis: Self.apis) { client, password, _, routes in
            let admin = try await ComputeAPITests.token(client, password)
            let reader = try await Self.readerToken(client, admin: admin)
            var checked = 0
            for line in routes {
                let parts = line.split(separator: " ").map(String.init)
                guard Self.writes.contains(parts[0]), ["member", "admin"].contains(parts[2]) else { continue }
                // Any id will do: the route's own rule refuses a reader before anything is looked up.
                let path = parts[1].replacing(/\{[^}]+\}/, with: "0123456789abcdef0123456789abcdef")
                let status = try await client.execute(
                    uri: path, method: HTTPRequest.Method(rawValue: parts[0]) ?? .post,
                    headers: [.authToken: reader, .contentType: "application/json"], body: ByteBuffer(string: "{}")
                ) { $0.status }
                #expect(status == .forbidden, "\(parts[0]) \(parts[1]) answered a reader with \(status.code)")
                checked += 1
            }
            #expect(checked > 100)
        }
    }

    /// A user with only `reader` on a new project, and their project-scoped token.
    static func readerToken(_ client: any TestClientProtocol, admin: String) async throws -> String {
        try await userToken(client, admin: admin, role: "reader", name: "reader1").token
    }

    /// A new project and a user holding `role` on it: the project id and the user's project-scoped token.
    static func userToken(_ client: any TestClientProtocol, admin: String, role roleName: String, name: String) async throws
        -> (project: String, token: String)
    {
        let headers: HTTPFields = [.authToken: admin, .contentType: "application/json"]
        let project = try await client.execute(
            uri: "/identity/v3/projects", method: .post, headers: headers,
            body: ByteBuffer(string: #"{"project": {"name": "\#(name)-project", "domain_id": "default"}}"#)
        ) { try #require((try IdentityAPITests.json($0.body)["project"] as? [String: Any])?["id"] as? String) }
        let user = try await client.execute(
            uri: "/identity/v3/users", method: .post, headers: headers,
            body: ByteBuffer(string: #"{"user": {"name": "\#(name)", "domain_id": "default", "password": "pw-\#(name)"}}"#)
        ) { try #require((try IdentityAPITests.json($0.body)["user"] as? [String: Any])?["id"] as? String) }
        let role = try await client.execute(uri: "/identity/v3/roles?name=\(roleName)", method: .get, headers: headers) {
            try #require((try IdentityAPITests.json($0.body)["roles"] as? [[String: Any]])?.first?["id"] as? String)
        }
        try await client.execute(
            uri: "/identity/v3/projects/\(project)/users/\(user)/roles/\(role)", method: .put, headers: headers
        ) { #expect($0.status == .noContent) }
        let auth = """
            {"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "\(user)", "password": "pw-\(name)"}}},
            "scope": {"project": {"id": "\(project)"}}}}
            """
        let token = try await client.execute(uri: "/identity/v3/auth/tokens", method: .post, body: ByteBuffer(string: auth)) {
            #expect($0.status == .created)
            return try #require($0.headers[.subjectToken])
        }
        return (project, token)
    }
}
