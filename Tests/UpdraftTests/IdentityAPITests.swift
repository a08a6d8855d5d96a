import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SQLKit
import ServiceLifecycle
import UpdraftDatabase
import Testing

@testable import UpdraftServer

/// The identity API in process, on a fresh SQLite data directory.
@Suite("Identity API")
struct IdentityAPITests {
    static func withCloud(_ body: @Sendable (any TestClientProtocol, String) async throws -> Void) async throws {
        try await withCloud { client, password, _ in try await body(client, password) }
    }

    static func withCloud(
        _ body: @Sendable (any TestClientProtocol, String, Database) async throws -> Void
    ) async throws {
        try await withParts { client, password, database, _ in try await body(client, password, database) }
    }

    /// A fresh cloud on the fake driver, with its store and its routes as `METHOD /path access`;
    /// its data directory is removed afterwards, even on failure. The services `running` picks
    /// run beside the calls (none by default), for APIs that finish work after answering.
    static func withParts(
        apis: [any API.Type] = UpdraftServer.apis(networking: false),
        running: @escaping @Sendable (any Service) -> Bool = { _ in false },
        _ body: @Sendable (any TestClientProtocol, String, Database, [String]) async throws -> Void
    ) async throws {
        let directory = NSTemporaryDirectory() + "updraft-api-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = UpdraftServer.Configuration(dataDirectory: directory)
        configuration.identity.passwords = .init(rounds: 1000)
        configuration.bodyLimit = 4096
        configuration.hypervisor = .fake
        configuration.dataplane = .fake
        configuration.guestImageCache = directory + "/no-guest-image"
        let parts = try await UpdraftServer.assemble(configuration, logger: Logger(label: "test"), apis: apis)
        let password = try #require(parts.adminPassword)
        let database = parts.database
        let routes = parts.routeList
        let services = parts.services.filter(running)
        do {
            try await Application(router: parts.router).test(.router) { client in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for service in services { group.addTask { try await service.run() } }
                    defer { group.cancelAll() }
                    try await body(client, password, database, routes)
                }
            }
        } catch {
            await parts.database.close()
            throw error
        }
        await parts.database.close()
    }

    static func passwordAuth(_ password: String) -> ByteBuffer {
        ByteBuffer(
            string: """
                {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
                "domain": {"name": "Default"}, "password": "\(password)"}}},
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
                """)
    }

    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any])
    }

    @Test("a password token is issued with X-Subject-Token, roles and catalog")
    func issue() async throws {
        try await Self.withCloud { client, password in
            try await client.execute(uri: "/identity/v3/auth/tokens", method: .post, body: Self.passwordAuth(password)) {
                response in
                #expect(response.status == .created)
                #expect(response.headers[.subjectToken] != nil)
                #expect(response.headers[.requestID]?.hasPrefix("req-") == true)
                let token = try #require(Self.json(response.body)["token"] as? [String: Any])
                let roles = try #require(token["roles"] as? [[String: Any]]).compactMap { $0["name"] as? String }
                #expect(Set(roles) == ["admin", "member", "reader"])
                #expect((token["catalog"] as? [Any])?.isEmpty == false)
            }
        }
    }

    @Test("a wrong password is 401 in Keystone's error format")
    func wrongPassword() async throws {
        try await Self.withCloud { client, _ in
            try await client.execute(uri: "/identity/v3/auth/tokens", method: .post, body: Self.passwordAuth("nope")) {
                response in
                #expect(response.status == .unauthorized)
                let error = try #require(Self.json(response.body)["error"] as? [String: Any])
                #expect(error["code"] as? Int == 401)
                #expect(error["title"] as? String == "Unauthorized")
            }
        }
    }

    @Test("a malformed body is 400, a missing token 401, an oversized body 413; each with a request id")
    func badInput() async throws {
        try await Self.withCloud { client, _ in
            try await client.execute(uri: "/identity/v3/auth/tokens", method: .post, body: ByteBuffer(string: "{not json")) {
                let body = try Self.json($0.body)
                #expect(body["error"] != nil)
                #expect($0.status == .badRequest)
                #expect($0.headers[.requestID] != nil)
            }
            try await client.execute(uri: "/identity/v3/projects", method: .get) {
                #expect($0.status == .unauthorized)
                #expect($0.headers[.requestID] != nil)
            }
            let big = ByteBuffer(string: "{\"auth\": \"" + String(repeating: "x", count: 10_000) + "\"}")
            try await client.execute(uri: "/identity/v3/auth/tokens", method: .post, body: big) {
                #expect($0.status == .contentTooLarge)
                let body = try Self.json($0.body)
                #expect(body["error"] != nil)
            }
        }
    }

    @Test("a revoked token no longer validates")
    func revoke() async throws {
        try await Self.withCloud { client, password in
            let token = try await client.execute(
                uri: "/identity/v3/auth/tokens", method: .post, body: Self.passwordAuth(password)
            ) {
                try #require($0.headers[.subjectToken])
            }
            let headers: HTTPFields = [.authToken: token, .subjectToken: token]
            try await client.execute(uri: "/identity/v3/auth/tokens", method: .get, headers: headers) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/identity/v3/auth/tokens", method: .delete, headers: headers) {
                #expect($0.status == .noContent)
            }
            try await client.execute(uri: "/identity/v3/projects", method: .get, headers: headers) {
                #expect($0.status == .unauthorized)
            }
        }
    }

    @Test("a duplicate project is 409 and leaves one project")
    func duplicate() async throws {
        try await Self.withCloud { client, password in
            let token = try await client.execute(
                uri: "/identity/v3/auth/tokens", method: .post, body: Self.passwordAuth(password)
            ) {
                try #require($0.headers[.subjectToken])
            }
            let body = ByteBuffer(string: #"{"project": {"name": "dup"}}"#)
            try await client.execute(uri: "/identity/v3/projects", method: .post, headers: [.authToken: token], body: body) {
                #expect($0.status == .created)
            }
            try await client.execute(uri: "/identity/v3/projects", method: .post, headers: [.authToken: token], body: body) {
                #expect($0.status == .conflict)
            }
            try await client.execute(uri: "/identity/v3/projects?name=dup", method: .get, headers: [.authToken: token]) {
                let body = try Self.json($0.body)
                #expect((body["projects"] as? [Any])?.count == 1)
            }
        }
    }

    @Test("six wrong passwords lock the user: the right one is refused until the lock ends")
    func lockout() async throws {
        try await Self.withCloud { client, password in
            for _ in 0..<6 {
                try await client.execute(uri: "/identity/v3/auth/tokens", method: .post, body: Self.passwordAuth("wrong")) {
                    #expect($0.status == .unauthorized)
                }
            }
            try await client.execute(uri: "/identity/v3/auth/tokens", method: .post, body: Self.passwordAuth(password)) {
                #expect($0.status == .unauthorized)
                let body = try Self.json($0.body)
                #expect(((body["error"] as? [String: Any])?["message"] as? String)?.contains("locked") == true)
            }
        }
    }

    @Test("a mutating call is written to the audit log with who, what, project and result")
    func audit() async throws {
        try await Self.withCloud { client, password, database in
            let token = try await client.execute(
                uri: "/identity/v3/auth/tokens", method: .post, body: Self.passwordAuth(password)
            ) { try #require($0.headers[.subjectToken]) }
            let body = ByteBuffer(string: #"{"project": {"name": "audited"}}"#)
            try await client.execute(uri: "/identity/v3/projects", method: .post, headers: [.authToken: token], body: body) {
                #expect($0.status == .created)
            }
            try await client.execute(uri: "/identity/v3/projects", method: .post, headers: [.authToken: token], body: body) {
                #expect($0.status == .conflict)
            }
            let rows = try await database.withConnection { db in
                try await db.raw(
                    "SELECT user_id, project_id, method, path, status FROM audit_events WHERE path = '/identity/v3/projects' ORDER BY at"
                ).all()
            }
            #expect(try rows.map { try $0.decode(column: "status", as: Int.self) } == [201, 409])
            #expect(try rows.allSatisfy { try $0.decode(column: "user_id", as: String?.self) != nil })
            #expect(try rows.allSatisfy { try $0.decode(column: "project_id", as: String?.self) != nil })
        }
    }
}
