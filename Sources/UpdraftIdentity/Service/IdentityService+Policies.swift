import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Stored policy blobs (`/v3/policies`).
extension IdentityService {
    static func policy(_ row: any SQLRow) throws -> PolicyDocument {
        PolicyDocument(id: try row.string("id"), type: try row.string("type"), blob: try row.string("blob"))
    }

    public func listPolicies(query: [String: String]) async throws -> [PolicyDocument] {
        let select = Self.select("policies", where: Self.filters(query, allowed: ["type": "type"]), order: "id")
        return try await read { db in try await db.raw(select).all().map(Self.policy) }
    }

    public func policy(id: String) async throws -> PolicyDocument {
        try await read { db in
            return try Self.policy(try await Self.row("policies", id: id, noun: "policy", db))
        }
    }

    public func createPolicy(_ body: JSONObject) async throws -> PolicyDocument {
        let policy = PolicyDocument(
            id: Identifier.make(), type: try body.requiredString("type"), blob: try body.requiredString("blob", maxLength: 65536))
        try await write { db in
            try await db.raw(
                "INSERT INTO policies (id, type, blob) VALUES (\(bind: policy.id), \(bind: policy.type), \(bind: policy.blob))"
            ).run()
        }
        return policy
    }

    public func updatePolicy(id: String, _ body: JSONObject) async throws -> PolicyDocument {
        try await write { db in
            var policy = try Self.policy(try await Self.row("policies", id: id, noun: "policy", db))
            if let type = try body.string("type") { policy.type = type }
            if let blob = try body.string("blob") { policy.blob = blob }
            try await db.raw(
                "UPDATE policies SET type = \(bind: policy.type), blob = \(bind: policy.blob) WHERE id = \(bind: id)"
            ).run()
            return policy
        }
    }

    public func deletePolicy(id: String) async throws {
        _ = try await policy(id: id)
        try await write { db in try await db.raw("DELETE FROM policies WHERE id = \(bind: id)").run() }
    }
}
