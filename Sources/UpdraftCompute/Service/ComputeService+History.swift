import Foundation
import SQLKit
import UpdraftAccounting
import UpdraftCore
import UpdraftDatabase

/// The state history accounting charges by, read back for it.
extension ComputeService: UsageSource {
    /// Every instance of `projectIDs` (every project when nil), deleted ones included, with
    /// its history rows in the order they were written.
    public func histories(projectIDs: [String]?) async throws -> [InstanceHistory] {
        try await database.read { db in try await self.histories(projectIDs: projectIDs, db) }
    }

    public func projectsWithInstances(_ db: any SQLDatabase) async throws -> [String] {
        try await db.raw("SELECT DISTINCT project_id FROM instances ORDER BY project_id").all().map {
            try $0.string("project_id")
        }
    }

    public func histories(projectIDs: [String]?, _ db: any SQLDatabase) async throws -> [InstanceHistory] {
        var owners = SQLQueryString("SELECT id, name, project_id, user_id FROM instances")
        var rows = SQLQueryString(
            "SELECT instance_id, project_id, at, seq, vm_state, vcpus, resource_class FROM instance_state_history")
        if let projectIDs {
            guard !projectIDs.isEmpty else { return [] }
            let list = SQLList(projectIDs.map { SQLBind($0) })
            owners += " WHERE project_id IN (\(list))"
            rows += " WHERE project_id IN (\(list))"
        }
        rows += " ORDER BY instance_id, seq, at"
        var histories: [String: InstanceHistory] = [:]
        for row in try await db.raw(owners).all() {
            let id = try row.string("id")
            histories[id] = InstanceHistory(
                instanceID: id, name: try row.string("name"), projectID: try row.string("project_id"),
                userID: try row.string("user_id"), changes: [])
        }
        for row in try await db.raw(rows).all() {
            let change = try InstanceRepository.stateChange(row)
            histories[change.instanceID]?.changes.append(change)
        }
        return histories.values.sorted { $0.instanceID < $1.instanceID }
    }
}

extension ComputeService {
    /// CPU seconds an ACTIVE instance's guest has used, and its vCPUs; nil when it is not
    /// ACTIVE or its host cannot say.
    public func cpuUsage(_ id: String) async throws -> (seconds: Double, vcpus: Int)? {
        let instance = try await database.read { db in try await self.repository.find(id, db) }
        guard let instance, instance.vmState == .active, instance.taskState == nil,
            let seconds = await (try? driver(for: instance))?.cpuSeconds(id)
        else { return nil }
        return (seconds, instance.flavor.vcpus)
    }

    /// The instances of `projectID` whose flavor is of `resource`: every one not deleted, or
    /// with `burningOnly` those in a state that burns SUs and can be shelved.
    public func instanceIDs(projectID: String, resource: ResourceClass, burningOnly: Bool) async throws -> [String] {
        let instances = try await database.read { db in
            try await db.raw(
                "SELECT * FROM instances WHERE project_id = \(bind: projectID) AND deleted = \(bind: false) ORDER BY created_at"
            ).all().map(self.repository.instance)
        }
        let burning: Set<VMState> = [.active, .stopped, .paused, .suspended]
        return instances.filter { instance in
            SURates.resourceClass(extraSpecs: instance.flavor.extraSpecs) == resource
                && (!burningOnly || (burning.contains(instance.vmState) && instance.taskState == nil))
        }.map(\.id)
    }
}
