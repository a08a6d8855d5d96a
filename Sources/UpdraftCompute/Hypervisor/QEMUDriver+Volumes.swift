import Foundation
import QEMU

extension QEMUDriver {
    /// Records the volume for every later boot and, while QEMU runs (or is paused), hot-plugs
    /// it: its node (`blockdev-add`) and a virtio-blk device at the volume's PCI slot
    /// (`device_add`); a device that cannot be added takes its node away again. Attaching an
    /// attached volume succeeds. A suspended instance is refused: its saved device state has
    /// the devices it had.
    public func attachVolume(_ id: String, _ volume: VolumeDisk) async throws {
        try await locks.withLock(id) {
            let files = try self.files(id)
            var record = try readRecord(id)
            let recorded = record.volumes ?? []
            if let attached = recorded.first(where: { $0.disk.volumeID == volume.volumeID }) {
                // Plugging is idempotent, so a running QEMU that lacks it gets it now.
                if running(id) != nil {
                    let machineVolume = try Self.machineVolume(attached)
                    try await withMonitor(id, doing: "attach volume \(volume.volumeID) to") { try await $0.plug(machineVolume) }
                }
                return
            }
            let all = try slotted(recorded.map(\.disk) + [volume], recorded: recorded, rootSlotFree: false)
            guard let attached = all.last else { return }
            if running(id) != nil {
                let machineVolume = try Self.machineVolume(attached)
                try await withMonitor(id, doing: "attach volume \(volume.volumeID) to") { try await $0.plug(machineVolume) }
            } else {
                try refuseIfSuspended(id, files: files, doing: "attach a volume to")
            }
            record.volumes = all
            try writeRecord(record, files: files)
        }
    }

    /// Unplugs the volume from a running QEMU and drops it from the record: `device_del`,
    /// then a wait of up to ``Configuration/volumeDetachTimeout`` for the guest to release
    /// the device, then `blockdev-del`. A guest that keeps it is `.failed` and the volume
    /// stays attached (asking again goes on waiting for the same unplug). A stopped instance
    /// only loses it from the record; an unknown volume succeeds. The root volume of a
    /// running server booted from volume is refused, as is any change to a suspended one.
    public func detachVolume(_ id: String, volumeID: String) async throws {
        try await locks.withLock(id) {
            let files = try self.files(id)
            var record = try readRecord(id)
            guard let attached = record.volumes?.first(where: { $0.disk.volumeID == volumeID }) else { return }
            var relaunch = false
            if running(id) != nil {
                if attached.disk.bootIndex == 0 && !record.hasLocalRoot {
                    throw HypervisorError.invalidState("volume \(volumeID) is the root disk of running instance \(id)")
                }
                let volume = try Self.machineVolume(attached)
                let timeout = configuration.volumeDetachTimeout
                let crashed: QEMU.RunState? = try await withMonitor(id, doing: "detach volume \(volumeID) from") { monitor in
                    do {
                        try await monitor.unplug(volume, timeout: timeout)
                        return nil
                    } catch QEMU.Error.timeout {
                        throw HypervisorError.failed(
                            "the guest of instance \(id) did not release the disk of volume \(volumeID) "
                                + "(device \(volume.deviceID)) within \(timeout); the volume stays attached")
                    } catch QEMU.Error.guestCrashed(let state) {
                        return state
                    }
                }
                if let crashed {
                    // A guest KVM stopped runs again under TCG without the volume; any other
                    // crash keeps it (the guest may still hold it when it is rebooted).
                    guard crashed == .internalError, await switchToTCG(afterKVMStopped: id, files: files) else {
                        throw HypervisorError.invalidState(
                            "instance \(id) crashed (\(crashed)) and cannot release volume \(volumeID); reboot it first")
                    }
                    relaunch = true
                }
            } else {
                try refuseIfSuspended(id, files: files, doing: "detach a volume from")
            }
            record.volumes?.removeAll { $0.disk.volumeID == volumeID }
            try writeRecord(record, files: files)
            if relaunch { try await relaunchUnderTCG(id, record: &record, files: files) }
        }
    }

    /// Grows a plugged-in volume of a running QEMU to `sizeBytes` (`block_resize`); its
    /// virtio-blk device tells the guest at once. False, with nothing changed, when QEMU does
    /// not run or the volume is not plugged in. A smaller size is refused: a volume never shrinks.
    public func resizeVolume(_ id: String, volumeID: String, sizeBytes: Int64) async throws -> Bool {
        try await locks.withLock(id) {
            let record = try readRecord(id)
            guard let attached = record.volumes?.first(where: { $0.disk.volumeID == volumeID }), running(id) != nil else {
                return false
            }
            let volume = try Self.machineVolume(attached)
            return try await withMonitor(id, doing: "resize volume \(volumeID) of") { monitor in
                guard let node = try await monitor.blockNodes()[volume.nodeName] else { return false }
                guard sizeBytes >= node.virtualSize else {
                    throw HypervisorError.invalidState(
                        "volume \(volumeID) has \(node.virtualSize) bytes; it cannot shrink to \(sizeBytes)")
                }
                if sizeBytes > node.virtualSize {
                    try await monitor.blockResize(nodeName: volume.nodeName, sizeBytes: sizeBytes)
                }
                return true
            }
        }
    }

