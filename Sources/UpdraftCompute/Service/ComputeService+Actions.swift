import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Server actions, the API side: checks the state against the action table, sets the
/// task_state and records the action, then answers; the job side (`ComputeService+Jobs`)
/// makes the host match and records the outcome.
extension ComputeService {
    /// What `perform` hands back: the snapshot image an action created, and the admin
    /// password of a rebuild.
    public struct ActionResult: Sendable {
        public var imageID: String?
        /// A rebuild's `adminPass`: the one asked for, or a generated one.
        public var adminPass: String?
    }

    /// Serves the state-changing `POST /servers/{id}/action` calls. Answers once the intent
    /// is recorded (409 when the state does not allow it); the work runs on the job loop.
    @discardableResult
    public func perform(
        _ action: ServerAction, on id: String, caller: AuthContext, requestID: String, imageID: String? = nil,
        flavorID: String? = nil, name: String? = nil, metadata: [String: String]? = nil, adminPass: String? = nil
    ) async throws -> ActionResult {
        let instance = try await server(id, caller: caller)
        try checkLock(instance, caller: caller)
        try action.check(instance.vmState, instance.taskState, id: id)
        switch action {
        case .start, .resume, .unshelve:
            try await allocations?.authorizeBurn(projectID: instance.projectID, flavor: instance.flavor)
        default: break
        }
        var parameters = Parameters(imageID: imageID, name: name, metadata: metadata)
        let volumeBacked = try await rootVolume(of: id)
        switch action {
        case .createImage where volumeBacked != nil:
            if metadata?["image_type"] == "backup" {
                throw UpdraftError.badRequest("Backup is not supported for volume-backed instances.")
            }
            let image = try await snapshotVolumeBacked(
                instance, name: name ?? "\(instance.name)-snapshot", metadata: metadata ?? [:], caller: caller,
                requestID: requestID)
            return ActionResult(imageID: image, adminPass: nil)
        case .shelve where volumeBacked != nil:
            // Nothing is uploaded: the volumes stay attached while the server is on the shelf.
            break
        case .createImage, .shelve:
            let base = try? await images.image(instance.imageID, caller: .system)
            var properties = metadata ?? [:]
            if properties["image_type"] == nil { properties["image_type"] = "snapshot" }
            properties["instance_uuid"] = instance.id
            properties["base_image_ref"] = instance.imageID
            if let kernel = instance.kernelID { properties["kernel_id"] = kernel }
            if let ramdisk = instance.ramdiskID { properties["ramdisk_id"] = ramdisk }
            let request = SnapshotRequest(
                name: name ?? "\(instance.name)-shelved", diskFormat: "qcow2",
                minDisk: max(instance.flavor.disk, base?.minDisk ?? 0), minRam: base?.minRam ?? 0,
                properties: properties)
            parameters.snapshotID = try await images.reserveSnapshot(request, caller: caller)
        case .rebuild:
            guard let imageID else { throw UpdraftError.badRequest("Invalid imageRef provided.") }
            let image = try await bootableImage(imageID, caller: caller)
            if let root = volumeBacked {
                try await checkVolumeBackedRebuild(instance, root: root, imageID: imageID)
            } else if instance.flavor.disk > 0, image.minDisk > instance.flavor.disk {
                throw UpdraftError.badRequest("Flavor's disk is too small for requested image.")
            }
        case .resize:
            guard let flavorID else { throw UpdraftError.badRequest("Resize requests require 'flavorRef' attribute.") }
            let flavor = try await requestedFlavor(flavorID, caller: caller)
            guard flavor.id != instance.flavor.id else {
                throw UpdraftError.badRequest("When resizing, instances must change flavor!")
            }
            guard flavor.disk >= instance.flavor.disk else {
                throw UpdraftError.badRequest("Resize error: Unable to resize disk down.")
            }
            try await allocations?.authorizeBurn(projectID: instance.projectID, flavor: flavor)
            try await database.read { db in
                try await self.checkQuota(
                    instance.projectID, instances: 0, cores: flavor.vcpus - instance.flavor.vcpus,
                    ram: flavor.ram - instance.flavor.ram, db)
            }
            parameters.flavor = flavor
        default:
            break
        }
        let task = action.taskState
        let projectID = caller.projectID ?? instance.projectID
        try await database.write { db in
            let current = try await self.instance(id, db)
            try action.check(current.vmState, current.taskState, id: id)
            var updated = current
            updated.taskState = task
            updated.updatedAt = self.now
            if action == .rebuild {
                // Nova records the new image (and name, metadata) before the rebuild runs,
                // so the answer already shows them. A volume-backed server keeps its image
                // reference, as its root volume keeps its data.
                if volumeBacked == nil { updated.imageID = imageID ?? current.imageID }
                if let name { updated.name = name }
                if let metadata { updated.metadata = metadata }
            }
            try await self.repository.update(updated, previous: current, db)
            try await self.repository.startAction(
                action.novaName, instance: current, requestID: requestID, userID: caller.userID, projectID: projectID, db)
        }
        enqueue(.operate(id, action, parameters))
        return ActionResult(
            imageID: parameters.snapshotID, adminPass: action == .rebuild ? adminPass ?? Self.generatedPassword() : nil)
    }

