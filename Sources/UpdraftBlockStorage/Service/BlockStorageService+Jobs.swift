import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

extension BlockStorageService {
    func execute(_ job: Job) async {
        let key: String
        switch job {
        case .create(let id), .delete(let id), .extend(let id, _), .upload(let id), .restore(let id): key = id
        case .snapshot(let id), .deleteSnapshot(let id): key = "snapshot:" + id
        case .backup(let id), .deleteBackup(let id): key = "backup:" + id
        }
        try? await locks.withLock(key) {
            switch job {
            case .create(let id): await finishCreate(id)
            case .delete(let id): await finishDelete(id)
            case .extend(let id, let size): await finishExtend(id, size: size)
            case .snapshot(let id): await finishSnapshot(id)
            case .deleteSnapshot(let id): await finishDeleteSnapshot(id)
            case .upload(let id): await finishUpload(id)
            case .backup(let id): await finishBackup(id)
            case .deleteBackup(let id): await finishDeleteBackup(id)
            case .restore(let id): await finishRestore(id)
            }
        }
    }

    /// Finishes or undoes what a restart interrupted, before the API serves: volumes being
    /// made or deleted are made or deleted again; an extend that did not finish keeps the
    /// old size (its status goes back); an upload to an image that did not finish loses its
    /// image (the volume's status goes back); a snapshot that was being taken is an error; a
    /// restore from a backup runs again (``recoverBackups()``); files without a row (a crash
    /// between removing a row and its file) are removed.
    public func start() async throws {
        try await bootstrap()
        let restoring = try await recoverBackups()
        let (volumes, snapshots) = try await database.read { db in
            (
                try await VolumeRepository.volumes(where: "1 = 1", db),
                try await VolumeRepository.snapshots(where: "1 = 1", db)
            )
        }
        for volume in volumes {
            switch volume.status {
            case .creating where !restoring.contains(volume.id): enqueue(.create(volume: volume.id))
            case .deleting: enqueue(.delete(volume: volume.id))
            case .extending:
                try await database.write { db in
                    try await VolumeRepository.restorePreviousStatus(volume.id, from: .extending, db)
                }
            case .uploading: await abandonUpload(volume.id)
            default: break
            }
        }
        for snapshot in snapshots {
            switch snapshot.status {
            case .creating:
                try? await backend.deleteSnapshot(snapshot.id)
                try await database.write { db in try await VolumeRepository.setSnapshotStatus(snapshot.id, .error, db) }
            case .deleting: enqueue(.deleteSnapshot(snapshot.id))
            default: break
            }
        }
        let stored = try await backend.inventory()
        let knownVolumes = Set(volumes.map(\.id))
        let knownSnapshots = Set(snapshots.map(\.id))
        for id in stored.volumes.subtracting(knownVolumes) {
            logger.notice("removing a volume file no volume owns", metadata: ["volume": "\(id)"])
            try? await backend.delete(id)
        }
        for id in stored.snapshots.subtracting(knownSnapshots) {
            logger.notice("removing a snapshot file no snapshot owns", metadata: ["snapshot": "\(id)"])
            try? await backend.deleteSnapshot(id)
        }
    }
}
