import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

extension BlockStorageService {
    static func type(_ row: any SQLRow) throws -> VolumeType {
        VolumeType(
            id: try row.string("id"), name: try row.string("name"), description: try row.optionalString("description"),
            isPublic: try row.bool("is_public"), extraSpecs: try map(try row.string("extra_specs")))
    }

    static func types(where condition: SQLQueryString, _ db: any SQLDatabase) async throws -> [VolumeType] {
        try await db.raw(
            "SELECT id, name, description, is_public, extra_specs FROM volume_types WHERE \(condition) ORDER BY name"
        ).all().map(type)
    }

    /// Makes the default type on first start (Cinder's `__DEFAULT__`).
    public func bootstrap() async throws {
        let name = configuration.defaultTypeName
        try await database.write { db in
            guard try await Self.types(where: "name = \(bind: name)", db).isEmpty else { return }
            let now = Self.now.timeIntervalSince1970
            try await db.raw(
                """
                INSERT INTO volume_types (id, name, description, is_public, extra_specs, created_at, updated_at)
                VALUES (\(bind: UUID().uuidString.lowercased()), \(bind: name), 'Default Volume Type', TRUE, '{}',
                  \(bind: now), \(bind: now))
                """
            ).run()
        }
    }

    /// Whether `caller` may use type `type`: public ones, private ones shared with its project, and all for administrators.
    func mayUse(_ type: VolumeType, caller: AuthContext, _ db: any SQLDatabase) async throws -> Bool {
        if type.isPublic || Policy.isAdmin(caller) { return true }
        guard let project = caller.projectID else { return false }
        return try await db.raw(
            "SELECT 1 AS one FROM volume_type_access WHERE type_id = \(bind: type.id) AND project_id = \(bind: project)"
        ).first() != nil
    }

    /// The type a volume create names (by name or id), or the default type when it names none.
    func volumeType(named wanted: String?, caller: AuthContext) async throws -> VolumeType {
        let name = wanted ?? configuration.defaultTypeName
        return try await database.read { db in
            let found = try await Self.types(where: "id = \(bind: name) OR name = \(bind: name)", db).first
            guard let found, try await self.mayUse(found, caller: caller, db) else {
                throw UpdraftError(.notFound, "Volume type with name \(name) could not be found.")
            }
            return found
        }
    }

    /// Serves `GET /types`: the types the caller may use (administrators: all, or by `is_public`).
    public func volumeTypes(isPublic: Bool?, caller: AuthContext) async throws -> [VolumeType] {
        try await database.read { db in
            var result: [VolumeType] = []
            for type in try await Self.types(where: "1 = 1", db) {
                if Policy.isAdmin(caller) {
                    if let isPublic, type.isPublic != isPublic { continue }
                    result.append(type)
                } else if try await self.mayUse(type, caller: caller, db) {
                    result.append(type)
                }
            }
            return result
        }
    }

    /// Serves `GET /types/{id}` (also `default`, the default type).
    public func volumeType(_ id: String, caller: AuthContext) async throws -> VolumeType {
        let key = id == "default" ? configuration.defaultTypeName : id
        return try await database.read { db in
            let condition: SQLQueryString = id == "default" ? "name = \(bind: key)" : "id = \(bind: key)"
            guard let found = try await Self.types(where: condition, db).first,
                try await self.mayUse(found, caller: caller, db)
            else { throw UpdraftError(.notFound, "Volume type \(id) could not be found.") }
            return found
        }
    }

    /// Serves `POST /types` (administrators).
    public func createVolumeType(
        name: String, description: String?, isPublic: Bool, extraSpecs: [String: String], caller: AuthContext
    ) async throws -> VolumeType {
        try Policy.authorize(caller, .admin)
        try Self.checkMetadata(extraSpecs)
        let id = UUID().uuidString.lowercased()
        let now = Self.now.timeIntervalSince1970
        try await database.write { db in
            guard try await Self.types(where: "name = \(bind: name)", db).isEmpty else {
                throw UpdraftError(.conflict, "Volume Type \(name) already exists.")
            }
            try await db.raw(
                """
                INSERT INTO volume_types (id, name, description, is_public, extra_specs, created_at, updated_at)
                VALUES (\(bind: id), \(bind: name), \(bind: description), \(bind: isPublic),
                  \(bind: try Self.json(extraSpecs)), \(bind: now), \(bind: now))
                """
            ).run()
        }
        return try await volumeType(id, caller: caller)
    }

