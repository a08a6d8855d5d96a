import Hummingbird
import UpdraftIdentity
import UpdraftObjectStorage

/// S3 under `/s3` (path-style addressing), on the same accounts, containers and objects as
/// Swift: a bucket is a container of the EC2 credential's project, and an object written
/// through one API reads back through the other with its metadata.
struct S3API: API {
    static let profile = APIProfile(name: "s3", faults: .s3, jsonBodiesOnly: false)

    let controller: S3Controller

    static func build(_ assembly: inout Assembly) async throws -> S3API {
        S3API(
            controller: S3Controller(
                storage: try assembly.require(ObjectStorageService.self), identity: try assembly.require(IdentityService.self)))
    }

    var catalog: [CatalogItem] { [CatalogItem(type: "s3", name: "s3", path: "/s3")] }

    func register(on routes: Routes) throws {
        controller.register(on: routes)
    }
}
