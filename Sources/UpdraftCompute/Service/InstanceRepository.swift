import Foundation
import SQLKit
import Synchronization
import UpdraftAccounting
import UpdraftCore
import UpdraftDatabase

/// SQL for instances, their actions and their state history. Knows nothing of policy.
/// Each ``ComputeService`` owns one, and with it the cache of decoded flavors.
final class InstanceRepository: Sendable {
    static let encoder = JSONEncoder()
    static let decoder = JSONDecoder()

    static func json(_ value: some Encodable) -> String {
        (try? encoder.encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? "null"
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
        guard let text, let data = text.data(using: .utf8) else { return nil }
        return try? decoder.decode(type, from: data)
    }

    /// Flavors as stored on instances, decoded once per distinct text: a page of servers
    /// holds few flavors, and decoding JSON per row dominated listing.
    private let flavorCache = Mutex<[String: Flavor]>([:])

    let clock: any WallClock
    /// Accounting's running sums, moved in the transaction that writes each history row.
    let historyObserver: (any HistoryObserver)?

    init(clock: any WallClock, historyObserver: (any HistoryObserver)? = nil) {
        self.clock = clock
        self.historyObserver = historyObserver
    }

    func flavor(_ text: String) -> Flavor? {
        if let cached = flavorCache.withLock({ $0[text] }) { return cached }
        guard let flavor = Self.decode(Flavor.self, text) else { return nil }
        flavorCache.withLock { cache in
            if cache.count > 1024 { cache.removeAll() }
            cache[text] = flavor
        }
        return flavor
    }

    static func stringMap(_ text: String) -> [String: String] {
        text == "{}" ? [:] : decode([String: String].self, text) ?? [:]
    }

    static func stringList(_ text: String) -> [String] {
        text == "[]" ? [] : decode([String].self, text) ?? []
    }

    func instance(_ row: any SQLRow) throws -> Instance {
        guard let flavor = self.flavor(try row.string("flavor")) else {
            throw UpdraftError.internal("instance row has no readable flavor")
        }
        var instance = Instance(
            id: try row.string("id"), name: try row.string("name"), projectID: try row.string("project_id"),
            userID: try row.string("user_id"), imageID: try row.string("image_id"), flavor: flavor,
            availabilityZone: try row.string("availability_zone"),
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")))
        instance.oldFlavor = try row.optionalString("old_flavor").flatMap { self.flavor($0) }
        instance.vmState = VMState(rawValue: try row.string("vm_state")) ?? .error
        instance.taskState = try row.optionalString("task_state").flatMap(TaskState.init(rawValue:))
        instance.powerState = PowerState(rawValue: try row.int("power_state")) ?? .noState
        instance.host = try row.optionalString("host")
        instance.keyName = try row.optionalString("key_name")
        instance.keyData = try row.optionalString("key_data")
        instance.userData = try row.optionalString("user_data")
        instance.metadata = Self.stringMap(try row.string("metadata"))
        instance.tags = Self.stringList(try row.string("tags"))
        instance.configDrive = try row.bool("config_drive")
        instance.launchIndex = try row.int("launch_index")
        instance.reservationID = try row.string("reservation_id")
        instance.hostname = try row.string("hostname")
        instance.description = try row.optionalString("description")
        instance.locked = try row.bool("locked")
        instance.lockedReason = try row.optionalString("locked_reason")
        instance.accessIPv4 = try row.string("access_ipv4")
        instance.accessIPv6 = try row.string("access_ipv6")
        instance.progress = try row.int("progress")
        instance.updatedAt = Date(timeIntervalSince1970: try row.double("updated_at"))
        instance.launchedAt = try row.optionalDouble("launched_at").map(Date.init(timeIntervalSince1970:))
        instance.terminatedAt = try row.optionalDouble("terminated_at").map(Date.init(timeIntervalSince1970:))
        instance.fault = Self.decode(Instance.Fault.self, try row.optionalString("fault"))
        instance.shelvedImageID = try row.optionalString("shelved_image_id")
        instance.kernelID = try row.optionalString("kernel_id")
        instance.ramdiskID = try row.optionalString("ramdisk_id")
        instance.sequence = try row.int("seq")
        let nics = try row.string("requested_nics")
        if nics != "[]" { instance.requestedNICs = Self.decode([NICRequest].self, nics) ?? [] }
        instance.securityGroups = Self.stringList(try row.string("security_groups"))
        return instance
    }

    func insert(_ i: Instance, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO instances (id, seq, name, project_id, user_id, image_id, flavor, vcpus, memory_mb, root_gb, vm_state, task_state, power_state,
              host, availability_zone, key_name, key_data, user_data, metadata, tags, config_drive, launch_index,
              reservation_id, hostname, description, created_at, updated_at, kernel_id, ramdisk_id, access_ipv4, access_ipv6,
              requested_nics, security_groups)
            VALUES (\(bind: i.id), \(bind: i.sequence), \(bind: i.name), \(bind: i.projectID), \(bind: i.userID),
              \(bind: i.imageID), \(bind: Self.json(i.flavor)), \(bind: i.flavor.vcpus), \(bind: i.flavor.ram),
              \(bind: i.flavor.disk), \(bind: i.vmState.rawValue), \(bind: i.taskState?.rawValue),
              \(bind: i.powerState.rawValue), \(bind: i.host), \(bind: i.availabilityZone), \(bind: i.keyName),
              \(bind: i.keyData), \(bind: i.userData), \(bind: Self.json(i.metadata)), \(bind: Self.json(i.tags)),
              \(bind: i.configDrive), \(bind: i.launchIndex), \(bind: i.reservationID), \(bind: i.hostname),
              \(bind: i.description), \(bind: i.createdAt.timeIntervalSince1970), \(bind: i.updatedAt.timeIntervalSince1970),
              \(bind: i.kernelID), \(bind: i.ramdiskID), \(bind: i.accessIPv4), \(bind: i.accessIPv6),
              \(bind: Self.json(i.requestedNICs)), \(bind: Self.json(i.securityGroups)))
            """
        ).run()
        try await recordHistory(i, db)
    }

    /// Writes every mutable column of `i`, and a history row when the state changed.
    func update(_ i: Instance, previous: Instance?, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            UPDATE instances SET name = \(bind: i.name), image_id = \(bind: i.imageID), flavor = \(bind: Self.json(i.flavor)),
              vcpus = \(bind: i.flavor.vcpus), memory_mb = \(bind: i.flavor.ram), root_gb = \(bind: i.flavor.disk),
              old_flavor = \(bind: i.oldFlavor.map { Self.json($0) }), vm_state = \(bind: i.vmState.rawValue),
              task_state = \(bind: i.taskState?.rawValue), power_state = \(bind: i.powerState.rawValue), host = \(bind: i.host),
              metadata = \(bind: Self.json(i.metadata)), tags = \(bind: Self.json(i.tags)), hostname = \(bind: i.hostname),
              description = \(bind: i.description), locked = \(bind: i.locked), locked_reason = \(bind: i.lockedReason),
              access_ipv4 = \(bind: i.accessIPv4), access_ipv6 = \(bind: i.accessIPv6), progress = \(bind: i.progress),
              updated_at = \(bind: i.updatedAt.timeIntervalSince1970),
              launched_at = \(bind: i.launchedAt?.timeIntervalSince1970),
              terminated_at = \(bind: i.terminatedAt?.timeIntervalSince1970), fault = \(bind: i.fault.map { Self.json($0) }),
              shelved_image_id = \(bind: i.shelvedImageID), kernel_id = \(bind: i.kernelID), ramdisk_id = \(bind: i.ramdiskID),
              requested_nics = \(bind: Self.json(i.requestedNICs)), security_groups = \(bind: Self.json(i.securityGroups)),
              deleted = \(bind: i.vmState == .deleted)
            WHERE id = \(bind: i.id)
            """
        ).run()
        if let previous,
            previous.vmState == i.vmState && previous.taskState == i.taskState && previous.powerState == i.powerState
                && previous.flavor == i.flavor
        {
            return
        }
        try await recordHistory(i, db)
    }

    /// Writes the row accounting charges by: from now on, `i` is in its state with its flavor.
    /// `seq` orders rows of the same instant (a test clock that stands still writes many). The
    /// history observer sees the row and the one before it in this transaction.
    func recordHistory(_ i: Instance, _ db: any SQLDatabase) async throws {
        let previous = try await db.raw(
            """
            SELECT * FROM instance_state_history WHERE instance_id = \(bind: i.id) ORDER BY seq DESC, at DESC LIMIT 1
            """
        ).first()
        let seq = try (previous?.int("seq") ?? 0) + 1
        let row = StateChange(
            instanceID: i.id, projectID: i.projectID, at: clock.now, vmState: i.vmState.rawValue, vcpus: i.flavor.vcpus,
            resourceClass: SURates.resourceClass(extraSpecs: i.flavor.extraSpecs))
        try await db.raw(
            """
            INSERT INTO instance_state_history (instance_id, project_id, at, seq, vm_state, task_state, power_state, vcpus,
              ram, disk, flavor_name, resource_class)
            VALUES (\(bind: i.id), \(bind: i.projectID), \(bind: row.at.timeIntervalSince1970), \(bind: seq),
              \(bind: row.vmState), \(bind: i.taskState?.rawValue), \(bind: i.powerState.rawValue),
              \(bind: i.flavor.vcpus), \(bind: i.flavor.ram), \(bind: i.flavor.disk), \(bind: i.flavor.name),
              \(bind: row.resourceClass.rawValue))
            """
        ).run()
        try await historyObserver?.recorded(row, after: try previous.map(Self.stateChange), db)
    }

    /// A history row as accounting reads it.
    static func stateChange(_ row: any SQLRow) throws -> StateChange {
        StateChange(
            instanceID: try row.string("instance_id"), projectID: try row.string("project_id"),
            at: Date(timeIntervalSince1970: try row.double("at")), vmState: try row.string("vm_state"),
            vcpus: try row.int("vcpus"), resourceClass: ResourceClass(rawValue: try row.string("resource_class")) ?? .cpu)
    }

    func find(_ id: String, _ db: any SQLDatabase) async throws -> Instance? {
        try await db.raw("SELECT * FROM instances WHERE id = \(bind: id) AND deleted = \(bind: false)").first().map(
            instance)
    }

    // MARK: Instance actions

    @discardableResult
    func startAction(
        _ action: String, instance: Instance, requestID: String, userID: String, projectID: String, _ db: any SQLDatabase
    ) async throws -> Int {
        let id = try await db.nextValue("id", of: "instance_actions")
        let now = clock.now.timeIntervalSince1970
        try await db.raw(
            """
            INSERT INTO instance_actions (id, instance_id, action, request_id, user_id, project_id, start_time, updated_at)
            VALUES (\(bind: id), \(bind: instance.id), \(bind: action), \(bind: requestID), \(bind: userID),
              \(bind: projectID), \(bind: now), \(bind: now))
            """
        ).run()
        try await db.raw(
            """
            INSERT INTO instance_action_events (action_id, event, start_time)
            VALUES (\(bind: id), \(bind: "compute_" + action), \(bind: now))
            """
        ).run()
        return id
    }

    /// Closes the newest open action of an instance with Nova's `Success`/`Error` result.
    func finishAction(instanceID: String, error: String?, _ db: any SQLDatabase) async throws {
        guard
            let row = try await db.raw(
                "SELECT id FROM instance_actions WHERE instance_id = \(bind: instanceID) ORDER BY id DESC LIMIT 1"
            ).first()
        else { return }
        let id = try row.int("id")
        let now = clock.now.timeIntervalSince1970
        try await db.raw(
            """
            UPDATE instance_action_events SET finish_time = \(bind: now), result = \(bind: error == nil ? "Success" : "Error"),
              traceback = \(bind: error) WHERE action_id = \(bind: id) AND finish_time IS NULL
            """
        ).run()
        try await db.raw(
            """
            UPDATE instance_actions SET updated_at = \(bind: now), message = \(bind: error == nil ? nil : "Error")
            WHERE id = \(bind: id)
            """
        ).run()
    }

    func actions(instanceID: String, _ db: any SQLDatabase) async throws -> [InstanceAction] {
        let rows = try await db.raw(
            "SELECT * FROM instance_actions WHERE instance_id = \(bind: instanceID) ORDER BY id DESC"
        ).all()
        var result: [InstanceAction] = []
        for row in rows {
            let id = try row.int("id")
            let events = try await db.raw(
                "SELECT * FROM instance_action_events WHERE action_id = \(bind: id) ORDER BY start_time"
            ).all().map { e in
                InstanceAction.Event(
                    event: try e.string("event"), startTime: Date(timeIntervalSince1970: try e.double("start_time")),
                    finishTime: try e.optionalDouble("finish_time").map(Date.init(timeIntervalSince1970:)),
                    result: try e.optionalString("result"), traceback: try e.optionalString("traceback"))
            }
            result.append(
                InstanceAction(
                    id: id, instanceID: instanceID, action: try row.string("action"),
                    requestID: try row.string("request_id"), userID: try row.string("user_id"),
                    projectID: try row.string("project_id"),
                    startTime: Date(timeIntervalSince1970: try row.double("start_time")),
                    updatedAt: Date(timeIntervalSince1970: try row.double("updated_at")),
                    message: try row.optionalString("message"), events: events))
        }
        return result
    }
}
