import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Volumes on servers (`os-volume_attachments`): a volume is reserved at the API, plugged
/// by a job under the instance's lock (hot into a running guest), and its mapping kept in
/// `block_device_mappings` with where its bytes are, so every later boot plugs it again.
extension ComputeService {
    /// Work on one mapping, after the API answered.
    enum VolumeJob: Sendable {
        case attach(String)
        case detach(String)
    }

    func requireVolumes() throws -> any ComputeVolumes {
        guard let volumes else { throw UpdraftError(.unsupported, "This cloud has no block storage service.") }
        return volumes
    }

    // MARK: Mappings

    static func mapping(_ row: any SQLRow) throws -> BlockDeviceMapping {
        let connection = try row.optionalString("connection")
        return BlockDeviceMapping(
            id: try row.string("id"), instanceID: try row.string("instance_id"),
            volumeID: try row.optionalString("volume_id"), attachmentID: try row.optionalString("attachment_id"),
            device: try row.string("device"),
            bootIndex: try row.decodeNil(column: "boot_index") ? nil : try row.int("boot_index"),
            tag: try row.optionalString("tag"), deleteOnTermination: try row.bool("delete_on_termination"),
            status: BlockDeviceMapping.Status(rawValue: try row.string("status")) ?? .attaching,
            disk: try connection.map { try JSONDecoder().decode(VolumeDisk.self, from: Data($0.utf8)) },
            sourceType: try row.string("source_type"), sourceID: try row.optionalString("source_id"),
            volumeSize: try row.decodeNil(column: "volume_size") ? nil : try row.int("volume_size"))
    }

    static func mappings(where condition: SQLQueryString, _ db: any SQLDatabase) async throws -> [BlockDeviceMapping] {
        try await db.raw(
            """
            SELECT id, instance_id, volume_id, attachment_id, device, boot_index, tag, delete_on_termination, status,
              connection, source_type, source_id, volume_size
            FROM block_device_mappings WHERE \(condition) ORDER BY created_at, id
            """
        ).all().map(mapping)
    }

    /// The volumes of each server, for server bodies (`os-extended-volumes:volumes_attached`).
    public func volumeMappings(of servers: [Instance]) async throws -> [String: [BlockDeviceMapping]] {
        guard volumes != nil, !servers.isEmpty else { return [:] }
        let ids = servers.map(\.id)
        let found = try await database.read { db in
            if ids.count <= 500 { return try await Self.mappings(where: "instance_id IN (\(binds: ids))", db) }
            let wanted = Set(ids)
            return try await Self.mappings(where: "1 = 1", db).filter { wanted.contains($0.instanceID) }
        }
        return Dictionary(grouping: found, by: \.instanceID)
    }

    /// Serves `GET /servers/{id}/os-volume_attachments`.
    public func volumeAttachments(_ serverID: String, caller: AuthContext) async throws -> [BlockDeviceMapping] {
        let instance = try await server(serverID, caller: caller)
        return try await volumeMappings(of: [instance])[serverID] ?? []
    }

    // MARK: Attach and detach

    /// Nova attaches and detaches volumes on running, paused, stopped and shelved servers.
    func checkVolumeState(_ instance: Instance, _ action: String) throws {
        guard [.active, .paused, .stopped, .shelved, .shelvedOffloaded].contains(instance.vmState),
            instance.taskState == nil
        else {
            throw UpdraftError.conflict(
                "Cannot '\(action)' instance \(instance.id) while it is in vm_state \(instance.vmState.rawValue)")
        }
    }

    /// The device name Nova reports for the next volume: after the root disk (`vda`), the
    /// config drive and the volumes already there. `requested` is kept when it is free.
    static func deviceName(requested: String?, taken: [String], configDrive: Bool) -> String {
        var used: Set<String> = ["vda"]
        if configDrive { used.insert("vdb") }
        for device in taken { used.insert(String(device.split(separator: "/").last ?? "")) }
        if let requested, requested.hasPrefix("/dev/vd"), requested.count == 8, !used.contains(String(requested.dropFirst(5))) {
            return requested
        }
        for letter in "bcdefghijklmnopqrstuvwxyz" where !used.contains("vd\(letter)") { return "/dev/vd\(letter)" }
        return "/dev/vdz"
    }