    /// `createBackup`'s rotation: keeps the newest `keep` backups of this type of the
    /// instance (the one just requested among them) and deletes the rest.
    public func rotateBackups(of id: String, type: String, keep: Int, caller: AuthContext) async throws {
        let backups = try await images.listImages(caller: caller).filter {
            $0.properties["instance_uuid"] == id && $0.properties["image_type"] == "backup"
                && $0.properties["backup_type"] == type
        }.sorted { $0.createdAt > $1.createdAt }
        for old in backups.dropFirst(keep) { try? await images.deleteImage(old.id, caller: caller) }
    }

    /// Serves `lock` and `unlock`; only the locker's peers or an admin may unlock.
    public func setLocked(_ id: String, locked: Bool, reason: String?, caller: AuthContext, requestID: String) async throws {
        let instance = try await server(id, caller: caller)
        try await mutate(id) { i in
            i.locked = locked
            i.lockedReason = locked ? reason : nil
        }
        try await database.write { db in
            try await self.repository.startAction(
                locked ? "lock" : "unlock", instance: instance, requestID: requestID, userID: caller.userID,
                projectID: caller.projectID ?? instance.projectID, db)
            try await self.repository.finishAction(instanceID: id, error: nil, db)
        }
    }

    /// Serves `os-getConsoleOutput`.
    public func consoleOutput(_ id: String, lines: Int?, caller: AuthContext) async throws -> String {
        let instance = try await server(id, caller: caller)
        try ServerAction.consoleOutput.check(instance.vmState, instance.taskState, id: id)
        let driver = try driver(for: instance)
        let log = try await Self.onHost(id) { try await driver.consoleOutput(id) }
        return Self.tail(log, lines: lines)
    }

    /// Serves `os-getVNCConsole` and `remote-consoles`: the websocket VNC endpoint.
    public func vncConsole(_ id: String, caller: AuthContext) async throws -> VNCEndpoint {
        let instance = try await server(id, caller: caller)
        try ServerAction.remoteConsole.check(instance.vmState, instance.taskState, id: id)
        let driver = try driver(for: instance)
        return try await Self.onHost(id) { try await driver.vncConsole(id) }
    }

    /// Nova's console tail: the last `lines` pieces of the log split at newlines, joined
    /// again (so asking for 3 gives exactly 3), with control characters other than tab and
    /// newline removed.
    static func tail(_ log: String, lines: Int?) -> String {
        let clean = String(
            String.UnicodeScalarView(
                log.unicodeScalars.filter { $0.value >= 0x20 || $0 == "\n" || $0 == "\t" }))
        guard let lines, lines > 0 else { return clean }
        return clean.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Runs a read on the host; what the host says about a missing or busy instance becomes a 409.
    static func onHost<T: Sendable>(_ id: String, _ body: @Sendable () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as HypervisorError {
            switch error {
            case .notFound: throw UpdraftError.conflict("Instance \(id) is not present on its host.")
            case .invalidState(let message): throw UpdraftError.conflict(message)
            case .failed(let message): throw UpdraftError.internal(message, cause: error)
            }
        }
    }
}
