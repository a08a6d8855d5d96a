import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Creating, changing and deleting image records.
extension ImageService {
    /// A new image in `queued`, owned by `caller`'s project (or the draft's owner, for an
    /// administrator). Serves `POST /v2/images`.
    public func create(_ draft: ImageDraft, caller: AuthContext) async throws(UpdraftError) -> Image {
        let admin = Policy.isAdmin(caller)
        if draft.visibility == .public, !admin {
            throw .forbidden("You are not authorized to complete publicize_image action.")
        }
        if let owner = draft.owner, owner != caller.projectID, !admin {
            throw .forbidden("You are not permitted to create images owned by '\(owner)'.")
        }
        // Glance's default policy: creating an image needs member on the project (a reader reads).
        if let project = draft.owner ?? caller.projectID, !admin {
            try Policy.authorize(caller, .projectMember(project))
        }
        _ = try ImageRules.checkFormat(draft.diskFormat, allowed: Image.diskFormats, "disk_format")
        _ = try ImageRules.checkFormat(draft.containerFormat, allowed: Image.containerFormats, "container_format")
        for name in draft.properties.keys { try ImageRules.checkPropertyName(name, isAdmin: admin) }
        for tag in draft.tags { try ImageRules.checkTag(tag) }
        var image = Image(
            id: draft.id ?? UUID().uuidString.lowercased(), name: draft.name, status: .queued,
            visibility: draft.visibility ?? .shared, protected: draft.protected, hidden: draft.hidden,
            owner: draft.owner ?? caller.projectID, minRAM: draft.minRAM, minDisk: draft.minDisk, diskFormat: draft.diskFormat,
            containerFormat: draft.containerFormat, createdAt: Date(timeIntervalSince1970: Self.now.rounded(.down)),
            tags: draft.tags, properties: draft.properties.filter { !Image.coreAttributes.contains($0.key) })
        image.updatedAt = image.createdAt
        let created = image
        try await write { db in try await Self.insert(created, db) }
        logger.info("image created", metadata: ["image_id": "\(image.id)", "owner": "\(image.owner ?? "-")"])
        return image
    }

    /// Applies a JSON patch. Serves `PATCH /v2/images/{id}`.
    public func update(_ id: String, patch: ImagePatch, caller: AuthContext) async throws(UpdraftError) -> Image {
        try await write { db in
            let image = try await Self.changeableImage(id, caller: caller, db)
            let changed = try patch.apply(to: image, isAdmin: Policy.isAdmin(caller))
            return try await Self.save(changed, db)
        }
    }

    /// Removes the image, its members and its bytes; a protected image is 403.
    /// Serves `DELETE /v2/images/{id}`.
    public func delete(_ id: String, caller: AuthContext) async throws(UpdraftError) {
        try await write { db in
            let image = try await Self.changeableImage(id, caller: caller, db)
            guard !image.protected else {
                throw UpdraftError.forbidden("Image \(id) is protected and cannot be deleted.")
            }
            try await db.raw("DELETE FROM image_members WHERE image_id = \(bind: id)").run()
            try await db.raw("DELETE FROM images WHERE id = \(bind: id)").run()
        }
        unlink(finalPath(id))
        logger.info("image deleted", metadata: ["image_id": "\(id)"])
    }

    /// Marks an image `killed` and drops any bytes: for a snapshot or upload that failed.
    /// Compute calls this; deleting it afterwards is an ordinary ``delete(_:caller:)``.
    public func kill(_ id: String) async throws(UpdraftError) {
        try await write { db in
            var image = try await Self.row(id, db, lock: true)
            image.status = .killed
            image.size = nil
            image.virtualSize = nil
            try await Self.save(image, db)
        }
        unlink(finalPath(id))
    }

    /// Serves `PUT /v2/images/{id}/tags/{tag}`.
    public func addTag(_ tag: String, to id: String, caller: AuthContext) async throws(UpdraftError) {
        try ImageRules.checkTag(tag)
        try await write { db in
            var image = try await Self.changeableImage(id, caller: caller, db)
            guard !image.tags.contains(tag) else { return }
            image.tags.append(tag)
            try await Self.save(image, db)
        }
    }

    /// Serves `DELETE /v2/images/{id}/tags/{tag}`; 404 when the image lacks the tag.
    public func removeTag(_ tag: String, from id: String, caller: AuthContext) async throws(UpdraftError) {
        try await write { db in
            var image = try await Self.changeableImage(id, caller: caller, db)
            guard let index = image.tags.firstIndex(of: tag) else {
                throw UpdraftError.notFound("Tag \(tag) not found on image \(id).")
            }
            image.tags.remove(at: index)
            try await Self.save(image, db)
        }
    }

    /// Serves `POST /v2/images/{id}/actions/deactivate`: administrators and members of the
    /// owning project, as Glance's default policy allows. Downloads are then refused to all
    /// but administrators.
    public func deactivate(_ id: String, caller: AuthContext) async throws(UpdraftError) {
        try await setActive(id, false, caller: caller)
    }

    /// Serves `POST /v2/images/{id}/actions/reactivate` (administrators and the owning project's members).
    public func reactivate(_ id: String, caller: AuthContext) async throws(UpdraftError) {
        try await setActive(id, true, caller: caller)
    }

    private func setActive(_ id: String, _ active: Bool, caller: AuthContext) async throws(UpdraftError) {
        try await write { db in
            var image = try await Self.changeableImage(id, caller: caller, db)
            let target: Image.Status = active ? .active : .deactivated
            guard image.status != target else { return }
            guard image.status == .active || image.status == .deactivated else {
                let verb = active ? "reactivate" : "deactivate"
                throw UpdraftError.forbidden("Not allowed to \(verb) image in status '\(image.status.rawValue)'")
            }
            image.status = target
            try await Self.save(image, db)
        }
    }
}
