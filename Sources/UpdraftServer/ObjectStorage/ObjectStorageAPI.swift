import Foundation
import Hummingbird
import ServiceLifecycle
import UpdraftAccounting
import UpdraftDatabase
import UpdraftObjectStorage

/// Swift v1 under `/object-store/v1/AUTH_<project_id>`, its capabilities at `/info`, and the
/// reaper of expired objects. It provides the ``ObjectStorageService`` S3 shares.
struct ObjectStorageAPI: API {
    static let profile = APIProfile(name: "object-store", faults: .swift, jsonBodiesOnly: false)
    static var migrations: [Migration] { ObjectStorageService.migrations }

    let controller: ObjectStorageController
    let reaper: any Service

    static func build(_ assembly: inout Assembly) async throws -> ObjectStorageAPI {
        let configuration = assembly.configuration
        let blobs = LocalBlobStore(directory: configuration.dataDirectory + "/objects")
        try blobs.prepare()
        let storage = ObjectStorageService(
            database: assembly.database, blobs: blobs, configuration: configuration.objectStorage,
            storageAllowance: assembly.optional(AccountingService.self), logger: assembly.logger)
        try await storage.start()
        assembly.provide(storage)
        let reaper = PeriodicService(
            name: "object-reaper", interval: configuration.objectStorage.reapInterval, clock: ContinuousClock(),
            logger: assembly.logger
        ) {
            try await storage.reap()
        }
        return ObjectStorageAPI(controller: ObjectStorageController(storage: storage), reaper: reaper)
    }

    /// Keystone substitutes the project of the token into the URL, as for Swift's own endpoint.
    var catalog: [CatalogItem] {
        [CatalogItem(type: "object-store", name: "swift", path: "/object-store/v1/AUTH_%(project_id)s")]
    }

    func register(on routes: Routes) throws {
        controller.register(on: routes)
    }

    var services: [any Service] { [reaper] }
}
