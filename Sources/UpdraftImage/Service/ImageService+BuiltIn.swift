import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Images the cloud ships with.
extension ImageService {
    /// Registers a built-in guest image: public, featured, owned by the admin project, with
    /// `description` as its `description` property. Idempotent: when an image with the same
    /// SHA-512 is already registered it is returned and nothing is copied. The file is copied,
    /// never moved, so the builder keeps its output. `updraft serve` calls this at start.
    ///
    /// A new build of a featured image replaces the one of its name in listings: the older
    /// ones stay, hidden (`os_hidden`), so the servers booted from them and their rebuilds
    /// still find them.
    public func registerBuiltIn(
        name: String, file: String, diskFormat: String, containerFormat: String, properties: [String: String],
        description: String, minDisk: Int = 0, minRAM: Int = 0
    ) async throws -> Image {
        guard let owner = adminProjectID else {
            throw UpdraftError.internal("no admin project to own the built-in image \(name)")
        }
        let digest = try ImageDataWriter.digest(ofFile: file)
        let existing = try await read { db in
            try await db.raw(
                """
                SELECT * FROM images WHERE os_hash_value = \(bind: digest.sha512) AND owner = \(bind: owner)
                AND status IN ('active', 'deactivated') ORDER BY created_at
                """
            ).first().map(Self.image)
        }
        if let existing { return existing }
        var draftProperties = properties
        draftProperties["description"] = description
        draftProperties[Image.featuredProperty] = "true"
        var draft = ImageDraft(
            name: name, diskFormat: diskFormat, containerFormat: containerFormat, visibility: .public, minDisk: minDisk,
            minRAM: minRAM, properties: draftProperties)
        draft.owner = owner
        let service = AuthContext(
            userID: "updraft", userDomainID: "default", scope: .project(id: owner, domainID: "default"), roles: ["admin"],
            auditID: "built-in")
        let image = try await create(draft, caller: service)
        do {
            let active = try await ingest(image.id, from: file, move: false)
            let hidden = try await write { db in
                let older = try await db.raw(
                    """
                    SELECT * FROM images WHERE name = \(bind: name) AND owner = \(bind: owner) AND id <> \(bind: active.id)
                    AND visibility = 'public' AND os_hidden = \(bind: false)
                    """
                ).all().map(Self.image).filter(\.isFeatured)
                for var image in older {
                    image.hidden = true
                    _ = try await Self.save(image, db)
                }
                return older.map(\.id)
            }
            logger.notice(
                "built-in image registered",
                metadata: ["image_id": "\(active.id)", "name": "\(name)", "hidden": "\(hidden.joined(separator: ","))"])
            return active
        } catch {
            try? await kill(image.id)
            throw error
        }
    }
}
