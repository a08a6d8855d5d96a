import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Balances, burn rates, refusals and usage: derived from compute's history at the clock's now.
extension AccountingService {
    /// The figures of one allocation (by id or name).
    public func statement(_ reference: String) async throws -> Statement {
        let allocation = try await allocation(reference)
        return try await statements(of: [allocation])[0]
    }

    /// The figures of every allocation of `projectID` (every project's when nil).
    public func statements(projectID: String?) async throws -> [Statement] {
        try await statements(of: try await allocations(projectID: projectID))
    }

    /// The figures of `allocations`: each from its running sum of ended stretches and its
    /// project's open stretches up to now. Only an allocation with nothing left reads its
    /// project's history, for the instant it ran out.
    func statements(of allocations: [Allocation]) async throws -> [Statement] {
        guard !allocations.isEmpty else { return [] }
        let now = clock.now
        let projects = Set(allocations.map(\.projectID))
        struct Open {
            var resource: ResourceClass
            var since: Date
            var perHour: Double
        }
        // A storage allocation's figure is the GB its project holds: no running sum to read.
        var closed: [String: Double] = [:]
        var open: [String: [Open]] = [:]
        if allocations.contains(where: { $0.resource != .storage }) {
            (closed, open) = try await database.read { db in
                var closed: [String: Double] = [:]
                var open: [String: [Open]] = [:]
                var sums = SQLQueryString("SELECT id, closed_used FROM allocations")
                var stretches = SQLQueryString("SELECT project_id, resource, since, per_hour FROM ledger_open")
                if projects.count <= 100 {
                    let list = SQLList(projects.sorted().map { SQLBind($0) })
                    sums += " WHERE project_id IN (\(list))"
                    stretches += " WHERE project_id IN (\(list))"
                }
                for row in try await db.raw(sums).all() { closed[try row.string("id")] = try row.double("closed_used") }
                for row in try await db.raw(stretches).all() {
                    guard let resource = ResourceClass(rawValue: try row.string("resource")) else { continue }
                    open[try row.string("project_id"), default: []].append(
                        Open(
                            resource: resource, since: Date(timeIntervalSince1970: try row.double("since")),
                            perHour: try row.double("per_hour")))
                }
                return (closed, open)
            }
        }
        var statements: [Statement] = []
        for allocation in allocations {
            guard allocation.resource != .storage else {
                let used = try await holdings?.storageGigabytes(projectID: allocation.projectID) ?? 0
                statements.append(Statement(allocation: allocation, used: used, burnRate: 0, at: now, exhaustedAt: nil))
                continue
            }
            let mine = (open[allocation.projectID] ?? []).filter { $0.resource == allocation.resource }
            let running = mine.reduce(0.0) { total, stretch in
                let charge = Charge(
                    instanceID: "", projectID: allocation.projectID, resourceClass: stretch.resource, start: stretch.since,
                    end: max(stretch.since, now), perHour: stretch.perHour)
                return total + (charge.clipped(to: allocation.window)?.sus ?? 0)
            }
            let used = (closed[allocation.id] ?? 0) + running
            var exhaustedAt: Date?
            if used >= allocation.award {
                let histories = try await usageSource?.histories(projectIDs: [allocation.projectID]) ?? []
                let charges = histories.flatMap {
                    Ledger.charges(of: $0.changes, until: now, rates: configuration.rates)
                }
                exhaustedAt = Ledger.exhaustedAt(allocation, charges)
            }
            statements.append(
                Statement(
                    allocation: allocation, used: used, burnRate: mine.reduce(0) { $0 + $1.perHour }, at: now,
                    exhaustedAt: exhaustedAt))
        }
        return statements
    }

