import Foundation
import UpdraftCompute
import UpdraftCore

extension UpdraftServer {
    /// Compute's view of the image service.
    static func imageBridge() -> any ComputeImages {
        NoImages()
    }
}

/// Stands in until the image service lands: every image is missing.
struct NoImages: ComputeImages {
    func image(_ id: String, caller: AuthContext?) async throws -> ComputeImage {
        throw UpdraftError.notFound("No image found with ID \(id)")
    }
    func reserveSnapshot(_ request: SnapshotRequest, caller: AuthContext) async throws -> String {
        throw UpdraftError(.unsupported, "The image service is not available.")
    }
    func completeSnapshot(_ id: String, file: String) async throws {
        throw UpdraftError(.unsupported, "The image service is not available.")
    }
    func deleteImage(_ id: String) async {}
}
