import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// The job side of server actions: the work that runs after the API has answered, under
/// the instance's lock, and records the state it leaves the host in; and, after a restart,
/// finishing or undoing the work that was in flight.
extension ComputeService {
    func execute(_ job: Job) async {
        let id: String
        switch job {
        case .spawn(let i), .destroy(let i), .operate(let i, _, _), .volume(let i, _): id = i
        }
        do {
            try await locks.withLock(id) {
                switch job {
                case .spawn: try await self.spawn(id)
                case .destroy: try await self.destroy(id)
                case .operate(_, let action, let parameters): try await self.operate(id, action, parameters)
                case .volume(_, let job): await self.runVolumeJob(id, job)
                }
            }
        } catch {
            logger.error("compute job failed", metadata: ["instance": "\(id)", "error": "\(error)"])
        }
    }

    /// Builds what the driver needs to boot `instance`, from `imageID` (the shelved image on unshelve).
    /// A server booted from volume (no image, a root volume) boots from that volume.
    func spec(_ instance: Instance, imageID: String? = nil) async throws -> InstanceSpec {
        let volumes = try await volumeDisks(of: instance.id)
        var boot: InstanceSpec.BootImage?
        var properties: [String: String] = [:]
        let bootImageID = imageID ?? instance.imageID
        // A root volume is the boot disk, whatever image the server was created from (an
        // image that maps volume snapshots stays its image, as in Nova), and its image
        // metadata stands for the image's properties.
        if let root = volumes.first(where: { $0.bootIndex == 0 }) {
            properties = (try? await self.volumes?.details(volume: root.volumeID).imageMetadata) ?? [:]
        } else {
            let image = try await images.image(bootImageID, caller: .system)
            guard let path = image.path else { throw UpdraftError.conflict("Image \(image.id) has no data.") }
            properties = image.properties
            var bootImage = InstanceSpec.BootImage(id: image.id, path: path, diskFormat: image.diskFormat)
            if let kernel = instance.kernelID, let ramdisk = instance.ramdiskID {
                bootImage.kernelPath = try await images.image(kernel, caller: .system).path
                bootImage.ramdiskPath = try await images.image(ramdisk, caller: .system).path
                bootImage.commandLine = image.properties["os_command_line"]
            }
            boot = bootImage
        }
        let nics = try await networks?.nics(instance: instance.id) ?? []
        // A server with no NIC cannot reach the metadata service: the config drive is its only source.
        var spec = InstanceSpec(
            id: instance.id, vcpus: instance.flavor.vcpus, memoryMB: instance.flavor.ram,
            rootGB: max(instance.flavor.disk, 1), image: boot, configDrive: nics.isEmpty || instance.configDrive,
            metadata: metadata(of: instance), nics: nics, volumes: volumes)
        spec.guestAgent = Self.isTrue(properties["hw_qemu_guest_agent"])
        return spec
    }

    /// What the guest is told about itself (config drive and metadata service alike).
    func metadata(of instance: Instance) -> InstanceSpec.Metadata {
        let userData = instance.userData.flatMap { Data(base64Encoded: $0, options: .ignoreUnknownCharacters) }
        let keys = instance.keyName.map { [(name: $0, key: instance.keyData ?? "")] } ?? []
        return InstanceSpec.Metadata(
            hostname: instance.hostname, name: instance.name, projectID: instance.projectID,
            availabilityZone: instance.availabilityZone, metadata: instance.metadata, publicKeys: keys,
            userData: userData, launchIndex: instance.launchIndex, vendorData: configuration.vendorData)
    }

    func finish(_ id: String, error: String?) async {
        try? await database.write { db in try await self.repository.finishAction(instanceID: id, error: error, db) }
    }

    /// Schedules and boots a new instance; any failure removes it from its host again and
    /// leaves it in ERROR with a fault.
    func spawn(_ id: String) async throws {
        let current = try await database.read { db in try await self.repository.find(id, db) }
        guard let current, current.vmState == .building, current.taskState != .deleting else { return }
        do {
            try await withUndoSteps(logger: logger) { undo in
                let placed = try await place(id)
                let driver = try driver(for: placed)
                // Registered before the spawn: a failed one may have left disks or a process.
                undo.add("remove instance \(id) from its host") { try await driver.destroy(id) }
                if let networks {
                    undo.add("release the ports of \(id)") { try await networks.unplug(placed) }
                }
                try await prepareBlockDevices(placed)
                try await plugPorts(placed)
                try await driver.spawn(try await spec(placed))
                try await mutate(id) { i in
                    i.vmState = .active
                    i.taskState = nil
                    i.powerState = .running
                    i.launchedAt = self.now
                    i.progress = 100
                }
            }
            await finish(id, error: nil)
        } catch {
            let message = Self.describe(error)
            logger.error("spawn failed", metadata: ["instance": "\(id)", "error": "\(error)"])
            _ = try? await mutate(id) { i in
                i.vmState = .error
                i.taskState = nil
                i.powerState = .noState
                i.fault = .init(code: 500, message: message, created: self.now)
            }
            await finish(id, error: message)
        }
    }

