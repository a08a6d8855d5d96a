import Foundation
import UpdraftAccounting
import UpdraftBlockStorage
import UpdraftCompute
import UpdraftCore
import UpdraftImage
import UpdraftObjectStorage

/// What the expiry lifecycle reads and deletes of a project, through each service as the
/// cloud itself: compute's instances, block storage's volumes, the private and shared images
/// it owns and its containers. A service the cloud does not run holds nothing.
struct HoldingsBridge: ProjectHoldings {
    let compute: ComputeService
    let volumes: BlockStorageService?
    let images: ImageService?
    let objects: ObjectStorageService?

    func instances(projectID: String, resource: ResourceClass, burningOnly: Bool) async throws -> [String] {
        try await compute.instanceIDs(projectID: projectID, resource: resource, burningOnly: burningOnly)
    }

    func storage(projectID: String) async throws -> Holdings {
        var holdings = Holdings()
        if let volumes {
            var filter = VolumeFilter()
            filter.projectID = projectID
            holdings.volumes = try await volumes.volumes(filter, caller: .system).map(\.id)
        }
        // Public and community images serve other projects' servers too: they stay.
        holdings.images = try await ownedImages(projectID).filter { $0.visibility == .private || $0.visibility == .shared }
            .map(\.id)
        if let objects {
            holdings.containers = try await objects.listContainers(projectID, ListingQuery(), caller: .user(.system)).1
                .map(\.name)
        }
        return holdings
    }

    func cpuUsage(instanceID: String) async throws -> (seconds: Double, vcpus: Int)? {
        try await compute.cpuUsage(instanceID)
    }

    func storageGigabytes(projectID: String) async throws -> Double {
        var bytes = 0.0
        if let volumes {
            // Cinder's `gigabytes` counts volumes and their snapshots.
            bytes += Double(try await volumes.quotaSet(projectID, caller: .system).usage["gigabytes"] ?? 0) * 1_073_741_824
        }
        if let images { bytes += Double(try await images.bytesOwned(by: projectID)) }
        if let objects {
            bytes += Double(
                try await objects.listContainers(projectID, ListingQuery(limit: 1), caller: .user(.system)).0.bytesUsed)
        }
        return bytes / 1_073_741_824
    }

    /// Every image the project owns, a page at a time.
    private func ownedImages(_ projectID: String) async throws -> [Image] {
        guard let images else { return [] }
        var query = ImageListQuery()
        query.visibility = .all
        query.attributes["owner"] = [projectID]
        query.limit = ImageListQuery.maxLimit
        var all: [Image] = []
        while true {
            let page = try await images.list(query, caller: .system)
            all += page.images
            guard let next = page.nextMarker else { return all }
            query.marker = next
        }
    }

    func shelve(instanceID: String) async throws {
        try await compute.perform(.shelve, on: instanceID, caller: .system, requestID: "req-" + Identifier.make())
    }

    func delete(_ holdings: Holdings, projectID: String) async -> Holdings {
        var gone = Holdings()
        for id in holdings.instances {
            if (try? await compute.deleteServer(id, caller: .system, requestID: "req-" + Identifier.make())) != nil {
                gone.instances.append(id)
            }
        }
        for id in holdings.volumes {
            if (try? await volumes?.deleteVolume(id, cascade: true, force: false, caller: .system)) != nil {
                gone.volumes.append(id)
            }
        }
        for id in holdings.images {
            if (try? await images?.delete(id, caller: .system)) != nil { gone.images.append(id) }
        }
        for name in holdings.containers {
            if (try? await emptyAndDelete(projectID, name)) != nil { gone.containers.append(name) }
        }
        return gone
    }

    /// Deletes a container's objects, a listing page at a time, then the container.
    private func emptyAndDelete(_ projectID: String, _ name: String) async throws {
        guard let objects else { return }
        while true {
            let page = try await objects.listObjects(projectID, name, ListingQuery(), caller: .user(.system))
            let entries = page.1
            if entries.isEmpty { break }
            for entry in entries {
                _ = try await objects.deleteObject(projectID, name, entry.name, caller: .user(.system))
            }
        }
        try await objects.deleteContainer(projectID, name, caller: .user(.system))
    }
}