    /// Asked before an instance of `resource` starts to burn in `projectID`: throws `forbidden`
    /// with the allocation's numbers when it is exhausted, expired or not started. A project
    /// with no allocation at all is not metered unless the cloud requires one.
    public func authorizeBurn(projectID: String, resource: ResourceClass, flavor: String? = nil) async throws {
        let held = try await allocations(projectID: projectID)
        guard let allocation = held.first(where: { $0.resource == resource }) else {
            if held.isEmpty && !configuration.requireAllocation { return }
            throw UpdraftError.forbidden(
                "Project \(projectID) has no \(resource.title) allocation; ask your PI to request one.")
        }
        if let flavor, let allowed = allocation.flavors, !allowed.contains(flavor) {
            throw UpdraftError.forbidden(
                "Allocation \(allocation.name) allows only the flavors \(allowed.joined(separator: ", ")); \(flavor) is not one of them."
            )
        }
        if let refusal = try await statements(of: [allocation])[0].refusal {
            throw UpdraftError.forbidden(refusal)
        }
    }

    /// How usage is grouped.
    public enum Grouping: String, Sendable, CaseIterable {
        case instance, user, day, hour
    }

    /// One line of a usage report: SUs and vCPU-hours of one key on one resource class.
    public struct UsageLine: Sendable, Equatable {
        /// The instance id, user id, day (`2027-01-31`) or hour (`2027-01-31T05:00:00Z`).
        public var key: String
        /// The instance's name, for instance lines.
        public var name: String?
        public var resource: ResourceClass
        public var sus: Double
        /// Hours the instances existed times their vCPUs, in any state: what
        /// `os-simple-tenant-usage` counts as `total_vcpus_usage`.
        public var vcpuHours: Double
    }

    /// Usage of `projectID` inside `window` (up to now), on `resource` only when given,
    /// grouped by `grouping`, in key order.
    public func usage(projectID: String, resource: ResourceClass?, window: DateInterval, by grouping: Grouping)
        async throws -> [UsageLine]
    {
        let now = clock.now
        let window = DateInterval(start: window.start, end: max(window.start, min(window.end, now)))
        let histories = try await usageSource?.histories(projectIDs: [projectID]) ?? []
        struct Key: Hashable {
            var key: String
            var resource: ResourceClass
        }
        var lines: [Key: UsageLine] = [:]
        func add(_ stretch: Charge, _ history: InstanceHistory, sus: Bool) {
            guard resource == nil || stretch.resourceClass == resource, let part = stretch.clipped(to: window) else {
                return
            }
            let pieces: [Charge]
            switch grouping {
            case .instance, .user: pieces = [part]
            case .day: pieces = part.split(every: 86_400)
            case .hour: pieces = part.split(every: 3_600)
            }
            for piece in pieces {
                let key: String
                switch grouping {
                case .instance: key = history.instanceID
                case .user: key = history.userID
                case .day: key = String(Timestamp.iso8601(piece.start).prefix(10))
                case .hour: key = String(Timestamp.iso8601(piece.start).prefix(13)) + ":00:00Z"
                }
                let id = Key(key: key, resource: piece.resourceClass)
                var line =
                    lines[id]
                    ?? UsageLine(
                        key: key, name: grouping == .instance ? history.name : nil, resource: piece.resourceClass, sus: 0,
                        vcpuHours: 0)
                if sus { line.sus += piece.sus } else { line.vcpuHours += piece.sus }
                lines[id] = line
            }
        }
        for history in histories {
            for charge in Ledger.charges(of: history.changes, until: now, rates: configuration.rates) {
                add(charge, history, sus: true)
            }
            for stretch in Ledger.existence(of: history.changes, until: now) { add(stretch, history, sus: false) }
        }
        return lines.values.sorted { ($0.key, $0.resource) < ($1.key, $1.resource) }
    }
}

extension AccountingService: StorageAllowance {
    /// Asked before `projectID` stores `bytes` more: throws `overLimit` (413, as Cinder, Glance
    /// and Swift answer a quota) when they would pass its storage allocation, or when that
    /// allocation is not in its dates. A project without a storage allocation is limited only
    /// by each service's own quotas.
    public func authorizeStorage(projectID: String, adding bytes: Int64) async throws(UpdraftError) {
        let statement: Statement
        do {
            guard let allocation = try await allocations(projectID: projectID).first(where: { $0.resource == .storage })
            else { return }
            statement = try await statements(of: [allocation])[0]
        } catch {
            throw error as? UpdraftError ?? Database.mapError(error)
        }
        if let refusal = statement.storageRefusal(adding: Double(max(0, bytes)) / 1_073_741_824) {
            throw .overLimit(refusal)
        }
    }
}