    /// Makes the instance's ports on its host and waits until the network has wired them:
    /// a server is ACTIVE only with working NICs.
    func plugPorts(_ instance: Instance) async throws {
        guard let networks, let host = instance.host else { return }
        let ports = try await networks.plug(instance, host: host)
        try await networks.waitWired(ports, timeout: configuration.portWiringTimeout)
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
        guard let instance = try await database.read({ db in try await self.repository.find(id, db) }) else { return }
        if let host = instance.host, let driver = drivers[host] { try await driver.destroy(id) }
        try await networks?.unplug(instance)
        await releaseVolumes(of: id)
        if let shelved = instance.shelvedImageID { await images.deleteImage(shelved) }
        try await mutate(id) { i in
            i.vmState = .deleted
            i.taskState = nil
            i.powerState = .noState
            i.terminatedAt = self.now
        }
        await finish(id, error: nil)
    }

    /// Runs one action on the host and records the state it leaves; a failure puts the
    /// instance back as the host now has it and records the error on the action.
    func operate(_ id: String, _ action: ServerAction, _ p: Parameters) async throws {
        let instance = try await database.read { db in try await self.instance(id, db) }
        guard instance.taskState == action.taskState else { return }
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
            case .shelve where try await rootVolume(of: id) != nil:
                try await shelveVolumeBacked(instance)
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
        // A volume-backed server boots from its root volume; any other from its shelved image.
        let shelved = instance.shelvedImageID
        let root = try await rootVolume(of: instance.id)
        guard shelved != nil || root != nil else {
            throw UpdraftError.conflict("Instance \(instance.id) has no shelved image.")
        }
        try await withUndoSteps(logger: logger) { undo in
            let placed = try await place(instance.id)
            undo.add("put instance \(instance.id) back on the shelf") {
                _ = try? await self.mutate(instance.id) { i in i.host = nil }
                try await self.settle(instance.id, vm: .shelvedOffloaded, power: .shutdown)
            }
            let driver = try driver(for: placed)
            undo.add("remove instance \(instance.id) from its host") { try await driver.destroy(instance.id) }
            // A shelved server keeps its ports and volumes; they are bound again here.
            try await plugPorts(placed)
            try await reconnectVolumes(placed)
            try await driver.spawn(try await spec(placed, imageID: shelved))
        }
        try await mutate(instance.id) { i in i.shelvedImageID = nil }
        try await settle(instance.id, vm: .active, power: .running)
        if let shelved { await images.deleteImage(shelved) }
    }

    // MARK: Resuming after a restart

    /// The tasks a restart finishes by running their action again; every other interrupted
    /// task is reconciled with the host and its action recorded as failed.
    static let resumableActions: [TaskState: ServerAction] = Dictionary(
        uniqueKeysWithValues: [ServerAction.stop, .start, .softReboot, .hardReboot, .pause, .unpause, .suspend, .resume]
            .compactMap { action in action.taskState.map { ($0, action) } })

    /// After a restart: work that was in flight is finished or undone so every instance
    /// ends in a state a user can act on.
    func recoverInterruptedWork() async throws {
        let pending = try await database.read { db in
            try await db.raw("SELECT * FROM instances WHERE deleted = \(bind: false) AND task_state IS NOT NULL").all().map(
                self.repository.instance)
        }
        guard !pending.isEmpty else { return }
        // Each host is asked once for all its instances, not once per interrupted instance.
        var hostStates: [String: [String: PowerState]] = [:]
        for (hostname, driver) in drivers { hostStates[hostname] = (try? await driver.powerStates()) ?? [:] }
        for instance in pending {
            let seen: PowerState
            if let host = instance.host, let states = hostStates[host] {
                seen = states[instance.id] ?? .shutdown
            } else {
                seen = .noState
            }
            // An acknowledged (202) action that can be run again is carried out now, as Nova's
            // compute does on start. Driver operations are idempotent, so one half done is finished.
            if let task = instance.taskState, let action = Self.resumableActions[task] {
                enqueue(.operate(instance.id, action, Parameters()))
                continue
            }
            let onHost = instance.host.flatMap { hostStates[$0]?[instance.id] }
            if try await recoverShelving(instance, seen: onHost) { continue }
            switch (instance.vmState, instance.taskState) {
            case (_, .deleting?):
                enqueue(.destroy(instance.id))
            case (.building, _):
                if seen == .running {
                    try await mutate(instance.id) { i in
                        i.vmState = .active
                        i.taskState = nil
                        i.powerState = .running
                        i.launchedAt = i.launchedAt ?? self.now
                    }
                } else {
                    // The spawn never finished: clear what it left and build again.
                    if let host = instance.host, let driver = drivers[host] { try? await driver.destroy(instance.id) }
                    try await mutate(instance.id) { i in
                        i.taskState = .scheduling
                        i.host = nil
                    }
                    enqueue(.spawn(instance.id))
                }
            default:
                try await mutate(instance.id) { i in
                    i.taskState = nil
                    i.powerState = seen
                    switch (i.vmState, seen) {
                    case (.active, .shutdown), (.active, .crashed): i.vmState = .stopped
                    case (.stopped, .running): i.vmState = .active
                    case (.active, .paused): i.vmState = .paused
                    case (.paused, .running): i.vmState = .active
                    case (.active, .suspended): i.vmState = .suspended
                    default: break
                    }
                }
                try? await database.write { db in
                    try await self.repository.finishAction(
                        instanceID: instance.id, error: "interrupted by a restart of updraft", db)
                }
            }
        }
    }
}
