import Foundation
import UpdraftCore

/// The figures a facility reports to its funder for a period, as the Jetstream overview gives
/// them ("410 projects, 75 fields of science, 2,400 active users, 1,189 mean and 1,632 peak
/// active VMs, 362M CPU hours").
extension AccountingService {
    public struct Report: Sendable, Equatable {
        public var since: Date
        public var until: Date
        /// Projects that had an instance in the period, and every project identity holds.
        public var activeProjects: Int
        public var projects: Int
        /// Users who owned an instance in the period.
        public var activeUsers: Int
        /// Active projects by their `field_of_science` and `institution` properties.
        public var fieldsOfScience: [String: Int]
        public var institutions: [String: Int]
        /// Instances ACTIVE at once: averaged over the period, and at most.
        public var meanActiveVMs: Double
        public var peakActiveVMs: Int
        /// vCPU-hours instances existed (in any state, as Nova counts them), and SUs charged, by class.
        public var cpuHoursByClass: [ResourceClass: Double]
        public var susByClass: [ResourceClass: Double]
        /// SUs charged inside allocations, by the allocations' tier (`none` without one), and
        /// SUs of projects with no allocation of the class (`unallocated`).
        public var susByTier: [String: Double]
        /// Education and workshop projects (allocation tier `education` or `workshop`) and
        /// how many members each has.
        public var educationProjects: [(id: String, name: String, students: Int)]

        public static func == (a: Report, b: Report) -> Bool {
            a.since == b.since && a.until == b.until && a.activeProjects == b.activeProjects && a.projects == b.projects
                && a.activeUsers == b.activeUsers && a.fieldsOfScience == b.fieldsOfScience
                && a.institutions == b.institutions && a.meanActiveVMs == b.meanActiveVMs
                && a.peakActiveVMs == b.peakActiveVMs && a.cpuHoursByClass == b.cpuHoursByClass
                && a.susByClass == b.susByClass && a.susByTier == b.susByTier
                && a.educationProjects.map(\.id) == b.educationProjects.map(\.id)
        }
    }

    /// The report for `since` to `until` (cut at the clock's now).
    public func report(since: Date, until: Date) async throws -> Report {
        let now = clock.now
        let window = DateInterval(start: since, end: max(since, min(until, now)))
        let histories = try await usageSource?.histories(projectIDs: nil) ?? []
        let projects = try await directory?.projects() ?? []
        let allocations = try await allocations(projectID: nil)
        var activeProjects: Set<String> = []
        var activeUsers: Set<String> = []
        var cpuHours: [ResourceClass: Double] = [:]
        var sus: [ResourceClass: Double] = [:]
        var susByTier: [String: Double] = [:]
        // Instants ACTIVE stretches start (+1) and end (-1), for the mean and the peak.
        var events: [(Date, Int)] = []
        for history in histories {
            let existence = Ledger.existence(of: history.changes, until: now).compactMap { $0.clipped(to: window) }
            guard !existence.isEmpty else { continue }
            activeProjects.insert(history.projectID)
            activeUsers.insert(history.userID)
            for stretch in existence { cpuHours[stretch.resourceClass, default: 0] += stretch.sus }
            let rows = Ledger.ordered(history.changes)
            for (index, row) in rows.enumerated() where row.vmState == "active" {
                let end = index + 1 < rows.count ? min(rows[index + 1].at, now) : now
                let start = max(row.at, window.start)
                let stop = min(end, window.end)
                if start < stop { events += [(start, 1), (stop, -1)] }
            }
            for charge in Ledger.charges(of: history.changes, until: now, rates: configuration.rates) {
                guard let part = charge.clipped(to: window) else { continue }
                sus[part.resourceClass, default: 0] += part.sus
                guard
                    let allocation = allocations.first(where: {
                        $0.projectID == part.projectID && $0.resource == part.resourceClass
                    })
                else {
                    susByTier["unallocated", default: 0] += part.sus
                    continue
                }
                if let inside = part.clipped(to: allocation.window) {
                    susByTier[allocation.tier ?? "none", default: 0] += inside.sus
                }
            }
        }
        events.sort { ($0.0, $0.1) < ($1.0, $1.1) }  // an end before a start at the same instant
        var running = 0
        var peak = 0
        var weighted = 0.0
        for (index, (at, delta)) in events.enumerated() {
            running += delta
            peak = max(peak, running)
            if index + 1 < events.count { weighted += Double(running) * events[index + 1].0.timeIntervalSince(at) }
        }
        var fields: [String: Int] = [:]
        var institutions: [String: Int] = [:]
        for project in projects where activeProjects.contains(project.id) {
            if let field = project.properties["field_of_science"] { fields[field, default: 0] += 1 }
            if let institution = project.properties["institution"] { institutions[institution, default: 0] += 1 }
        }
        let education = Set(
            allocations.filter { ["education", "workshop"].contains($0.tier ?? "") }.map(\.projectID))
        return Report(
            since: window.start, until: window.end, activeProjects: activeProjects.count, projects: projects.count,
            activeUsers: activeUsers.count, fieldsOfScience: fields, institutions: institutions,
            meanActiveVMs: window.duration > 0 ? weighted / window.duration : 0, peakActiveVMs: peak,
            cpuHoursByClass: cpuHours, susByClass: sus, susByTier: susByTier,
            educationProjects: projects.filter { education.contains($0.id) }.map {
                (id: $0.id, name: $0.name, students: $0.members.count)
            })
    }
}