    /// Serves `POST /servers/{id}/os-volume_attachments`: reserves the volume, records the
    /// mapping and answers; a job plugs it (hot into a running guest) and marks it in-use.
    public func attachVolume(
        _ serverID: String, volumeID: String, device: String?, tag: String?, deleteOnTermination: Bool,
        caller: AuthContext, requestID: String
    ) async throws -> BlockDeviceMapping {
        let volumes = try requireVolumes()
        let instance = try await server(serverID, caller: caller)
        try Policy.authorize(caller, .projectMember(instance.projectID))
        try checkLock(instance, caller: caller)
        try checkVolumeState(instance, "attach_volume")
        let current = try await database.read { db in try await Self.mappings(where: "instance_id = \(bind: serverID)", db) }
        if current.contains(where: { $0.volumeID == volumeID }) {
            throw UpdraftError.badRequest("Invalid volume: volume \(volumeID) is already attached to server \(serverID).")
        }
        let attachmentID: String
        do {
            attachmentID = try await volumes.reserve(volume: volumeID, instance: serverID, caller: caller)
        } catch let error as UpdraftError where error.code == .notFound {
            throw UpdraftError.notFound("Volume \(volumeID) could not be found.")
        }
        let mapping = BlockDeviceMapping(
            id: UUID().uuidString.lowercased(), instanceID: serverID, volumeID: volumeID, attachmentID: attachmentID,
            device: Self.deviceName(
                requested: device, taken: current.map(\.device), configDrive: instance.configDrive || networks == nil),
            bootIndex: nil, tag: tag, deleteOnTermination: deleteOnTermination, status: .attaching, disk: nil)
        do {
            try await database.write { db in
                try await Self.insert(mapping, db)
                try await self.repository.startAction(
                    "attach_volume", instance: instance, requestID: requestID, userID: caller.userID,
                    projectID: instance.projectID, db)
            }
        } catch {
            try? await volumes.release(attachment: attachmentID)
            throw error
        }
        enqueue(.volume(serverID, .attach(mapping.id)))
        return mapping
    }

    static func insert(_ mapping: BlockDeviceMapping, _ db: any SQLDatabase) async throws {
        let connection = try mapping.disk.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        try await db.raw(
            """
            INSERT INTO block_device_mappings (id, instance_id, volume_id, attachment_id, device, boot_index, tag,
              delete_on_termination, status, connection, source_type, source_id, volume_size, created_at)
            VALUES (\(bind: mapping.id), \(bind: mapping.instanceID), \(bind: mapping.volumeID),
              \(bind: mapping.attachmentID), \(bind: mapping.device), \(bind: mapping.bootIndex), \(bind: mapping.tag),
              \(bind: mapping.deleteOnTermination), \(bind: mapping.status.rawValue), \(bind: connection),
              \(bind: mapping.sourceType), \(bind: mapping.sourceID), \(bind: mapping.volumeSize),
              \(bind: Date.now.timeIntervalSince1970))
            """
        ).run()
    }

    static func setMapping(
        _ id: String, status: BlockDeviceMapping.Status, disk: VolumeDisk? = nil, _ db: any SQLDatabase
    ) async throws {
        if let disk {
            let connection = String(decoding: try JSONEncoder().encode(disk), as: UTF8.self)
            try await db.raw(
                """
                UPDATE block_device_mappings SET status = \(bind: status.rawValue), connection = \(bind: connection)
                WHERE id = \(bind: id)
                """
            ).run()
        } else {
            try await db.raw("UPDATE block_device_mappings SET status = \(bind: status.rawValue) WHERE id = \(bind: id)")
                .run()
        }
    }

