import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// First start on an empty store.
extension IdentityService {
    /// What bootstrap made, so the caller can write `admin-openrc.sh` and `clouds.yaml`.
    public struct Bootstrapped: Sendable {
        public var adminPassword: String
    }

    /// Creates the Default domain, the `admin` project and user (random password), the roles
    /// `admin` ⊃ `member` ⊃ `reader`, and the region. Returns nil when the store was not empty.
    public func bootstrapIfEmpty(region: String) async throws -> Bootstrapped? {
        let empty = try await read { db in try await db.raw("SELECT id FROM domains").first() == nil }
        guard empty else { return nil }
        let password = Base64URL.encode(Data((0..<18).map { _ in UInt8.random(in: 0...255) }))
        _ = try await createDomain(
            JSONObject(["name": .string("Default"), "description": .string("The default domain")], path: "domain"), id: "default")
        var roleIDs: [String: String] = [:]
        for name in ["admin", "member", "reader"] {
            roleIDs[name] = try await createRole(JSONObject(["name": .string(name)], path: "role")).id
        }
        if let admin = roleIDs["admin"], let member = roleIDs["member"], let reader = roleIDs["reader"] {
            _ = try await addImpliedRole(prior: admin, implied: member)
            _ = try await addImpliedRole(prior: member, implied: reader)
        }
        _ = try await createRegion(JSONObject([:], path: "region"), id: region)
        let project = try await createProject(
            JSONObject(
                ["name": .string("admin"), "description": .string("Bootstrap project for cloud administrators")], path: "project")
        )
        let user = try await createUser(JSONObject(["name": .string("admin"), "password": .string(password)], path: "user"))
        guard let admin = roleIDs["admin"] else { throw UpdraftError.internal("bootstrap lost the admin role") }
        try await grant(role: admin, actor: .user, user.id, on: .project, project.id)
        try await grant(role: admin, actor: .user, user.id, on: .system, "all")
        logger.info("bootstrapped identity", metadata: ["admin_user": "\(user.id)", "admin_project": "\(project.id)"])
        return Bootstrapped(adminPassword: password)
    }
}
