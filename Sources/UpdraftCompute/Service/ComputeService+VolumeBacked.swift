import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase
import Synchronization

/// Servers whose root disk is a volume, as Nova treats them: a snapshot is volume snapshots
/// mapped by an image with no data, booting that image makes volumes from them, a shelve
/// keeps the volumes attached and uploads nothing, and a rebuild keeps the root volume.
extension ComputeService {
    /// The root device Nova records for a server; a snapshot image names it.
    static let rootDeviceName = "/dev/vda"

    /// Image properties Nova never copies into a snapshot (`NON_INHERITABLE_IMAGE_PROPERTIES`,
    /// the `os_glance` namespace) and the image attributes Cinder keeps beside the properties
    /// in `volume_image_metadata` (`VIM_IMAGE_ATTRIBUTES`).
    static let nonInheritableProperties: Set<String> = [
        "cinder_encryption_key_id", "cinder_encryption_key_deletion_policy", "img_signature",
        "img_signature_hash_method", "img_signature_key_type", "img_signature_certificate_uuid",
    ]
    static let volumeImageAttributes: Set<String> = [
        "image_id", "image_name", "size", "checksum", "container_format", "disk_format", "min_ram", "min_disk",
    ]

    /// The mapping of the server's root volume, when its root disk is one (Nova's
    /// `is_volume_backed_instance`).
    func rootVolume(of instanceID: String) async throws -> BlockDeviceMapping? {
        guard volumes != nil else { return nil }
        return try await database.read { db in
            try await Self.mappings(where: "instance_id = \(bind: instanceID) AND boot_index = \(bind: 0)", db).first
        }
    }

    // MARK: Snapshot

    /// Serves `createImage` of a volume-backed server, as Nova's `snapshot_volume_backed`:
    /// a snapshot of every volume (forced, crash-consistent when attached to a running guest)
    /// and an active image with no data whose `block_device_mapping` maps them. Runs before the
    /// answer, as in Nova; the snapshots may still be `creating` when it returns.
    func snapshotVolumeBacked(
        _ instance: Instance, name: String, metadata: [String: String], caller: AuthContext, requestID: String
    ) async throws -> String {
        let volumes = try requireVolumes()
        let mappings = try await database.read { db in
            try await Self.mappings(where: "instance_id = \(bind: instance.id)", db)
        }
        var properties: [String: String] = [:]
        var minDisk = 0
        var minRam = 0
        if let root = mappings.first(where: { $0.bootIndex == 0 }), let volumeID = root.volumeID {
            let origin = try await volumes.details(volume: volumeID).imageMetadata
            properties = origin.filter { !Self.volumeImageAttributes.contains($0.key) }
            minDisk = origin["min_disk"].flatMap { Int($0) } ?? 0
            minRam = origin["min_ram"].flatMap { Int($0) } ?? 0
        } else if let image = try? await images.image(instance.imageID, caller: .system) {
            properties = image.properties
            minDisk = image.minDisk
            minRam = image.minRam
        }
        properties = properties.filter { !Self.nonInheritableProperties.contains($0.key) && !$0.key.hasPrefix("os_glance") }
        for key in ["block_device_mapping", "bdm_v2", "root_device_name"] { properties[key] = nil }
        properties.merge(metadata) { $1 }
        properties["root_device_name"] = Self.rootDeviceName

        _ = try await database.write { db in
            try await self.repository.startAction(
                ServerAction.createImage.novaName, instance: instance, requestID: requestID, userID: caller.userID,
                projectID: caller.projectID ?? instance.projectID, db)
        }
        // The snapshots made so far, deleted again when a later step fails.
        let taken = Mutex<[String]>([])
        do {
            // Quiesced, as Nova's snapshot of a volume-backed server is: every volume is
            // snapshotted while the guest's filesystems are frozen.
            let mapping: [JSONValue] = try await driver(for: instance).quiesced(instance.id) {
                var mapping: [JSONValue] = []
                for device in mappings where device.status == .attached {
                    guard let volumeID = device.volumeID else { continue }
                    let volume = try await volumes.details(volume: volumeID)
                    let snapshot = try await volumes.snapshot(
                        volume: volumeID, name: "snapshot for \(name)", description: volume.description, caller: caller)
                    taken.withLock { $0.append(snapshot) }
                    mapping.append(Self.imageMapping(device, snapshotID: snapshot, size: volume.size))
                }
                return mapping
            }
            if !mapping.isEmpty {
                properties["block_device_mapping"] = Self.jsonText(.array(mapping))
                properties["bdm_v2"] = "True"
            }
            let request = SnapshotRequest(
                name: name, diskFormat: "raw", minDisk: minDisk, minRam: minRam, properties: properties)
            let imageID = try await images.createEmptyImage(request, caller: caller)
            await finish(instance.id, error: nil)
            return imageID
        } catch {
            for snapshot in taken.withLock({ $0 }) { await volumes.deleteSnapshot(snapshot) }
            await finish(instance.id, error: Self.describe(error))
            throw error
        }
    }