    /// Serves `DELETE /servers/{id}/os-volume_attachments/{volume}`: the volume is
    /// `detaching` at once; a job unplugs it (waiting for a running guest to let go) and
    /// releases it. The root volume of a server booted from volume cannot be detached.
    public func detachVolume(_ serverID: String, volumeID: String, caller: AuthContext, requestID: String) async throws {
        let volumes = try requireVolumes()
        let instance = try await server(serverID, caller: caller)
        try Policy.authorize(caller, .projectMember(instance.projectID))
        try checkLock(instance, caller: caller)
        try checkVolumeState(instance, "detach_volume")
        let mapping = try await database.read { db in
            try await Self.mappings(
                where: "instance_id = \(bind: serverID) AND volume_id = \(bind: volumeID)", db
            ).first
        }
        guard let mapping else {
            throw UpdraftError.notFound("volume_id not found: \(volumeID)")
        }
        guard mapping.bootIndex != 0 else {
            throw UpdraftError.badRequest("Can't detach root device volume")
        }
        guard mapping.status == .attached else {
            throw UpdraftError.conflict(
                "Volume \(volumeID) is \(mapping.status.rawValue) on server \(serverID); try again later.")
        }
        try await volumes.beginDetaching(volume: volumeID, caller: caller)
        try await database.write { db in
            try await Self.setMapping(mapping.id, status: .detaching, db)
            try await self.repository.startAction(
                "detach_volume", instance: instance, requestID: requestID, userID: caller.userID,
                projectID: instance.projectID, db)
        }
        enqueue(.volume(serverID, .detach(mapping.id)))
    }

    /// Runs a volume job; the caller holds the instance's lock.
    func runVolumeJob(_ instanceID: String, _ job: VolumeJob) async {
        switch job {
        case .attach(let id): await finishAttach(instanceID, mapping: id)
        case .detach(let id): await finishDetach(instanceID, mapping: id)
        }
    }

    func finishAttach(_ instanceID: String, mapping id: String) async {
        guard let volumes,
            let mapping = try? await database.read({ db in try await Self.mappings(where: "id = \(bind: id)", db).first }),
            mapping.status == .attaching, let attachmentID = mapping.attachmentID, let volumeID = mapping.volumeID,
            let instance = try? await database.read({ db in try await self.repository.find(instanceID, db) })
        else { return }
        do {
            var connected = try await volumes.connect(attachment: attachmentID, host: instance.host ?? "")
            connected.bootIndex = mapping.bootIndex
            let disk = connected
            try await database.write { db in try await Self.setMapping(id, status: .attaching, disk: disk, db) }
            if let host = instance.host, let driver = drivers[host] {
                try await driver.attachVolume(instanceID, disk)
            }
            try await volumes.complete(attachment: attachmentID, device: mapping.device)
            try await database.write { db in try await Self.setMapping(id, status: .attached, db) }
            await finish(instanceID, error: nil)
        } catch {
            logger.error(
                "volume attach failed",
                metadata: ["instance": "\(instanceID)", "volume": "\(volumeID)", "error": "\(error)"])
            if let host = instance.host, let driver = drivers[host] {
                try? await driver.detachVolume(instanceID, volumeID: volumeID)
            }
            try? await volumes.release(attachment: attachmentID)
            try? await database.write { db in
                try await db.raw("DELETE FROM block_device_mappings WHERE id = \(bind: id)").run()
            }
            await finish(instanceID, error: Self.describe(error))
        }
    }

    func finishDetach(_ instanceID: String, mapping id: String) async {
        guard let volumes,
            let mapping = try? await database.read({ db in try await Self.mappings(where: "id = \(bind: id)", db).first }),
            mapping.status == .detaching, let attachmentID = mapping.attachmentID, let volumeID = mapping.volumeID,
            let instance = try? await database.read({ db in try await self.repository.find(instanceID, db) })
        else { return }
        do {
            if let host = instance.host, let driver = drivers[host] {
                try await driver.detachVolume(instanceID, volumeID: volumeID)
            }
            try await volumes.release(attachment: attachmentID)
            try await database.write { db in
                try await db.raw("DELETE FROM block_device_mappings WHERE id = \(bind: id)").run()
            }
            await finish(instanceID, error: nil)
        } catch {
            logger.error(
                "volume detach failed",
                metadata: ["instance": "\(instanceID)", "volume": "\(volumeID)", "error": "\(error)"])
            try? await volumes.rollDetaching(volume: volumeID)
            try? await database.write { db in try await Self.setMapping(id, status: .attached, db) }
            await finish(instanceID, error: Self.describe(error))
        }
    }

