import Foundation
import UpdraftCore

/// What a new volume takes from what it is made of: the smallest size it may have, its
/// bootable flag and image metadata, and the type it gets unless it names one.
struct VolumeSource: Sendable {
    var minimumSize: Int?
    /// Cinder's refusal of a size below ``minimumSize``.
    var tooSmall: @Sendable (Int) -> String
    var bootable = false
    var imageMetadata: [String: String] = [:]
    var typeHint: String?

    static let empty = VolumeSource(minimumSize: nil, tooSmall: { _ in "" })

    /// A copy of `volume` (or of a snapshot of it, `what` the copy's source) of `size` gibibytes.
    static func copy(of volume: Volume, size: Int, what: String) -> VolumeSource {
        VolumeSource(
            minimumSize: size,
            tooSmall: { wanted in
                "Invalid input received: Volume size '\(wanted)'GB cannot be smaller than the \(what) size \(size)GB. They must be >= original \(what) size."
            },
            bootable: volume.bootable, imageMetadata: volume.imageMetadata, typeHint: volume.typeID)
    }
}

extension BlockStorageService {
    /// Checks the source a create names (a snapshot, a volume, a backup or an image; or
    /// none) and says what the new volume takes from it.
    func source(of request: VolumeCreate, caller: AuthContext) async throws -> VolumeSource {
        if let snapshotID = request.snapshotID {
            let snapshot = try await self.snapshot(snapshotID, caller: caller)
            guard snapshot.status == .available else {
                throw UpdraftError(.badRequest, "Invalid snapshot: Originating snapshot status must be one of 'available' values")
            }
            return .copy(of: try await volume(snapshot.volumeID, caller: .system), size: snapshot.size, what: "snapshot")
        }
        if let sourceID = request.sourceVolumeID {
            let source = try await volume(sourceID, caller: caller)
            try VolumeAction.clone.check(source.status, volume: source.id)
            return .copy(of: source, size: source.size, what: "volume")
        }
        if let backupID = request.backupID {
            let backup = try await restorable(backupID, caller: caller)
            // The restore gives the volume the bootable flag and image metadata the backup recorded.
            let origin = try? await volume(backup.volumeID, caller: .system)
            return VolumeSource(
                minimumSize: backup.size,
                tooSmall: { wanted in
                    "Invalid input received: Volume size \(wanted)GB cannot be smaller than the backup size \(backup.size)GB. It must be >= backup size."
                }, typeHint: origin?.typeID)
        }
        if let imageID = request.imageID { return try await source(image: imageID, caller: caller) }
        return .empty
    }

    /// A volume from an image: the image must be active and of a format that copies.
    func source(image imageID: String, caller: AuthContext) async throws -> VolumeSource {
        guard let images else { throw UpdraftError(.badRequest, "Invalid input received: this cloud has no image service.") }
        let image: VolumeImage
        do {
            image = try await images.image(imageID, caller: caller)
        } catch let error as UpdraftError where error.code == .notFound {
            throw UpdraftError(.badRequest, "Invalid image identifier or unable to access requested image.")
        }
        guard image.path != nil else {
            throw UpdraftError(.badRequest, "Invalid image: Image \(imageID) is not active.")
        }
        guard ["qcow2", "raw", "ami"].contains(image.diskFormat) else {
            throw UpdraftError(
                .badRequest,
                "Invalid image: Image \(imageID) has disk format \(image.diskFormat); only qcow2 and raw can be copied to a volume."
            )
        }
        let bytes = image.virtualSize ?? image.size
        let needed = max(Int((bytes + (1 << 30) - 1) >> 30), image.minDisk, 1)
        return VolumeSource(
            minimumSize: needed,
            tooSmall: { wanted in
                "Invalid input received: Size of specified image \(needed)GB is larger than volume size \(wanted)GB."
            }, bootable: true, imageMetadata: Self.imageMetadata(of: image))
    }
}
