import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Object versioning as Swift's `versioned_writes` does it: a container with
/// `X-Versions-Location` (stack) or `X-History-Location` (history) keeps each replaced object
/// in that container as `<3 hex digits of the name's length><name>/<timestamp>`. A DELETE in
/// stack mode brings the latest version back; in history mode it archives the object.
/// Versions move as records: the blob is never copied.
extension ObjectStorageService {
    /// The prefix of every version of `name`.
    static func versionPrefix(_ name: String) -> String {
        String(format: "%03x", name.utf8.count) + name + "/"
    }

    /// Moves `current` into the versions container of `container`, inside a write; false
    /// when the container keeps no versions. 412 when the versions container is missing.
    static func archive(_ current: StoredObject, of container: Container, _ db: any SQLDatabase) async throws -> Bool {
        guard let versioning = container.versioning, !expired(current) else { return false }
        guard let archive = try await containerRow(container.projectID, versioning.location, db) else {
            throw UpdraftError.preconditionFailed("The versions container \(versioning.location) does not exist.")
        }
        let versionName = versionPrefix(current.name) + String(format: "%016.5f", current.modifiedAt)
        try await move(current, from: container.id, to: archive.id, as: versionName, db)
        return true
    }

    /// Moves an object's record (and its bytes' count) to another container and name, replacing what is there.
    static func move(
        _ object: StoredObject, from source: String, to target: String, as name: String, _ db: any SQLDatabase
    ) async throws {
        _ = try await remove(target, name, db)
        try await db.raw(
            """
            UPDATE object_entries SET container_id = \(bind: target), name = \(bind: name)
            WHERE container_id = \(bind: source) AND name = \(bind: object.name)
            """
        ).run()
        try await db.raw(
            """
            UPDATE object_containers SET object_count = object_count - 1, bytes_used = bytes_used - \(bind: object.blobSize)
            WHERE id = \(bind: source)
            """
        ).run()
        try await db.raw(
            """
            UPDATE object_containers SET object_count = object_count + 1, bytes_used = bytes_used + \(bind: object.blobSize)
            WHERE id = \(bind: target)
            """
        ).run()
    }

    /// Deletes `name` from `container` inside a write, as its versioning says: history mode
    /// archives it, stack mode deletes it and restores the latest version. Returns the record
    /// whose blob is now garbage, or nil (nothing was there, or it was archived, not deleted).
    static func removeVersioned(_ container: Container, _ name: String, _ db: any SQLDatabase) async throws
        -> StoredObject?
    {
        let current = try await objectRow(container.id, name, db)
        guard let versioning = container.versioning else { return try await remove(container.id, name, db) }
        if versioning.mode == .history {
            guard let current else { return nil }
            if try await archive(current, of: container, db) { return StoredObject.archived(current) }
            return try await remove(container.id, name, db)
        }
        let removed = try await remove(container.id, name, db)
        guard let archive = try await containerRow(container.projectID, versioning.location, db) else { return removed }
        let prefix = versionPrefix(name)
        var sql: SQLQueryString = "SELECT * FROM object_entries WHERE container_id = \(bind: archive.id)"
        sql +=
            Bounds(
                lower: (prefix, true), upper: successor(of: prefix).map { ($0, false) }, descending: true
            ).sql
        sql += " LIMIT 1"
        guard let latest = try await db.raw(sql).first().map(object) else {
            if removed == nil, current == nil { return nil }
            return removed
        }
        try await move(latest, from: archive.id, to: container.id, as: name, db)
        return removed ?? StoredObject.archived(latest)
    }
}

extension StoredObject {
    /// A record standing for an object that was moved, not deleted: no blob to remove.
    static func archived(_ object: StoredObject) -> StoredObject {
        var copy = object
        copy.blob = nil
        return copy
    }
}
