import Foundation
import NIOCore
import UpdraftCompute
import UpdraftCore
import UpdraftImage

/// Compute's view of the image service: booting reads an image's file in place; snapshots
/// and shelves create images and hand their files over.
struct ImageBridge: ComputeImages {
    let images: ImageService

    func image(_ id: String, caller: AuthContext) async throws -> ComputeImage {
        view(try await images.image(id, caller: caller))
    }

    func view(_ image: Image) -> ComputeImage {
        ComputeImage(
            id: image.id, name: image.name ?? "", status: image.status.rawValue, diskFormat: image.diskFormat ?? "raw",
            path: images.dataPath(of: image), minDisk: image.minDisk, minRam: image.minRAM, size: Int(image.size ?? 0),
            properties: image.properties, createdAt: image.createdAt, updatedAt: image.updatedAt)
    }

    func listImages(caller: AuthContext) async throws -> [ComputeImage] {
        var query = ImageListQuery()
        query.limit = 1000
        return try await images.list(query, caller: caller).images.map(view)
    }

    func deleteImage(_ id: String, caller: AuthContext) async throws {
        try await images.delete(id, caller: caller)
    }

    func updateProperties(_ id: String, set: [String: String], remove: [String], caller: AuthContext) async throws
        -> ComputeImage
    {
        let current = try await images.image(id, caller: caller)
        var operations: [JSONValue] = set.sorted { $0.key < $1.key }.map { key, value in
            .object([
                "op": .string(current.properties[key] == nil ? "add" : "replace"), "path": .string("/" + key),
                "value": .string(value),
            ])
        }
        for key in remove {
            guard current.properties[key] != nil else { throw UpdraftError.notFound("Metadata item was not found") }
            operations.append(.object(["op": "remove", "path": .string("/" + key)]))
        }
        let patch = try ImagePatch(parsing: .array(operations))
        return view(try await images.update(id, patch: patch, caller: caller))
    }

    func reserveSnapshot(_ request: SnapshotRequest, caller: AuthContext) async throws -> String {
        var draft = ImageDraft(
            name: request.name, diskFormat: request.diskFormat, containerFormat: "bare", visibility: .private,
            minDisk: request.minDisk, minRAM: request.minRam, properties: request.properties)
        draft.owner = caller.projectID
        return try await images.create(draft, caller: caller).id
    }

    func createEmptyImage(_ request: SnapshotRequest, caller: AuthContext) async throws -> String {
        // A snapshot inherits its server's image properties, but not the library's feature mark.
        var draft = ImageDraft(
            name: request.name, diskFormat: request.diskFormat, containerFormat: "bare", visibility: .private,
            minDisk: request.minDisk, minRAM: request.minRam,
            properties: request.properties.filter { $0.key != Image.featuredProperty })
        draft.owner = caller.projectID
        let id = try await images.create(draft, caller: caller).id
        do {
            // Glance v2 activates an image only by an upload: Nova's is of no bytes.
            _ = try await images.upload(id, data: AsyncThrowingStream<ByteBuffer, any Error> { $0.finish() }, caller: caller)
        } catch {
            try? await images.delete(id, caller: .system)
            throw error
        }
        return id
    }

    func completeSnapshot(_ id: String, file: String) async throws {
        _ = try await images.importFile(id, from: file)
    }

    func deleteImage(_ id: String) async {
        try? await images.delete(id, caller: .system)
    }
}
