import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Uploading a volume to an image: the image is reserved at once, the volume shows
/// `uploading` while its bytes are converted and taken in, then has its status back.
extension BlockStorageService {
    /// The formats a volume converts to.
    static let uploadDiskFormats: Set<String> = ["raw", "qcow2"]
    static let uploadContainerFormats: Set<String> = ["bare"]
    static let imageVisibilities: Set<String> = ["public", "private", "shared", "community"]
    /// Volume image metadata the image service holds as attributes of its own, or that
    /// describe the volume's source image rather than the new one (Cinder's
    /// `glance_core_properties`), and never copied as properties.
    static let imageCoreProperties: Set<String> = [
        "checksum", "container_format", "disk_format", "image_name", "image_id", "min_disk", "min_ram", "name", "size",
        "signature_verified",
    ]

    /// An upload in progress: the image it fills and the format it writes.
    struct PendingUpload: Sendable {
        var imageID: String
        var diskFormat: String
    }

    /// Serves `POST /volumes/{id}/action` (`os-volume_upload_image`): reserves the image
    /// (`queued`, so its id is in the answer) and converts the volume after the answer. An
    /// attached volume needs `force`; the copy then comes from its running guest's hypervisor.
    public func uploadToImage(_ id: String, _ request: VolumeUploadRequest, caller: AuthContext) async throws
        -> VolumeUpload
    {
        guard let images else { throw UpdraftError(.badRequest, "Invalid input received: this cloud has no image service.") }
        let volume = try await volumeToChange(id, caller: caller)
        if volume.status == .inUse && !request.force {
            throw UpdraftError(
                .badRequest, "Invalid volume: Volume \(id) is in-use; upload it with force, or detach it first.")
        }
        try VolumeAction.uploadToImage.check(volume.status, volume: id)
        try Self.checkUpload(request)
        let type = try? await volumeType(named: volume.typeID, caller: .system)
        let imageID = try await images.reserveImage(Self.reservation(request, volume: volume), caller: caller)
        do {
            try await database.transaction { db in
                try await VolumeRepository.begin(.uploading, on: id, from: volume.status, db)
                try await db.raw(
                    """
                    INSERT INTO volume_uploads (volume_id, image_id, disk_format, created_at)
                    VALUES (\(bind: id), \(bind: imageID), \(bind: request.diskFormat), \(bind: Self.now.timeIntervalSince1970))
                    """
                ).run()
            }
        } catch {
            await images.deleteImage(imageID)
            throw error
        }
        enqueue(.upload(volume: id))
        logger.info("volume upload to image accepted", metadata: ["volume": "\(id)", "image": "\(imageID)"])
        return VolumeUpload(volume: try await self.volume(id, caller: .system), type: type, imageID: imageID, request: request)
    }

    static func checkUpload(_ request: VolumeUploadRequest) throws(UpdraftError) {
        guard !request.imageName.isEmpty, request.imageName.count <= 255 else {
            throw .badRequest("Invalid input received: image_name must be 1 to 255 characters.")
        }
        guard uploadDiskFormats.contains(request.diskFormat) else {
            throw .badRequest(
                "Invalid input received: disk_format \(request.diskFormat) is not supported; use \(uploadDiskFormats.sorted().joined(separator: " or "))."
            )
        }
        guard uploadContainerFormats.contains(request.containerFormat) else {
            throw .badRequest("Invalid input received: container_format \(request.containerFormat) is not supported; use bare.")
        }
        guard imageVisibilities.contains(request.visibility) else {
            throw .badRequest(
                "Invalid input received: visibility \(request.visibility) must be one of \(imageVisibilities.sorted().joined(separator: ", "))."
            )
        }
    }