    /// The volumes the hypervisor plugs into `instance` at boot.
    func volumeDisks(of instanceID: String) async throws -> [VolumeDisk] {
        guard volumes != nil else { return [] }
        return try await database.read { db in
            try await Self.mappings(where: "instance_id = \(bind: instanceID)", db).compactMap(\.disk)
        }
    }

    /// After a server is gone from its host: its volumes are released, and deleted when it asked.
    func releaseVolumes(of instanceID: String) async {
        guard let volumes,
            let mappings = try? await database.read({ db in
                try await Self.mappings(where: "instance_id = \(bind: instanceID)", db)
            })
        else { return }
        for mapping in mappings {
            do {
                if let attachment = mapping.attachmentID { try await volumes.release(attachment: attachment) }
                if mapping.deleteOnTermination, let volume = mapping.volumeID { try await volumes.delete(volume: volume) }
            } catch {
                logger.error(
                    "could not release a deleted server's volume",
                    metadata: ["instance": "\(instanceID)", "volume": "\(mapping.volumeID ?? "-")", "error": "\(error)"])
            }
            try? await database.write { db in
                try await db.raw("DELETE FROM block_device_mappings WHERE id = \(bind: mapping.id)").run()
            }
        }
    }

    /// Finishes attaches and detaches a restart interrupted (each ends attached or released,
    /// never left attaching), and releases reservations block storage holds for no mapping.
    func recoverVolumes() async throws {
        guard let volumes else { return }
        let mappings = try await database.read { db in try await Self.mappings(where: "1 = 1", db) }
        for mapping in mappings {
            switch mapping.status {
            case .attaching: enqueue(.volume(mapping.instanceID, .attach(mapping.id)))
            case .detaching: enqueue(.volume(mapping.instanceID, .detach(mapping.id)))
            case .attached, .requested: break
            }
        }
        let known = Set(mappings.compactMap(\.attachmentID))
        for unfinished in try await volumes.unfinishedAttachments() where !known.contains(unfinished.attachment) {
            logger.notice(
                "releasing a volume reservation no server holds",
                metadata: ["volume": "\(unfinished.volume)", "attachment": "\(unfinished.attachment)"])
            try? await volumes.release(attachment: unfinished.attachment)
        }
    }

    // MARK: For block storage

    /// Grows an attached volume inside its running guest; false when no running guest holds it.
    /// As Nova does on Cinder's `volume-extended` event, the server gets an `extend_volume`
    /// action whose `compute_extend_volume` event ends with the result (tempest waits for it).
    public func extendAttachedVolume(_ volumeID: String, instance instanceID: String, sizeBytes: Int64) async throws -> Bool {
        try await locks.withLock(instanceID) {
            guard let instance = try await database.read({ db in try await self.repository.find(instanceID, db) }),
                let host = instance.host, let driver = drivers[host]
            else { return false }
            _ = try await database.write { db in
                try await self.repository.startAction(
                    "extend_volume", instance: instance, requestID: "req-" + UUID().uuidString.lowercased(),
                    userID: instance.userID, projectID: instance.projectID, db)
            }
            do {
                let grown = try await driver.resizeVolume(instanceID, volumeID: volumeID, sizeBytes: sizeBytes)
                try await database.write { db in try await self.repository.finishAction(instanceID: instanceID, error: nil, db) }
                return grown
            } catch {
                try? await database.write { db in
                    try await self.repository.finishAction(instanceID: instanceID, error: "\(error)", db)
                }
                throw error
            }
        }
    }

    /// A crash-consistent copy of an attached volume made by its running guest's hypervisor;
    /// false when no running guest holds it.
    public func snapshotAttachedVolume(_ volumeID: String, instance instanceID: String, to path: String) async throws
        -> Bool
    {
        try await locks.withLock(instanceID) {
            guard let instance = try await database.read({ db in try await self.repository.find(instanceID, db) }),
                let host = instance.host, let driver = drivers[host]
            else { return false }
            return try await driver.snapshotVolume(instanceID, volumeID: volumeID, to: path)
        }
    }
}
