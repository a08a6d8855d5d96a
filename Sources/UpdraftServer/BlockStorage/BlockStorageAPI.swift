import Foundation
import QEMU
import ServiceLifecycle
import UpdraftAccounting
import UpdraftBlockStorage
import UpdraftCore
import UpdraftDatabase
import UpdraftImage
import UpdraftObjectStorage

/// Cinder v3 under `/volume`: volumes as qcow2 files under `DATA/volumes`, made from images
/// on the same cached bases instances boot from, backed up to object storage. Its service
/// runs the slow work the API accepts with 202.
struct BlockStorageAPI: API {
    static let profile = APIProfile(name: "volume", faults: .nova, jsonBodiesOnly: true)
    static var migrations: [Migration] { BlockStorageSchema.migrations }

    let controller: BlockStorageController
    let services: [any Service]

    static func build(_ assembly: inout Assembly) async throws -> BlockStorageAPI {
        let configuration = assembly.configuration
        let backend = LocalVolumeBackend(
            directory: configuration.dataDirectory + "/volumes", img: try QEMU.Img(),
            bases: try assembly.baseImageCache())
        var settings = configuration.blockStorage
        settings.dataDirectory = configuration.dataDirectory
        let service = BlockStorageService(
            configuration: settings, database: assembly.database, backend: backend,
            images: assembly.optional(ImageService.self).map(VolumeImagesBridge.init),
            backupObjects: assembly.optional(ObjectStorageService.self).map { BackupObjectsBridge(storage: $0) },
            scratchDirectory: configuration.dataDirectory + "/volume-uploads",
            storageAllowance: assembly.optional(AccountingService.self), logger: assembly.logger)
        try await service.start()
        assembly.provide(service)
        return BlockStorageAPI(
            controller: BlockStorageController(
                storage: service, publicBase: assembly.publicBase, bodyLimit: configuration.bodyLimit),
            services: [service])
    }

    var catalog: [CatalogItem] {
        [
            CatalogItem(type: "volumev3", name: "cinderv3", path: "/volume/v3/%(project_id)s"),
            CatalogItem(type: "block-storage", name: "cinder", path: "/volume/v3/%(project_id)s"),
        ]
    }

    func register(on routes: Routes) {
        controller.register(on: routes)
    }
}

/// Block storage's view of the image service: a volume from an image reads the image's file
/// in place; an upload of a volume creates an image and hands its file over.
struct VolumeImagesBridge: VolumeImages {
    let images: ImageService

    func image(_ id: String, caller: AuthContext) async throws -> VolumeImage {
        let image = try await images.image(id, caller: caller)
        return VolumeImage(
            id: image.id, name: image.name, path: image.status == .active ? images.dataPath(of: image) : nil,
            diskFormat: image.diskFormat ?? "raw", containerFormat: image.containerFormat ?? "bare",
            size: image.size ?? 0, virtualSize: image.virtualSize, minDisk: image.minDisk, minRAM: image.minRAM,
            checksum: image.checksum, properties: image.properties)
    }

    func reserveImage(_ reservation: VolumeImageReservation, caller: AuthContext) async throws -> String {
        guard let visibility = Image.Visibility(rawValue: reservation.visibility) else {
            throw UpdraftError.badRequest("Invalid visibility \(reservation.visibility).")
        }
        var draft = ImageDraft(
            name: reservation.name, diskFormat: reservation.diskFormat, containerFormat: reservation.containerFormat,
            visibility: visibility, minDisk: reservation.minDisk, minRAM: reservation.minRAM,
            // A volume from a featured image carries the mark; the new image is not featured.
            properties: reservation.properties.filter { $0.key != Image.featuredProperty })
        draft.protected = reservation.protected
        draft.owner = caller.projectID
        return try await images.create(draft, caller: caller).id
    }

    func completeImage(_ id: String, file: String) async throws {
        _ = try await images.importFile(id, from: file)
    }

    func deleteImage(_ id: String) async {
        // A protected image refuses deletion, and this one never held what it was made for.
        if let image = try? await images.image(id, caller: .system), image.protected,
            let patch = try? ImagePatch(
                parsing: .array([.object(["op": "replace", "path": "/protected", "value": .bool(false)])]))
        {
            _ = try? await images.update(id, patch: patch, caller: .system)
        }
        try? await images.delete(id, caller: .system)
    }
}
