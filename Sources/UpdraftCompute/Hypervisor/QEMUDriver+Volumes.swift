import Foundation
import QEMU

extension QEMUDriver {
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
}
