import Foundation
import UpdraftCore

/// Idle shelving, a project's choice (never without it): a project whose properties set
/// `idle_shelve_hours` (N) has each ACTIVE instance whose guest used less than
/// `idle_cpu_percent` (default 5) percent of its vCPUs over the last N hours shelved, to stop
/// its burn, with a ledger entry on its allocation and a notice.
extension AccountingService {
    static let idleHoursProperty = "idle_shelve_hours"
    static let idlePercentProperty = "idle_cpu_percent"

    func shelveIdle(_ holdings: any ProjectHoldings) async throws {
        guard let directory else { return }
        let now = clock.now
        var live: Set<String> = []
        for (projectID, properties) in try await directory.projectProperties() {
            guard let hours = properties[Self.idleHoursProperty].flatMap(Double.init), hours > 0 else { continue }
            let percent = properties[Self.idlePercentProperty].flatMap(Double.init) ?? 5
            for resource in [ResourceClass.cpu, .largeMemory, .gpu] {
                for id in try await holdings.instances(projectID: projectID, resource: resource, burningOnly: true) {
                    guard let usage = try await holdings.cpuUsage(instanceID: id) else { continue }
                    live.insert(id)
                    let idled = idle.withLock {
                        $0.record(
                            id, at: now, seconds: usage.seconds, vcpus: usage.vcpus, window: hours * 3600, threshold: percent)
                    }
                    guard idled else { continue }
                    do {
                        try await holdings.shelve(instanceID: id)
                    } catch {
                        logger.warning(
                            "could not shelve an idle instance", metadata: ["instance": "\(id)", "error": "\(error)"])
                        continue
                    }
                    idle.withLock { $0.forget(id) }
                    live.remove(id)
                    try await recordIdle(
                        projectID: projectID, resource: resource,
                        message: "Instance \(id) used under \(Statement.figure(percent, decimals: 1))% of its vCPUs for "
                            + "\(Statement.figure(hours, decimals: 1)) hours and was shelved to save SUs; unshelve it "
                            + "when you need it.")
                }
            }
        }
        idle.withLock { $0.keep(only: live) }
    }

    private func recordIdle(projectID: String, resource: ResourceClass, message: String) async throws {
        let allocation = try await allocations(projectID: projectID).first { $0.resource == resource }
        let now = clock.now
        try await database.write { db in
            if let allocation {
                try await Self.record(
                    AllocationEntry(
                        allocationID: allocation.id, projectID: projectID, at: now, kind: .idleShelved, sus: nil, end: nil,
                        userID: nil, note: message), db)
            }
            try await Self.notify(
                projectID: projectID, allocationID: allocation?.id ?? "", kind: AllocationEntry.Kind.idleShelved.rawValue,
                message: message, at: now, db)
        }
        logger.notice("idle instance shelved", metadata: ["project_id": "\(projectID)"])
    }
}