    /// Serves `PUT /types/{id}` (administrators).
    public func updateVolumeType(
        _ id: String, name: String?, description: String??, isPublic: Bool?, caller: AuthContext
    ) async throws -> VolumeType {
        try Policy.authorize(caller, .admin)
        let type = try await volumeType(id, caller: caller)
        try await database.write { db in
            let now = Self.now.timeIntervalSince1970
            if let name, name != type.name {
                guard type.name != self.configuration.defaultTypeName else {
                    throw UpdraftError(.badRequest, "The default volume type cannot be renamed.")
                }
                guard try await Self.types(where: "name = \(bind: name)", db).isEmpty else {
                    throw UpdraftError(.conflict, "Volume Type \(name) already exists.")
                }
                try await db.raw("UPDATE volume_types SET name = \(bind: name), updated_at = \(bind: now) WHERE id = \(bind: id)")
                    .run()
            }
            if let description {
                try await db.raw(
                    "UPDATE volume_types SET description = \(bind: description), updated_at = \(bind: now) WHERE id = \(bind: id)"
                ).run()
            }
            if let isPublic {
                try await db.raw(
                    "UPDATE volume_types SET is_public = \(bind: isPublic), updated_at = \(bind: now) WHERE id = \(bind: id)"
                ).run()
            }
        }
        return try await volumeType(id, caller: caller)
    }

    /// Serves `DELETE /types/{id}` (administrators): refused while a volume uses it, and for the default type.
    public func deleteVolumeType(_ id: String, caller: AuthContext) async throws {
        try Policy.authorize(caller, .admin)
        let type = try await volumeType(id, caller: caller)
        guard type.name != configuration.defaultTypeName else {
            throw UpdraftError(.badRequest, "Default volume type can not be deleted.")
        }
        try await database.write { db in
            guard try await db.raw("SELECT 1 AS one FROM volumes WHERE type_id = \(bind: id)").first() == nil else {
                throw UpdraftError(.badRequest, "Target volume type is still in use.")
            }
            try await db.raw("DELETE FROM volume_type_access WHERE type_id = \(bind: id)").run()
            try await db.raw("DELETE FROM volume_types WHERE id = \(bind: id)").run()
        }
    }

    /// Serves the extra-spec routes (administrators change; readers see them through the type).
    public func changeExtraSpecs(
        of id: String, caller: AuthContext,
        _ transform: @escaping @Sendable ([String: String]) throws(UpdraftError) -> [String: String]
    ) async throws -> [String: String] {
        try Policy.authorize(caller, .admin)
        _ = try await volumeType(id, caller: caller)
        return try await database.write { db in
            guard let current = try await Self.types(where: "id = \(bind: id)", db).first else {
                throw UpdraftError(.notFound, "Volume type \(id) could not be found.")
            }
            let updated = try transform(current.extraSpecs)
            try Self.checkMetadata(updated)
            try await db.raw(
                """
                UPDATE volume_types SET extra_specs = \(bind: try Self.json(updated)),
                updated_at = \(bind: Self.now.timeIntervalSince1970) WHERE id = \(bind: id)
                """
            ).run()
            return updated
        }
    }

    /// Serves `GET /types/{id}/os-volume-type-access` (administrators).
    public func typeAccess(_ id: String, caller: AuthContext) async throws -> [String] {
        try Policy.authorize(caller, .admin)
        let type = try await volumeType(id, caller: caller)
        guard !type.isPublic else {
            throw UpdraftError(.notFound, "Access list not available for public volume types.")
        }
        return try await database.read { db in
            try await db.raw("SELECT project_id FROM volume_type_access WHERE type_id = \(bind: id) ORDER BY project_id")
                .all().map { try $0.string("project_id") }
        }
    }

    /// Serves `addProjectAccess` and `removeProjectAccess` (administrators).
    public func setTypeAccess(_ id: String, project: String, granted: Bool, caller: AuthContext) async throws {
        try Policy.authorize(caller, .admin)
        let type = try await volumeType(id, caller: caller)
        guard !type.isPublic else {
            throw UpdraftError(
                .badRequest, "Invalid volume type: Type access modification is not applicable to public volume type.")
        }
        try await database.write { db in
            let exists =
                try await db.raw(
                    "SELECT 1 AS one FROM volume_type_access WHERE type_id = \(bind: id) AND project_id = \(bind: project)"
                ).first() != nil
            if granted {
                guard !exists else {
                    throw UpdraftError(.conflict, "Volume type access for \(id)/\(project) combination already exists.")
                }
                try await db.raw("INSERT INTO volume_type_access (type_id, project_id) VALUES (\(bind: id), \(bind: project))")
                    .run()
            } else {
                guard exists else {
                    throw UpdraftError(.notFound, "Volume type access not found for \(id)/\(project) combination.")
                }
                try await db.raw(
                    "DELETE FROM volume_type_access WHERE type_id = \(bind: id) AND project_id = \(bind: project)"
                ).run()
            }
        }
    }
}
