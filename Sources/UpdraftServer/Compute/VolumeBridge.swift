import Foundation
import UpdraftBlockStorage
import UpdraftCompute
import UpdraftCore

/// Compute's view of block storage: Cinder's attachment flow (reserve, connect, complete,
/// release) as compute calls it, in process.
struct VolumeBridge: ComputeVolumes {
    let storage: BlockStorageService

    func isBootable(volume: String, caller: AuthContext) async throws -> Bool {
        try await storage.volume(volume, caller: caller).bootable
    }

    func reserve(volume: String, instance: String, caller: AuthContext) async throws -> String {
        try await storage.reserve(volumeID: volume, instance: instance, caller: caller).id
    }

    func connect(attachment: String, host: String) async throws -> VolumeDisk {
        let connection = try await storage.connect(attachmentID: attachment, host: host, caller: .system)
        switch connection.location {
        case .file(let path, let format):
            return VolumeDisk(
                volumeID: connection.volumeID, source: .file(path: path, format: format), readOnly: connection.readOnly)
        }
    }

    func complete(attachment: String, device: String) async throws {
        try await storage.complete(attachmentID: attachment, device: device, caller: .system)
    }

    func beginDetaching(volume: String, caller: AuthContext) async throws {
        try await storage.beginDetaching(volumeID: volume, caller: caller)
    }

    func rollDetaching(volume: String) async throws {
        try await storage.rollDetaching(volumeID: volume, caller: .system)
    }

    func release(attachment: String) async throws {
        try await storage.release(attachmentID: attachment, caller: .system)
    }

    func delete(volume: String) async throws {
        try await storage.deleteVolume(volume, cascade: true, force: false, caller: .system)
    }

    func unfinishedAttachments() async throws -> [(attachment: String, volume: String, instance: String?)] {
        try await storage.unfinishedAttachments().map { ($0.id, $0.volumeID, $0.instanceID) }
    }

    func createVolume(name: String, sizeGB: Int?, imageID: String?, snapshotID: String?, owner: AuthContext)
        async throws -> String
    {
        if let snapshotID { try await waitAvailable(snapshot: snapshotID, caller: owner) }
        var request = VolumeCreate()
        request.name = name
        request.size = sizeGB
        request.imageID = imageID
        request.snapshotID = snapshotID
        let volume = try await storage.createVolume(request, caller: owner)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(600))
        while clock.now < deadline {
            switch try await storage.volume(volume.id, caller: .system).status {
            case .available: return volume.id
            case .creating: try await Task.sleep(for: .milliseconds(100))
            case let status:
                throw UpdraftError(.conflict, "Volume \(volume.id) for the server ended \(status.rawValue).")
            }
        }
        throw UpdraftError(.timeout, "Volume \(volume.id) for the server was not made within 600 s.")
    }

    /// Waits while a snapshot is `creating`; an error when it ends in any other state.
    private func waitAvailable(snapshot id: String, caller: AuthContext) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(600))
        while clock.now < deadline {
            switch try await storage.snapshot(id, caller: caller).status {
            case .available: return
            case .creating: try await Task.sleep(for: .milliseconds(100))
            case let status:
                throw UpdraftError(.conflict, "Snapshot \(id) for the server is \(status.rawValue).")
            }
        }
        throw UpdraftError(.timeout, "Snapshot \(id) for the server was not made within 600 s.")
    }

    func details(volume: String) async throws -> VolumeDetails {
        let found = try await storage.volume(volume, caller: .system)
        return VolumeDetails(
            id: found.id, size: found.size, description: found.description, imageMetadata: found.imageMetadata)
    }

    func snapshot(volume: String, name: String, description: String?, caller: AuthContext) async throws -> String {
        try await storage.createSnapshot(
            volumeID: volume, name: name, description: description, metadata: [:], caller: caller
        ).id
    }

    func deleteSnapshot(_ id: String) async {
        try? await storage.deleteSnapshot(id, force: true, caller: .system)
    }
}

/// Block storage's view of compute: an attached volume is grown and copied by the QEMU
/// that holds it.
struct HypervisorBridge: VolumeHypervisor {
    let compute: ComputeService

    func extend(volume: String, instance: String, sizeBytes: Int64) async throws -> Bool {
        try await compute.extendAttachedVolume(volume, instance: instance, sizeBytes: sizeBytes)
    }

    func snapshot(volume: String, instance: String, to path: String) async throws -> Bool {
        try await compute.snapshotAttachedVolume(volume, instance: instance, to: path)
    }
}
