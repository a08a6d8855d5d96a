import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// A volume connected for a host: where the hypervisor opens it and how.
public struct VolumeConnection: Sendable, Equatable {
    public var volumeID: String
    public var location: VolumeLocation
    public var readOnly: Bool
    public var size: Int
}

extension BlockStorageService {
    /// Serves Cinder's attachment create (`POST /attachments`, and compute's attach): the
    /// volume becomes `reserved` for `instance` and the attachment is returned. Only an
    /// available volume can be reserved (Updraft has no multi-attach).
    public func reserve(volumeID: String, instance: String?, caller: AuthContext) async throws -> VolumeAttachment {
        let volume = try await volumeToChange(volumeID, caller: caller)
        try VolumeAction.reserve.check(volume.status, volume: volumeID)
        let id = UUID().uuidString.lowercased()
        let mode = volume.readOnly == true ? "ro" : "rw"
        try await database.transaction { db in
            guard try await VolumeRepository.setStatus(volumeID, .reserved, from: [.available], db) else {
                throw UpdraftError(.badRequest, "Invalid volume: Volume \(volumeID) is no longer available.")
            }
            let now = Self.now.timeIntervalSince1970
            try await db.raw(
                """
                INSERT INTO volume_attachments (id, volume_id, instance_id, status, attach_mode, created_at, updated_at)
                VALUES (\(bind: id), \(bind: volumeID), \(bind: instance), \(bind: AttachmentStatus.reserved.rawValue),
                  \(bind: mode), \(bind: now), \(bind: now))
                """
            ).run()
        }
        return try await attachment(id, caller: .system)
    }

    /// Serves `GET /attachments/{id}`.
    public func attachment(_ id: String, caller: AuthContext) async throws -> VolumeAttachment {
        guard
            let found = try await database.read({ db in
                try await VolumeRepository.attachments(where: "a.id = \(bind: id)", db).first
            }), Self.sees(caller, found.projectID)
        else { throw UpdraftError(.notFound, "Volume attachment could not be found with filter: attachment_id = \(id).") }
        return found
    }

    /// Serves `GET /attachments`: the caller's project's (every project's for an administrator
    /// who asks), optionally of one instance or volume.
    public func attachments(instance: String?, volume: String?, allProjects: Bool, caller: AuthContext) async throws
        -> [VolumeAttachment]
    {
        let all = try await database.read { db in try await VolumeRepository.attachments(where: "1 = 1", db) }
        let project = Policy.isAdmin(caller) && allProjects ? nil : try Self.project(of: caller)
        return all.filter { attachment in
            (project == nil || attachment.projectID == project) && (instance == nil || attachment.instanceID == instance)
                && (volume == nil || attachment.volumeID == volume)
        }
    }

    /// Serves attachment update with a connector (`PUT /attachments/{id}`, and compute before it
    /// plugs the disk): the volume is `attaching` and the answer says where its bytes are.
    public func connect(attachmentID: String, host: String, caller: AuthContext) async throws -> VolumeConnection {
        let attachment = try await attachment(attachmentID, caller: caller)
        try Self.authorizeChange(caller, attachment.projectID)
        guard [.reserved, .attaching, .attached].contains(attachment.status) else {
            throw UpdraftError(.badRequest, "Invalid attachment: attachment \(attachmentID) is \(attachment.status.rawValue).")
        }
        let volume = try await volume(attachment.volumeID, caller: .system)
        try await database.write { db in
            if attachment.status == .reserved {
                try await db.raw(
                    """
                    UPDATE volume_attachments SET status = \(bind: AttachmentStatus.attaching.rawValue), host = \(bind: host),
                    updated_at = \(bind: Self.now.timeIntervalSince1970) WHERE id = \(bind: attachmentID)
                    """
                ).run()
                _ = try await VolumeRepository.setStatus(volume.id, .attaching, from: [.reserved], db)
            }
        }
        return VolumeConnection(
            volumeID: volume.id, location: backend.location(volume: volume.id), readOnly: attachment.attachMode == "ro",
            size: volume.size)
    }

    /// Serves `POST /attachments/{id}/action` `os-complete` (and compute once the guest has
    /// the disk): the attachment is `attached` and the volume `in-use`.
    public func complete(attachmentID: String, device: String?, caller: AuthContext) async throws {
        let attachment = try await attachment(attachmentID, caller: caller)
        try Self.authorizeChange(caller, attachment.projectID)
        let now = Self.now.timeIntervalSince1970
        try await database.write { db in
            try await db.raw(
                """
                UPDATE volume_attachments SET status = \(bind: AttachmentStatus.attached.rawValue),
                device = COALESCE(\(bind: device), device), attached_at = COALESCE(attached_at, \(bind: now)),
                updated_at = \(bind: now) WHERE id = \(bind: attachmentID)
                """
            ).run()
            _ = try await VolumeRepository.setStatus(
                attachment.volumeID, .inUse, from: [.reserved, .attaching, .detaching, .inUse], db)
        }
    }

    /// Serves `os-begin_detaching` (and compute before it unplugs): an in-use volume is `detaching`.
    public func beginDetaching(volumeID: String, caller: AuthContext) async throws {
        let volume = try await volumeToChange(volumeID, caller: caller)
        try VolumeAction.beginDetach.check(volume.status, volume: volumeID)
        try await database.write { db in
            _ = try await VolumeRepository.setStatus(volumeID, .detaching, from: [.inUse], db)
        }
    }

