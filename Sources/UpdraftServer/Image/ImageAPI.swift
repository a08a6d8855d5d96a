import UpdraftAccounting
import UpdraftDatabase
import UpdraftIdentity
import UpdraftImage

/// Glance v2 under `/image`. It registers the built-in guest image, owned by the admin
/// project, and provides the ``ImageService`` compute boots from.
struct ImageAPI: API {
    // Glance takes raw bytes on its data routes, so its JSON routes check the type themselves.
    static let profile = APIProfile(name: "image", faults: .glance, jsonBodiesOnly: false)
    static var migrations: [Migration] { ImageSchema.migrations }

    let controller: ImageController

    static func build(_ assembly: inout Assembly) async throws -> ImageAPI {
        let identity = try assembly.require(IdentityService.self)
        let configuration = assembly.configuration
        let images = ImageService(
            database: assembly.database, directory: configuration.dataDirectory + "/images",
            adminProjectID: try await identity.listProjects(query: ["name": "admin", "domain_id": "default"]).first?.id,
            storageAllowance: assembly.optional(AccountingService.self), logger: assembly.logger)
        try await images.start()
        try await UpdraftServer.registerGuestImage(configuration, images: images, logger: assembly.logger)
        try await UpdraftServer.registerFeaturedImages(configuration, images: images, logger: assembly.logger)
        assembly.provide(images)
        return ImageAPI(
            controller: ImageController(images: images, publicBase: assembly.publicBase, bodyLimit: configuration.bodyLimit))
    }

    var catalog: [CatalogItem] { [CatalogItem(type: "image", name: "glance", path: "/image")] }

    func register(on routes: Routes) throws {
        try controller.register(on: routes)
    }
}
