import Foundation

extension QEMUDriver {
    /// `spec.json`: everything needed to boot the instance again after `updraft` restarts,
    /// including the websocket port it was given, so the console URL stays the same.
    struct InstanceRecord: Codable, Equatable, Sendable {
        var id: String
        var name: String
        var vcpus: Int
        var memoryMB: Int
        var rootGB: Int
        /// The image the root disk was made from; nil when the root disk is a volume.
        var imageID: String?
        /// The base image the overlay `disk` is backed by, and its format; nil when there is
        /// no `disk` because the root disk is a volume.
        var basePath: String?
        var baseFormat: String?
        /// Whether `kernel` and `ramdisk` were copied into the instance directory.
        var hasKernel: Bool
        var hasRamdisk: Bool
        var commandLine: String?
        var hasConfigDrive: Bool
        var websocketPort: Int?
        /// The NICs every boot plugs in, in order (absent in records written before networking).
        var nics: [InstanceSpec.NIC]?
        /// The volumes every boot plugs in, each at the PCI slot it was given when first
        /// attached (absent in records written before volumes).
        var volumes: [AttachedVolume]?
        /// The guest has the QEMU guest agent's port (absent in records written before it).
        var guestAgent: Bool?

        enum CodingKeys: String, CodingKey {
            case id = "uuid"
            case name
            case vcpus
            case memoryMB = "memory_mb"
            case rootGB = "root_gb"
            case imageID = "image_id"
            case basePath = "base_path"
            case baseFormat = "base_format"
            case hasKernel = "kernel"
            case hasRamdisk = "ramdisk"
            case commandLine = "command_line"
            case hasConfigDrive = "config_drive"
            case websocketPort = "websocket_port"
            case nics
            case volumes
            case guestAgent = "guest_agent"
        }

        /// Whether the root disk is the instance's own `disk` overlay (else it is a volume).
        var hasLocalRoot: Bool { basePath != nil }
    }

    /// A volume in `spec.json`: the volume as compute gave it, and the PCI slot its device
    /// keeps across hot-plug, suspend and every boot. Stored as the volume's own keys plus
    /// `pci_slot`.
    struct AttachedVolume: Codable, Equatable, Sendable {
        var disk: VolumeDisk
        var slot: Int

        init(disk: VolumeDisk, slot: Int) {
            self.disk = disk
            self.slot = slot
        }

        private enum SlotKeys: String, CodingKey {
            case slot = "pci_slot"
        }

        init(from decoder: any Decoder) throws {
            disk = try VolumeDisk(from: decoder)
            slot = try decoder.container(keyedBy: SlotKeys.self).decode(Int.self, forKey: .slot)
        }

        func encode(to encoder: any Encoder) throws {
            try disk.encode(to: encoder)
            var container = encoder.container(keyedBy: SlotKeys.self)
            try container.encode(slot, forKey: .slot)
        }
    }

    /// The paths of one instance's files.
    struct InstanceFiles: Sendable {
        var directory: String

        var record: String { directory + "/spec.json" }
        var disk: String { directory + "/disk" }
        var configDrive: String { directory + "/disk.config" }
        var kernel: String { directory + "/kernel" }
        var ramdisk: String { directory + "/ramdisk" }
        var console: String { directory + "/console.log" }
        var launchLog: String { directory + "/launch.log" }
        /// QEMU's `-D` log; naming it keeps QEMU's stderr on `launch.log` after it daemonizes.
        var qemuLog: String { directory + "/qemu.log" }
        var qmpSocket: String { directory + "/qmp.sock" }
        var operatorSocket: String { directory + "/qmp-ops.sock" }
        var agentSocket: String { directory + "/agent.sock" }
        var vncSocket: String { directory + "/vnc.sock" }
        var pidFile: String { directory + "/qemu.pid" }
        var memoryState: String { directory + "/memory.state" }
    }

    /// The files of instance `id`; an id that could escape the instances directory is refused.
    func files(_ id: String) throws -> InstanceFiles {
        guard Self.isSafeName(id) else { throw HypervisorError.notFound(id) }
        return InstanceFiles(directory: configuration.instancesDirectory + "/" + id)
    }

    /// Whether `name` is safe as one path component: letters, digits, `-` and `_`, at most 64.
    static func isSafeName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_")
            }
    }

    func readRecord(_ id: String) throws -> InstanceRecord {
        let files = try files(id)
        guard let data = FileManager.default.contents(atPath: files.record) else {
            throw HypervisorError.notFound(id)
        }
        do {
            return try JSONDecoder().decode(InstanceRecord.self, from: data)
        } catch {
            throw HypervisorError.failed("unreadable \(files.record): \(error)")
        }
    }

    func writeRecord(_ record: InstanceRecord, files: InstanceFiles) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try encoder.encode(record).write(to: URL(fileURLWithPath: files.record), options: .atomic)
    }

    /// The ids of every instance directory with a `spec.json`.
    func instanceIDs() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: configuration.instancesDirectory)) ?? []
        return entries.sorted().filter { entry in
            guard let files = try? files(entry) else { return false }
            return FileManager.default.fileExists(atPath: files.record)
                || FileManager.default.fileExists(atPath: files.pidFile)
        }
    }
}