    /// A crash-consistent copy of a plugged-in volume made by the running QEMU while the guest
    /// goes on: `path` is created as a qcow2 of the volume's virtual size (`qemu-img create`),
    /// then filled by a full backup job (``QEMU/Monitor/backup(nodeName:to:format:targetNodeName:timeout:)``);
    /// the result has no backing file. False, with nothing written, when QEMU does not run or
    /// the volume is not plugged in. On failure `path` is removed and the guest runs on.
    public func snapshotVolume(_ id: String, volumeID: String, to path: String) async throws -> Bool {
        try await locks.withLock(id) {
            let record = try readRecord(id)
            guard let attached = record.volumes?.first(where: { $0.disk.volumeID == volumeID }), running(id) != nil else {
                return false
            }
            let volume = try Self.machineVolume(attached)
            let img = try await run("snapshot volume \(volumeID)") { try QEMU.Img(binary: configuration.qemuImgBinary) }
            let timeout = configuration.volumeCopyTimeout
            return try await withMonitor(id, doing: "snapshot volume \(volumeID) of") { monitor in
                guard let node = try await monitor.blockNodes()[volume.nodeName] else { return false }
                try await img.create(path: path, format: .qcow2, sizeBytes: node.virtualSize)
                do {
                    try await monitor.backup(
                        nodeName: volume.nodeName, to: path, format: .qcow2,
                        targetNodeName: "bak" + volume.nodeName.dropFirst(3), timeout: timeout)
                } catch {
                    try? FileManager.default.removeItem(atPath: path)
                    throw error
                }
                return true
            }
        }
    }

    /// `disks` with their PCI slots: a volume already in `recorded` keeps its slot, a new one
    /// takes the lowest slot free in the machine's volume range, except that a new root volume
    /// (boot index 0) takes ``QEMU/MachineConfiguration/Volume/rootSlot`` when `rootSlotFree`
    /// (a cold boot of an instance with no local root disk), so the guest finds it first.
    /// Unknown formats, two volumes with one node name and more volumes than slots are `.failed`.
    func slotted(_ disks: [VolumeDisk], recorded: [AttachedVolume], rootSlotFree: Bool) throws -> [AttachedVolume] {
        let kept = Dictionary(recorded.map { ($0.disk.volumeID, $0.slot) }, uniquingKeysWith: { first, _ in first })
        var taken = Set(disks.compactMap { kept[$0.volumeID] })
        var nodeNames = Set<String>()
        var result: [AttachedVolume] = []
        for disk in disks where !result.contains(where: { $0.disk.volumeID == disk.volumeID }) {
            let slot: Int
            if let recordedSlot = kept[disk.volumeID] {
                slot = recordedSlot
            } else if disk.bootIndex == 0, rootSlotFree, !taken.contains(QEMU.MachineConfiguration.Volume.rootSlot) {
                slot = QEMU.MachineConfiguration.Volume.rootSlot
            } else {
                let range = configuration.machineType.volumeSlots
                guard let free = range.first(where: { !taken.contains($0) }) else {
                    throw HypervisorError.failed(
                        "volume \(disk.volumeID) cannot be attached: all \(range.count) PCI slots for volumes are in use")
                }
                slot = free
            }
            taken.insert(slot)
            let attached = AttachedVolume(disk: disk, slot: slot)
            let volume = try Self.machineVolume(attached)
            guard nodeNames.insert(volume.nodeName).inserted else {
                throw HypervisorError.failed("volume \(disk.volumeID) has the QEMU node name of another attached volume")
            }
            result.append(attached)
        }
        return result
    }

    /// The QEMU view of an attached volume: its node name derived from the volume id, device
    /// at its recorded slot.
    static func machineVolume(_ attached: AttachedVolume) throws -> QEMU.MachineConfiguration.Volume {
        switch attached.disk.source {
        case .file(let path, let format):
            guard let diskFormat = QEMU.MachineConfiguration.Disk.Format(rawValue: format) else {
                throw HypervisorError.failed(
                    "volume \(attached.disk.volumeID) has format \(format); only qcow2 and raw volumes attach")
            }
            return QEMU.MachineConfiguration.Volume(
                nodeName: QEMU.MachineConfiguration.Volume.nodeName(volumeID: attached.disk.volumeID), path: path,
                format: diskFormat, readOnly: attached.disk.readOnly, serial: attached.disk.serial,
                bootIndex: attached.disk.bootIndex, slot: attached.slot)
        }
    }

    /// A suspended instance's saved device state lists the devices it had; a boot from it with
    /// a volume more or less would not load.
    func refuseIfSuspended(_ id: String, files: InstanceFiles, doing what: String) throws {
        if FileManager.default.fileExists(atPath: files.memoryState) {
            throw HypervisorError.invalidState("cannot \(what) suspended instance \(id); resume it first")
        }
    }
}
