import Foundation
import UpdraftCompute
import UpdraftCore
import UpdraftImage

/// Compute's view of the image service: booting reads an image's file in place; snapshots
/// and shelves create images and hand their files over.
struct ImageBridge: ComputeImages {
    let images: ImageService

    /// Background work (a spawn after a restart, an unshelve) acts as the cloud itself.
    static let system = AuthContext(
        userID: "updraft-compute", userDomainID: "default", scope: .system, roles: ["admin", "member", "reader"],
        auditID: "updraft-compute")

    func image(_ id: String, caller: AuthContext?) async throws -> ComputeImage {
        let image = try await images.image(id, caller: caller ?? Self.system)
        return ComputeImage(
            id: image.id, name: image.name ?? "", status: image.status.rawValue, diskFormat: image.diskFormat ?? "raw",
            path: images.dataPath(of: image), minDisk: image.minDisk, minRam: image.minRAM, size: Int(image.size ?? 0),
            properties: image.properties)
    }

    func reserveSnapshot(_ request: SnapshotRequest, caller: AuthContext) async throws -> String {
        var draft = ImageDraft(
            name: request.name, diskFormat: request.diskFormat, containerFormat: "bare", visibility: .private,
            minDisk: request.minDisk, minRAM: request.minRam, properties: request.properties)
        draft.owner = caller.projectID
        return try await images.create(draft, caller: caller).id
    }

    func completeSnapshot(_ id: String, file: String) async throws {
        _ = try await images.importFile(id, from: file)
    }

    func deleteImage(_ id: String) async {
        try? await images.delete(id, caller: Self.system)
    }
}