    /// One entry of a snapshot image's `block_device_mapping`: Nova's `snapshot_from_bdm`
    /// with every field of its `BlockDeviceDict`, as `get_image_mapping` writes it.
    static func imageMapping(_ device: BlockDeviceMapping, snapshotID: String, size: Int) -> JSONValue {
        var fields: [String: JSONValue] = [:]
        for key in [
            "guest_format", "volume_id", "image_id", "no_device", "tag", "volume_type", "encrypted",
            "encryption_secret_uuid", "encryption_format", "encryption_options",
        ] {
            fields[key] = .null
        }
        fields["source_type"] = .string("snapshot")
        fields["destination_type"] = .string("volume")
        fields["snapshot_id"] = .string(snapshotID)
        fields["volume_size"] = .integer(size)
        fields["boot_index"] = device.bootIndex.map { .integer($0) } ?? .null
        fields["device_name"] = .string(device.device)
        fields["delete_on_termination"] = .bool(device.deleteOnTermination)
        fields["device_type"] = .string("disk")
        fields["disk_bus"] = .string("virtio")
        return .object(fields)
    }

    static func jsonText(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "[]"
    }

    // MARK: Booting a snapshot image

    /// An image property that is a yes/no (`bdm_v2`, `hw_qemu_guest_agent`), read as Nova's
    /// `bool_from_string` reads it: `true`, `1` or `yes`, in any case; anything else is no.
    static func isTrue(_ property: String?) -> Bool {
        ["true", "1", "yes"].contains(property?.lowercased() ?? "")
    }

    /// The volumes an image asks for (`block_device_mapping` with `bdm_v2`), as Nova reads
    /// them at create: each that makes or uses a volume, `no_device` entries skipped.
    static func imageBlockDevices(_ image: ComputeImage) throws -> [BlockDeviceRequest] {
        guard let text = image.properties["block_device_mapping"],
            Self.isTrue(image.properties["bdm_v2"])
        else { return [] }
        guard case .array(let entries) = JSONValue.decode(text: text) else {
            throw UpdraftError.badRequest("Block Device Mapping is Invalid: image \(image.id) has an unreadable mapping.")
        }
        return entries.compactMap { entry -> BlockDeviceRequest? in
            guard case .object(let fields) = entry else { return nil }
            func string(_ key: String) -> String? {
                if case .string(let value)? = fields[key] { return value }
                return nil
            }
            func integer(_ key: String) -> Int? {
                if case .string(let value)? = fields[key] { return Int(value) }
                return fields[key]?.exactInteger
            }
            if case .bool(true)? = fields["no_device"] { return nil }
            guard string("destination_type") ?? "volume" == "volume" else { return nil }
            let source = string("source_type") ?? (string("snapshot_id") != nil ? "snapshot" : "volume")
            let uuid: String? =
                switch source {
                case "snapshot": string("snapshot_id")
                case "volume": string("volume_id")
                case "image": string("image_id")
                default: nil
                }
            let deleteOnTermination: Bool =
                switch fields["delete_on_termination"] {
                case .bool(let value)?: value
                case .string(let value)?: ["true", "1", "yes"].contains(value.lowercased())
                default: false
                }
            return BlockDeviceRequest(
                sourceType: source, uuid: uuid, bootIndex: integer("boot_index"), volumeSize: integer("volume_size"),
                deleteOnTermination: deleteOnTermination, tag: string("tag"), deviceName: string("device_name"))
        }
    }