    /// Serves `os-roll_detaching`: a detach that did not happen leaves the volume `in-use` again.
    public func rollDetaching(volumeID: String, caller: AuthContext) async throws {
        _ = try await volumeToChange(volumeID, caller: caller)
        try await database.write { db in
            _ = try await VolumeRepository.setStatus(volumeID, .inUse, from: [.detaching], db)
        }
    }

    /// Serves `DELETE /attachments/{id}` (and compute once the guest let go, or an attach
    /// failed): the attachment goes and the volume is `available` when it was its last.
    public func release(attachmentID: String, caller: AuthContext) async throws {
        let attachment = try await attachment(attachmentID, caller: caller)
        try Self.authorizeChange(caller, attachment.projectID)
        try await database.write { db in
            try await db.raw("DELETE FROM volume_attachments WHERE id = \(bind: attachmentID)").run()
            let left =
                try await db.raw(
                    "SELECT COUNT(*) AS n FROM volume_attachments WHERE volume_id = \(bind: attachment.volumeID)"
                ).first()?.int("n") ?? 0
            _ = try await VolumeRepository.setStatus(
                attachment.volumeID, left == 0 ? .available : .inUse,
                from: [.reserved, .attaching, .detaching, .inUse, .error], db)
        }
    }

    /// Attachments that never completed (`reserved` or `attaching`), for compute's reconcile
    /// after a restart: each ends attached or released, never left hanging.
    public func unfinishedAttachments() async throws -> [VolumeAttachment] {
        try await database.read { db in
            try await VolumeRepository.attachments(
                where: "a.status IN (\(binds: [AttachmentStatus.reserved.rawValue, AttachmentStatus.attaching.rawValue]))",
                db)
        }
    }
}

extension BlockStorageService {
    /// Serves the legacy `os-reserve`: an available volume is `attaching` until `os-attach`
    /// or `os-unreserve`.
    public func legacyReserve(_ volumeID: String, caller: AuthContext) async throws {
        let volume = try await volumeToChange(volumeID, caller: caller)
        try VolumeAction.reserve.check(volume.status, volume: volumeID)
        try await database.write { db in
            _ = try await VolumeRepository.setStatus(volumeID, .attaching, from: [.available], db)
        }
    }

    /// Serves the legacy `os-unreserve`.
    public func legacyUnreserve(_ volumeID: String, caller: AuthContext) async throws {
        let volume = try await volumeToChange(volumeID, caller: caller)
        guard volume.attachments.isEmpty else { return }
        try await database.write { db in
            _ = try await VolumeRepository.setStatus(volumeID, .available, from: [.attaching, .reserved], db)
        }
    }

    /// Serves the legacy `os-attach`: records that `instance` (or a host) holds the volume at `mountpoint`.
    public func legacyAttach(
        _ volumeID: String, instance: String?, host: String?, mountpoint: String?, mode: String, caller: AuthContext
    ) async throws {
        let volume = try await volumeToChange(volumeID, caller: caller)
        guard [.available, .attaching, .reserved].contains(volume.status) else {
            throw UpdraftError(
                .badRequest, "Invalid volume: Volume \(volumeID) is \(volume.status.rawValue) and cannot be attached.")
        }
        guard ["rw", "ro"].contains(mode) else {
            throw UpdraftError.badRequest("Invalid input received: attach mode must be rw or ro, not \(mode).")
        }
        if volume.readOnly == true && mode == "rw" {
            throw UpdraftError.badRequest("Invalid volume: Volume \(volumeID) is read-only; attach it with mode ro.")
        }
        let now = Self.now.timeIntervalSince1970
        try await database.write { db in
            try await db.raw(
                """
                INSERT INTO volume_attachments (id, volume_id, instance_id, status, attach_mode, host, device,
                  attached_at, created_at, updated_at)
                VALUES (\(bind: UUID().uuidString.lowercased()), \(bind: volumeID), \(bind: instance),
                  \(bind: AttachmentStatus.attached.rawValue), \(bind: mode), \(bind: host), \(bind: mountpoint),
                  \(bind: now), \(bind: now), \(bind: now))
                """
            ).run()
            _ = try await VolumeRepository.setStatus(volumeID, .inUse, db)
        }
    }

    /// Serves the legacy `os-detach` (and an administrator's `os-force_detach`): removes one
    /// attachment, or the volume's only one when none is named. As in Cinder, detaching what
    /// is not attached succeeds and leaves a volume without attachments `available` (tempest
    /// detaches again in its cleanups); only a volume with several needs the attachment named.
    public func legacyDetach(_ volumeID: String, attachmentID: String?, caller: AuthContext) async throws {
        let volume = try await volumeToChange(volumeID, caller: caller)
        if attachmentID == nil && volume.attachments.count > 1 {
            throw UpdraftError(
                .badRequest,
                "Invalid volume: Detach volume failed: More than one attachment, but no attachment_id provided.")
        }
        let target = attachmentID ?? volume.attachments.first?.id
        guard let target, volume.attachments.contains(where: { $0.id == target }) else {
            guard volume.attachments.isEmpty else { return }
            try await database.write { db in
                _ = try await VolumeRepository.setStatus(volumeID, .available, from: [.inUse, .detaching, .attaching], db)
            }
            return
        }
        try await release(attachmentID: target, caller: caller)
    }
}