    /// The image an upload makes: the volume's image metadata becomes its properties
    /// (`hw_*`, `os_*`, ...), and its source's minimums carry over, as Cinder copies them.
    static func reservation(_ request: VolumeUploadRequest, volume: Volume) -> VolumeImageReservation {
        let metadata = volume.imageMetadata
        return VolumeImageReservation(
            name: request.imageName, diskFormat: request.diskFormat, containerFormat: request.containerFormat,
            visibility: request.visibility, protected: request.protected,
            minDisk: metadata["min_disk"].flatMap { Int($0) } ?? 0, minRAM: metadata["min_ram"].flatMap { Int($0) } ?? 0,
            properties: metadata.filter { key, _ in !imageCoreProperties.contains(key) && !key.hasPrefix("os_glance") })
    }

    /// Converts an `uploading` volume into its image, then gives the volume its status back;
    /// a failure removes the image too.
    func finishUpload(_ id: String) async {
        guard let images, let upload = try? await database.read({ db in try await Self.pendingUpload(id, db) }) else {
            return
        }
        let file = scratchFile(upload)
        defer { try? FileManager.default.removeItem(atPath: file) }
        do {
            guard let volume = try await database.read({ db in try await VolumeRepository.find(id, db) }),
                volume.status == .uploading
            else {
                await abandonUpload(id)
                return
            }
            try FileManager.default.createDirectory(
                atPath: scratchDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let throughGuest = try await export(volume, format: upload.diskFormat, to: file)
            try await images.completeImage(upload.imageID, file: file)
            try await database.transaction { db in try await Self.endUpload(id, db) }
            logger.info(
                "volume uploaded to image",
                metadata: ["volume": "\(id)", "image": "\(upload.imageID)", "through_guest": "\(throughGuest)"])
        } catch {
            logger.error("volume upload to image failed", metadata: ["volume": "\(id)", "error": "\(error)"])
            await abandonUpload(id)
        }
    }

    /// Writes a standalone copy of `volume` in `format` to `file`: for an attached volume
    /// a crash-consistent copy taken by its running guest's hypervisor, converted. Returns
    /// whether the copy came through the guest.
    func export(_ volume: Volume, format: String, to file: String) async throws -> Bool {
        if let hypervisor, let instance = volume.attachments.first(where: { $0.status == .attached })?.instanceID {
            let live = liveCopy(of: file)
            defer { try? FileManager.default.removeItem(atPath: live) }
            if try await hypervisor.snapshot(volume: volume.id, instance: instance, to: live) {
                try await backend.export(.file(path: live, format: "qcow2"), format: format, to: file)
                return true
            }
        }
        try await backend.export(backend.location(volume: volume.id), format: format, to: file)
        return false
    }

    /// Undoes an upload that failed or that a restart cut short: the reserved image and any
    /// scratch file go, and the volume has the status it had before.
    func abandonUpload(_ id: String) async {
        if let upload = try? await database.read({ db in try await Self.pendingUpload(id, db) }) {
            await images?.deleteImage(upload.imageID)
            for file in [scratchFile(upload), liveCopy(of: scratchFile(upload))] {
                try? FileManager.default.removeItem(atPath: file)
            }
        }
        do {
            try await database.transaction { db in try await Self.endUpload(id, db) }
        } catch {
            logger.error("could not restore a volume after its upload", metadata: ["volume": "\(id)", "error": "\(error)"])
        }
    }

    func scratchFile(_ upload: PendingUpload) -> String {
        scratchDirectory + "/" + upload.imageID + "." + upload.diskFormat
    }

    /// Where the hypervisor writes its copy of an attached volume before the conversion.
    func liveCopy(of file: String) -> String {
        file + ".live.qcow2"
    }

    static func pendingUpload(_ volumeID: String, _ db: any SQLDatabase) async throws -> PendingUpload? {
        guard
            let row = try await db.raw(
                "SELECT image_id, disk_format FROM volume_uploads WHERE volume_id = \(bind: volumeID)"
            ).first()
        else { return nil }
        return PendingUpload(imageID: try row.string("image_id"), diskFormat: try row.string("disk_format"))
    }

    static func endUpload(_ id: String, _ db: any SQLDatabase) async throws {
        try await VolumeRepository.restorePreviousStatus(id, from: .uploading, db)
        try await db.raw("DELETE FROM volume_uploads WHERE volume_id = \(bind: id)").run()
    }
}