    /// Nova's `_merge_bdms_lists`: the request's mappings win over the image's of the same
    /// device; when the image has a root, the image-to-volume root the client adds goes.
    static func merge(image: [BlockDeviceRequest], requested: [BlockDeviceRequest]) -> [BlockDeviceRequest] {
        guard !image.isEmpty else { return requested }
        var requested = requested
        if image.contains(where: { $0.bootIndex == 0 }) {
            requested.removeAll { $0.bootIndex == 0 && $0.sourceType == "image" }
        }
        let names = Set(requested.compactMap(\.deviceName))
        return requested + image.filter { $0.deviceName.map { !names.contains($0) } ?? true }
    }

    // MARK: Rebuild

    /// Nova before 2.93 rebuilds a volume-backed server only with the image its root volume
    /// was made from (the root volume is kept); any other is a 400.
    func checkVolumeBackedRebuild(_ instance: Instance, root: BlockDeviceMapping, imageID: String) async throws {
        guard let volumes, let volumeID = root.volumeID else { return }
        let origin = try await volumes.details(volume: volumeID).imageMetadata["image_id"]
        guard origin == imageID else {
            throw UpdraftError.badRequest(
                "Image \(imageID) is unacceptable: Unable to rebuild with a different image for a volume-backed server.")
        }
    }

    // MARK: Shelve

    /// Shelves a volume-backed server as Nova does: no image, the guest stopped and removed from
    /// its host at once (SHELVED_OFFLOADED); its volumes stay attached to it in block storage.
    /// Run again after a restart, it goes on from where it stopped.
    func shelveVolumeBacked(_ instance: Instance) async throws {
        if let host = instance.host, let driver = drivers[host] {
            if (try await driver.powerStates())[instance.id] != nil {
                if instance.vmState != .stopped { try await driver.powerOff(instance.id, grace: configuration.shutdownGrace) }
                try await mutate(instance.id) { i in i.taskState = .shelvingOffloading }
                try await driver.destroy(instance.id)
            }
        }
        try await mutate(instance.id) { i in i.host = nil }
        try await settle(instance.id, vm: .shelvedOffloaded, power: .shutdown)
    }

    /// Asks block storage again where each attached volume of a server is, for the host it
    /// was just placed on (an unshelve), and records it.
    func reconnectVolumes(_ instance: Instance) async throws {
        guard let volumes else { return }
        let mappings = try await database.read { db in
            try await Self.mappings(where: "instance_id = \(bind: instance.id)", db)
        }
        for mapping in mappings where mapping.status == .attached {
            guard let attachment = mapping.attachmentID else { continue }
            var disk = try await volumes.connect(attachment: attachment, host: instance.host ?? "")
            disk.bootIndex = mapping.bootIndex
            let connected = disk
            try await database.write { db in try await Self.setMapping(mapping.id, status: .attached, disk: connected, db) }
        }
    }

    // MARK: After a restart

    /// A shelve or unshelve a restart interrupted is carried on: a shelve of a volume-backed
    /// server ends offloaded; an unshelve whose guest runs is ACTIVE, else it is run again from
    /// the shelf. True when it handled the instance.
    func recoverShelving(_ instance: Instance, seen: PowerState?) async throws -> Bool {
        switch (instance.vmState, instance.taskState) {
        case (_, .shelving?), (_, .shelvingOffloading?), (_, .shelvingImageUploading?):
            guard try await rootVolume(of: instance.id) != nil else { return false }
            try await mutate(instance.id) { i in i.taskState = .shelving }
            enqueue(.operate(instance.id, .shelve, Parameters()))
            return true
        case (.shelvedOffloaded, .unshelving?), (.shelved, .unshelving?):
            if seen == .running {
                let shelved = instance.shelvedImageID
                try await mutate(instance.id) { i in i.shelvedImageID = nil }
                try await settle(instance.id, vm: .active, power: .running)
                await finish(instance.id, error: nil)
                if let shelved { await images.deleteImage(shelved) }
            } else {
                if instance.vmState == .shelvedOffloaded, let host = instance.host, let driver = drivers[host] {
                    try? await driver.destroy(instance.id)
                    try await mutate(instance.id) { i in i.host = nil }
                }
                enqueue(.operate(instance.id, .unshelve, Parameters()))
            }
            return true
        default:
            return false
        }
    }
}
