import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SQLKit
import Testing
import UpdraftCore
import UpdraftDatabase

@testable import UpdraftServer

/// A trivial API, written here and not in the product: one type and one line in the list give
/// it tables, a catalog entry, routes with their access, its fault format and its audit name.
struct NotesAPI: API {
    static let profile = APIProfile(name: "notes", faults: .nova, jsonBodiesOnly: true)
    static var migrations: [Migration] {
        [Migration("notes-1", ["CREATE TABLE notes (id TEXT PRIMARY KEY, text TEXT NOT NULL)"])]
    }

    let database: Database

    static func build(_ assembly: inout Assembly) async throws -> NotesAPI {
        NotesAPI(database: assembly.database)
    }

    var catalog: [CatalogItem] { [CatalogItem(type: "notes", name: "notes", path: "/notes/v1")] }

    func register(on routes: Routes) {
        let v1 = routes.group("notes/v1")
        let database = database
        v1.add(.get, "notes", .authenticated) { _, _ in
            let count = try await database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM notes").first()?.decode(column: "n", as: Int.self) ?? 0
            }
            return Responder(base: "").respond(JSONValue.object(["count": .integer(count)]))
        }
        v1.add(.post, "notes", .member) { request, _ in
            let text = try JSONObject(try await request.json(limit: 1024)).requiredString("text")
            try await database.withConnection { db in
                try await db.raw("INSERT INTO notes (id, text) VALUES (\(bind: Identifier.make()), \(bind: text))").run()
            }
            return Responder.plain.empty(.created)
        }
    }
}

@Suite("API units")
struct APIUnitTests {
    @Test("a trivial API is one type and one line: tables, catalog, routes, access, faults and audit")
    func trivialAPI() async throws {
        try await IdentityAPITests.withParts(apis: UpdraftServer.apis(networking: false) + [NotesAPI.self]) {
            client, password, database, routes in
            #expect(routes.contains("GET /notes/v1/notes authenticated"))
            #expect(routes.contains("POST /notes/v1/notes member"))
            let token = try await ComputeAPITests.token(client, password)
            let headers: HTTPFields = [.authToken: token, .contentType: "application/json"]
            try await client.execute(uri: "/identity/v3/auth/catalog", method: .get, headers: headers) {
                let catalog = try #require(try IdentityAPITests.json($0.body)["catalog"] as? [[String: Any]])
                #expect(catalog.contains { $0["type"] as? String == "notes" })
            }
            // Its fault format: Nova's, named after the kind.
            try await client.execute(uri: "/notes/v1/notes", method: .get) { response throws in
                #expect(response.status == .unauthorized)
                #expect(try IdentityAPITests.json(response.body)["unauthorized"] != nil)
            }
            try await client.execute(
                uri: "/notes/v1/notes", method: .post, headers: headers, body: ByteBuffer(string: #"{"text": "hi"}"#)
            ) { #expect($0.status == .created) }
            try await client.execute(uri: "/notes/v1/notes", method: .get, headers: headers) { response throws in
                #expect(try IdentityAPITests.json(response.body)["count"] as? Int == 1)
            }
            let audited = try await database.read { db in
                try await db.raw("SELECT api FROM audit_events WHERE path = '/notes/v1/notes'").all().map {
                    try $0.decode(column: "api", as: String.self)
                }
            }
            #expect(audited == ["notes"])
        }
    }
}
