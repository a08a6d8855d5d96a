import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Sharing: the projects a `shared` image is offered to, and their answers.
extension ImageService {
    /// The owner (or an administrator) sees every member; a member sees only itself.
    /// Serves `GET /v2/images/{id}/members`.
    public func members(of id: String, caller: AuthContext) async throws(UpdraftError) -> [ImageMember] {
        try await read { db in
            let image = try await Self.visibleImage(id, caller: caller, db)
            let rows = try await db.raw("SELECT * FROM image_members WHERE image_id = \(bind: id) ORDER BY created_at").all()
            let members = try rows.map(Self.member)
            if ImageAccess.canChange(image, caller: caller) { return members }
            return members.filter { $0.memberID == caller.projectID }
        }
    }

    /// Serves `GET /v2/images/{id}/members/{member_id}`.
    public func member(_ memberID: String, of id: String, caller: AuthContext) async throws(UpdraftError) -> ImageMember {
        guard let member = try await members(of: id, caller: caller).first(where: { $0.memberID == memberID }) else {
            throw .notFound("\(memberID) is not a member of image \(id).")
        }
        return member
    }

    /// Offers a shared image to a project (status `pending`). Serves `POST /v2/images/{id}/members`.
    public func addMember(_ memberID: String, to id: String, caller: AuthContext) async throws(UpdraftError) -> ImageMember {
        guard !memberID.isEmpty, memberID.count <= 255 else { throw .badRequest("Invalid member id.") }
        return try await write { db in
            let image = try await Self.changeableImage(id, caller: caller, db)
            guard image.visibility == .shared else {
                throw UpdraftError.forbidden(
                    "Image \(id) has visibility \(image.visibility.rawValue); only shared images have members.")
            }
            let existing = try await db.raw(
                "SELECT image_id FROM image_members WHERE image_id = \(bind: id) AND member_id = \(bind: memberID)"
            ).first()
            guard existing == nil else {
                throw UpdraftError.conflict("Member \(memberID) already associated with image \(id).")
            }
            let now = Date(timeIntervalSince1970: Self.now.rounded(.down))
            let member = ImageMember(imageID: id, memberID: memberID, status: .pending, createdAt: now, updatedAt: now)
            try await db.raw(
                """
                INSERT INTO image_members (image_id, member_id, status, created_at, updated_at)
                VALUES (\(bind: id), \(bind: memberID), 'pending', \(bind: now.timeIntervalSince1970),
                \(bind: now.timeIntervalSince1970))
                """
            ).run()
            return member
        }
    }

    /// The member project answers a share; nobody else may (an administrator excepted).
    /// Serves `PUT /v2/images/{id}/members/{member_id}`.
    public func updateMember(
        _ memberID: String, of id: String, status: ImageMember.Status, caller: AuthContext
    ) async throws(UpdraftError) -> ImageMember {
        try await write { db in
            _ = try await Self.visibleImage(id, caller: caller, db)
            guard caller.projectID == memberID || Policy.isAdmin(caller) else {
                throw UpdraftError.forbidden("Only the member project \(memberID) may change its membership status.")
            }
            guard
                let row = try await db.raw(
                    "SELECT * FROM image_members WHERE image_id = \(bind: id) AND member_id = \(bind: memberID)"
                ).first()
            else { throw UpdraftError.notFound("\(memberID) is not a member of image \(id).") }
            var member = try Self.member(row)
            member.status = status
            member.updatedAt = Date(timeIntervalSince1970: Self.now.rounded(.down))
            try await db.raw(
                """
                UPDATE image_members SET status = \(bind: status.rawValue), updated_at = \(bind: member.updatedAt.timeIntervalSince1970)
                WHERE image_id = \(bind: id) AND member_id = \(bind: memberID)
                """
            ).run()
            return member
        }
    }

    /// Serves `DELETE /v2/images/{id}/members/{member_id}` (the owner or an administrator).
    public func removeMember(_ memberID: String, from id: String, caller: AuthContext) async throws(UpdraftError) {
        try await write { db in
            _ = try await Self.changeableImage(id, caller: caller, db)
            let existing = try await db.raw(
                "SELECT image_id FROM image_members WHERE image_id = \(bind: id) AND member_id = \(bind: memberID)"
            ).first()
            guard existing != nil else { throw UpdraftError.notFound("\(memberID) is not a member of image \(id).") }
            try await db.raw("DELETE FROM image_members WHERE image_id = \(bind: id) AND member_id = \(bind: memberID)").run()
        }
    }
}
