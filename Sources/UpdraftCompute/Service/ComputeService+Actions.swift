import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Server actions: the API side checks state and records intent; the job side makes the
/// host match and records the outcome.
extension ComputeService {
    /// What `perform` hands back: the snapshot image an action created, if any.
    public struct ActionResult: Sendable {
        public var imageID: String?
    }

    /// The task_state an action sets while it runs.
    static func taskState(for action: ServerAction) -> TaskState? {
        switch action {
        case .stop: .poweringOff
        case .start: .poweringOn
        case .softReboot: .rebooting
        case .hardReboot: .rebootingHard
        case .pause: .pausing
        case .unpause: .unpausing
        case .suspend: .suspending
        case .resume: .resuming
        case .shelve: .shelving
        case .shelveOffload: .shelvingOffloading
        case .unshelve: .unshelving
        case .createImage: .imageSnapshot
        case .rebuild: .rebuilding
        case .resize: .resizePrep
        case .confirmResize: .resizeConfirming
        case .revertResize: .resizeReverting
        case .delete: .deleting
        case .consoleOutput, .remoteConsole: nil
        }
    }

    /// Serves the state-changing `POST /servers/{id}/action` calls. Answers once the intent
    /// is recorded (409 when the state does not allow it); the work runs on the job loop.
    @discardableResult
    public func perform(
        _ action: ServerAction, on id: String, caller: AuthContext, requestID: String, imageID: String? = nil,
        flavorID: String? = nil, name: String? = nil, metadata: [String: String]? = nil
    ) async throws -> ActionResult {
        let instance = try await server(id, caller: caller)
        try checkLock(instance, caller: caller)
        try action.check(instance.vmState, instance.taskState, id: id)
        var parameters = Parameters(imageID: imageID, name: name, metadata: metadata)
        switch action {
        case .createImage, .shelve:
            let base = try? await images.image(instance.imageID, caller: nil)
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
            if instance.flavor.disk > 0, image.minDisk > instance.flavor.disk {
                throw UpdraftError.badRequest("Flavor's disk is too small for requested image.")
            }
        case .resize:
            guard let flavorID else { throw UpdraftError.badRequest("Resize requests require 'flavorRef' attribute.") }
            let flavor = try await self.flavor(flavorID, caller: caller)
            guard flavor.id != instance.flavor.id else {
                throw UpdraftError.badRequest("When resizing, instances must change flavor!")
            }
            guard flavor.disk >= instance.flavor.disk else {
                throw UpdraftError.badRequest("Resize error: Unable to resize disk down.")
            }
            try await database.read { db in
                try await self.checkQuota(
                    instance.projectID, instances: 0, cores: flavor.vcpus - instance.flavor.vcpus,
                    ram: flavor.ram - instance.flavor.ram, db)
            }
            parameters.flavor = flavor
        default:
            break
        }
        let task = Self.taskState(for: action)
        let projectID = caller.projectID ?? instance.projectID
        try await database.write { db in
            let current = try await self.instance(id, db)
            try action.check(current.vmState, current.taskState, id: id)
            var updated = current
            updated.taskState = task
            updated.updatedAt = Self.now
            if action == .rebuild {
                // Nova records the new image (and name, metadata) before the rebuild runs,
                // so the answer already shows them.
                updated.imageID = imageID ?? current.imageID
                if let name { updated.name = name }
                if let metadata { updated.metadata = metadata }
            }
            try await InstanceRepository.update(updated, previous: current, db)
            try await InstanceRepository.startAction(
                action.novaName, instance: current, requestID: requestID, userID: caller.userID, projectID: projectID, db)
        }
        enqueue(.operate(id, action, parameters))
        return ActionResult(imageID: parameters.snapshotID)
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
            try await InstanceRepository.startAction(
                locked ? "lock" : "unlock", instance: instance, requestID: requestID, userID: caller.userID,
                projectID: caller.projectID ?? instance.projectID, db)
            try await InstanceRepository.finishAction(instanceID: id, error: nil, db)
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

    // MARK: The job side

    func execute(_ job: Job) async {
        let id: String
        switch job {
        case .spawn(let i), .destroy(let i), .operate(let i, _, _): id = i
        }
        do {
            try await locks.withLock(id) {
                switch job {
                case .spawn: try await self.spawn(id)
                case .destroy: try await self.destroy(id)
                case .operate(_, let action, let parameters): try await self.operate(id, action, parameters)
                }
            }
        } catch {
            logger.error("compute job failed", metadata: ["instance": "\(id)", "error": "\(error)"])
        }
    }

    /// Builds what the driver needs to boot `instance`, from `imageID` (the shelved image on unshelve).
    func spec(_ instance: Instance, imageID: String? = nil) async throws -> InstanceSpec {
        let image = try await images.image(imageID ?? instance.imageID, caller: nil)
        guard let path = image.path else { throw UpdraftError.conflict("Image \(image.id) has no data.") }
        var boot = InstanceSpec.BootImage(id: image.id, path: path, diskFormat: image.diskFormat)
        if let kernel = instance.kernelID, let ramdisk = instance.ramdiskID {
            boot.kernelPath = try await images.image(kernel, caller: nil).path
            boot.ramdiskPath = try await images.image(ramdisk, caller: nil).path
            boot.commandLine = image.properties["os_command_line"]
        }
        let userData = instance.userData.flatMap { Data(base64Encoded: $0, options: .ignoreUnknownCharacters) }
        let keys = instance.keyName.map { [(name: $0, key: instance.keyData ?? "")] } ?? []
        return InstanceSpec(
            id: instance.id, vcpus: instance.flavor.vcpus, memoryMB: instance.flavor.ram,
            rootGB: max(instance.flavor.disk, 1), image: boot, configDrive: true,
            metadata: .init(
                hostname: instance.hostname, name: instance.name, projectID: instance.projectID,
                availabilityZone: instance.availabilityZone, metadata: instance.metadata, publicKeys: keys,
                userData: userData, launchIndex: instance.launchIndex))
    }

    func finish(_ id: String, error: String?) async {
        try? await database.write { db in try await InstanceRepository.finishAction(instanceID: id, error: error, db) }
    }

    /// Schedules and boots a new instance; any failure leaves it in ERROR with a fault.
    func spawn(_ id: String) async throws {
        let current = try await database.read { db in try await InstanceRepository.find(id, db) }
        guard let current, current.vmState == .building, current.taskState != .deleting else { return }
        do {
            let placed = try await place(id)
            let spec = try await spec(placed)
            try await driver(for: placed).spawn(spec)
            try await mutate(id) { i in
                i.vmState = .active
                i.taskState = nil
                i.powerState = .running
                i.launchedAt = Self.now
                i.progress = 100
            }
            await finish(id, error: nil)
        } catch {
            let message = Self.describe(error)
            logger.error("spawn failed", metadata: ["instance": "\(id)", "error": "\(error)"])
            if let instance = try? await database.read({ db in try await InstanceRepository.find(id, db) }),
                let driver = try? driver(for: instance)
            {
                try? await driver.destroy(id)
            }
            _ = try? await mutate(id) { i in
                i.vmState = .error
                i.taskState = nil
                i.powerState = .noState
                i.fault = .init(code: 500, message: message, created: Self.now)
            }
            await finish(id, error: message)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? UpdraftError { return error.message }
        if let error = error as? HypervisorError {
            switch error {
            case .notFound(let m), .invalidState(let m), .failed(let m): return m
            }
        }
        return "\(error)"
    }

    /// Removes the instance from its host and marks it deleted.
    func destroy(_ id: String) async throws {
        guard let instance = try await database.read({ db in try await InstanceRepository.find(id, db) }) else { return }
        if let host = instance.host, let driver = drivers[host] { try await driver.destroy(id) }
        if let shelved = instance.shelvedImageID { await images.deleteImage(shelved) }
        try await mutate(id) { i in
            i.vmState = .deleted
            i.taskState = nil
            i.powerState = .noState
            i.terminatedAt = Self.now
        }
        await finish(id, error: nil)
    }

    /// Runs one action on the host and records the state it leaves; a failure puts the
    /// instance back as the host now has it and records the error on the action.
    func operate(_ id: String, _ action: ServerAction, _ p: Parameters) async throws {
        let instance = try await database.read { db in try await self.instance(id, db) }
        guard instance.taskState == Self.taskState(for: action) else { return }
        let grace = configuration.shutdownGrace
        do {
            switch action {
            case .stop:
                try await driver(for: instance).powerOff(id, grace: grace)
                try await settle(id, vm: .stopped, power: .shutdown)
            case .start:
                try await driver(for: instance).powerOn(try await spec(instance))
                try await settle(id, vm: .active, power: .running)
            case .softReboot, .hardReboot:
                try await driver(for: instance).reboot(id, hard: action == .hardReboot)
                try await settle(id, vm: .active, power: .running)
            case .pause:
                try await driver(for: instance).pause(id)
                try await settle(id, vm: .paused, power: .paused)
            case .unpause:
                try await driver(for: instance).unpause(id)
                try await settle(id, vm: .active, power: .running)
            case .suspend:
                try await driver(for: instance).suspend(id)
                try await settle(id, vm: .suspended, power: .suspended)
            case .resume:
                try await driver(for: instance).resume(try await spec(instance))
                try await settle(id, vm: .active, power: .running)
            case .createImage:
                try await snapshot(instance, into: p.snapshotID, taskAfter: nil)
                try await settle(id, vm: instance.vmState, power: instance.powerState)
            case .shelve:
                let driver = try driver(for: instance)
                if instance.vmState != .stopped { try await driver.powerOff(id, grace: grace) }
                try await snapshot(instance, into: p.snapshotID, taskAfter: .shelvingImageUploading)
                // Nova's default shelved_offload_time of 0: release the host at once.
                try await driver.destroy(id)
                try await mutate(id) { i in
                    i.shelvedImageID = p.snapshotID
                    i.host = nil
                }
                try await settle(id, vm: .shelvedOffloaded, power: .shutdown)
            case .shelveOffload:
                try await driver(for: instance).destroy(id)
                try await mutate(id) { i in i.host = nil }
                try await settle(id, vm: .shelvedOffloaded, power: .shutdown)
            case .unshelve:
                try await unshelve(instance)
            case .rebuild:
                let rebuilt = try await mutate(id) { i in i.taskState = .rebuildSpawning }
                let driver = try driver(for: rebuilt)
                try await driver.rebuild(try await spec(rebuilt))
                if instance.vmState == .stopped {
                    // Nova leaves a stopped server stopped after a rebuild.
                    try await driver.powerOff(id, grace: .zero)
                    try await settle(id, vm: .stopped, power: .shutdown)
                } else {
                    try await settle(id, vm: .active, power: .running)
                }
            case .resize:
                guard let flavor = p.flavor else { throw UpdraftError.badRequest("Resize needs a flavor.") }
                let resized = try await mutate(id) { i in
                    i.oldFlavor = i.flavor
                    i.flavor = flavor
                    i.taskState = .resizeMigrating
                }
                let driver = try driver(for: resized)
                let wasRunning = instance.vmState == .active
                try await driver.powerOff(id, grace: grace)
                try await driver.resize(try await spec(resized))
                // A stopped server stays stopped through a resize, as in Nova.
                if wasRunning { try await driver.powerOn(try await spec(resized)) }
                try await settle(id, vm: .resized, power: wasRunning ? .running : .shutdown)
            case .confirmResize:
                try await mutate(id) { i in i.oldFlavor = nil }
                try await settle(id, vm: instance.powerState == .running ? .active : .stopped, power: instance.powerState)
            case .revertResize:
                guard let old = instance.oldFlavor else { throw UpdraftError.conflict("Instance has no flavor to revert to.") }
                let reverted = try await mutate(id) { i in
                    i.flavor = old
                    i.oldFlavor = nil
                }
                let driver = try driver(for: reverted)
                let wasRunning = instance.powerState == .running
                try await driver.powerOff(id, grace: grace)
                try await driver.resize(try await spec(reverted))
                if wasRunning { try await driver.powerOn(try await spec(reverted)) }
                try await settle(id, vm: wasRunning ? .active : .stopped, power: wasRunning ? .running : .shutdown)
            case .delete, .consoleOutput, .remoteConsole:
                break
            }
            await finish(id, error: nil)
        } catch {
            logger.error("action failed", metadata: ["instance": "\(id)", "action": "\(action)", "error": "\(error)"])
            let seen = (try? await driver(for: instance).powerStates()[id]) ?? instance.powerState
            _ = try? await mutate(id) { i in
                i.taskState = nil
                i.powerState = seen
            }
            if let snapshot = p.snapshotID, action == .createImage || action == .shelve {
                await images.deleteImage(snapshot)
            }
            await finish(id, error: Self.describe(error))
        }
    }

    /// Clears the task and sets the states an action leaves.
    func settle(_ id: String, vm: VMState, power: PowerState) async throws {
        try await mutate(id) { i in
            i.vmState = vm
            i.taskState = nil
            i.powerState = power
            // A crash's fault is shown while the server is SHUTOFF; running again clears it.
            if vm == .active { i.fault = nil }
        }
    }

    /// Copies the root disk into a reserved image and marks it active.
    func snapshot(_ instance: Instance, into imageID: String?, taskAfter: TaskState?) async throws {
        guard let imageID else { throw UpdraftError.internal("snapshot without a reserved image") }
        try await mutate(instance.id) { i in i.taskState = i.taskState == .shelving ? .shelvingImageUploading : .imageUploading }
        let file = NSTemporaryDirectory() + "updraft-snapshot-\(imageID).qcow2"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await driver(for: instance).snapshot(instance.id, to: file, format: "qcow2")
        try await images.completeSnapshot(imageID, file: file)
    }

    /// Boots a shelved instance again: on its host if it still has one, else scheduled
    /// anew from the shelved image, which is then deleted.
    func unshelve(_ instance: Instance) async throws {
        if instance.vmState == .shelved, instance.host != nil {
            try await driver(for: instance).powerOn(try await spec(instance))
            try await settle(instance.id, vm: .active, power: .running)
            return
        }
        guard let shelved = instance.shelvedImageID else {
            throw UpdraftError.conflict("Instance \(instance.id) has no shelved image.")
        }
        let placed = try await place(instance.id)
        do {
            try await driver(for: placed).spawn(try await spec(placed, imageID: shelved))
        } catch {
            try? await driver(for: placed).destroy(instance.id)
            _ = try? await mutate(instance.id) { i in i.host = nil }
            try await settle(instance.id, vm: .shelvedOffloaded, power: .shutdown)
            throw error
        }
        try await mutate(instance.id) { i in i.shelvedImageID = nil }
        try await settle(instance.id, vm: .active, power: .running)
        await images.deleteImage(shelved)
    }
}
