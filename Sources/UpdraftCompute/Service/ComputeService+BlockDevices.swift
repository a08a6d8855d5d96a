import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// The volumes a create asks for (`block_device_mapping_v2`): recorded at the API, made,
/// reserved and connected by the spawn.
extension ComputeService {
    /// Records the volumes a create asked for on each new server, reserving the existing ones
    /// at once (as Nova's API does) so a volume that cannot be used refuses the create. A
    /// refusal removes the servers again.
    func requestBlockDevices(_ requests: [BlockDeviceRequest], for instances: [Instance], caller: AuthContext)
        async throws
    {
        guard !requests.isEmpty, let volumes else { return }
        // The root first, then the others in the order asked.
        let ordered = requests.filter { $0.bootIndex == 0 } + requests.filter { $0.bootIndex != 0 }
        var reserved: [String] = []
        do {
            for instance in instances {
                var taken: [String] = []
                for request in ordered {
                    var mapping = BlockDeviceMapping(
                        id: UUID().uuidString.lowercased(), instanceID: instance.id, volumeID: nil, attachmentID: nil,
                        device: request.bootIndex == 0
                            ? "/dev/vda"
                            : Self.deviceName(
                                requested: request.deviceName, taken: taken,
                                configDrive: instance.configDrive || networks == nil),
                        bootIndex: request.bootIndex, tag: request.tag,
                        deleteOnTermination: request.deleteOnTermination, status: .requested, disk: nil,
                        sourceType: request.sourceType, sourceID: request.uuid, volumeSize: request.volumeSize)
                    taken.append(mapping.device)
                    if request.sourceType == "volume", let volume = request.uuid {
                        // An unknown volume is refused by the reservation below.
                        if request.bootIndex == 0,
                            (try? await volumes.isBootable(volume: volume, caller: caller)) == false
                        {
                            throw UpdraftError.badRequest(
                                "Block Device Mapping is Invalid: Volume \(volume) is not bootable.")
                        }
                        do {
                            mapping.attachmentID = try await volumes.reserve(
                                volume: volume, instance: instance.id, caller: caller)
                        } catch let error as UpdraftError where error.code == .notFound {
                            throw UpdraftError.badRequest("Block Device Mapping is Invalid: failed to get volume \(volume).")
                        } catch let error as UpdraftError {
                            throw UpdraftError.badRequest("Block Device Mapping is Invalid: \(error.message)")
                        }
                        if let attachment = mapping.attachmentID { reserved.append(attachment) }
                        mapping.volumeID = volume
                        mapping.status = .attaching
                    }
                    let made = mapping
                    try await database.write { db in try await Self.insert(made, db) }
                }
            }
        } catch {
            for attachment in reserved { try? await volumes.release(attachment: attachment) }
            for instance in instances {
                try? await database.write { db in
                    try await db.raw("DELETE FROM block_device_mappings WHERE instance_id = \(bind: instance.id)").run()
                }
                _ = try? await mutate(instance.id) { i in
                    i.vmState = .deleted
                    i.taskState = nil
                    i.terminatedAt = self.now
                }
            }
            throw error
        }
    }

    /// The server's owner as block storage sees the work compute does for it later: its user,
    /// a member of its project.
    static func owner(of instance: Instance) -> AuthContext {
        AuthContext(
            userID: instance.userID, userDomainID: "default", scope: .project(id: instance.projectID, domainID: "default"),
            roles: ["member", "reader"], auditID: "compute")
    }

    /// Makes, reserves and connects the volumes a server asked for, before it boots: each
    /// step is recorded as it is done, so a spawn run again after a restart goes on from where
    /// it stopped and never makes a volume twice.
    func prepareBlockDevices(_ instance: Instance) async throws {
        guard let volumes else { return }
        let mappings = try await database.read { db in
            try await Self.mappings(where: "instance_id = \(bind: instance.id)", db)
        }
        for var mapping in mappings where mapping.status == .requested || mapping.status == .attaching {
            let id = mapping.id
            if mapping.volumeID == nil {
                let volume = try await volumes.createVolume(
                    name: "\(instance.name)-\(mapping.device.split(separator: "/").last ?? "disk")",
                    sizeGB: mapping.volumeSize, imageID: mapping.sourceType == "image" ? mapping.sourceID : nil,
                    snapshotID: mapping.sourceType == "snapshot" ? mapping.sourceID : nil, owner: Self.owner(of: instance))
                mapping.volumeID = volume
                try await database.write { db in
                    try await db.raw(
                        "UPDATE block_device_mappings SET volume_id = \(bind: volume) WHERE id = \(bind: id)"
                    ).run()
                }
            }
            guard let volume = mapping.volumeID else { continue }
            if mapping.attachmentID == nil {
                let attachment = try await volumes.reserve(
                    volume: volume, instance: instance.id, caller: Self.owner(of: instance))
                mapping.attachmentID = attachment
                try await database.write { db in
                    try await db.raw(
                        """
                        UPDATE block_device_mappings SET attachment_id = \(bind: attachment),
                        status = \(bind: BlockDeviceMapping.Status.attaching.rawValue) WHERE id = \(bind: id)
                        """
                    ).run()
                }
            }
            guard let attachment = mapping.attachmentID else { continue }
            var disk = try await volumes.connect(attachment: attachment, host: instance.host ?? "")
            disk.bootIndex = mapping.bootIndex
            try await volumes.complete(attachment: attachment, device: mapping.device)
            let connected = disk
            try await database.write { db in try await Self.setMapping(id, status: .attached, disk: connected, db) }
        }
    }
}
