import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// The running sums behind every balance: an allocation's SUs of ended stretches
/// (`allocations.closed_used`, inside its dates) and each burning instance's open stretch
/// (`ledger_open`). A balance is then one row plus the project's open stretches up to now, not
/// a pass over a year of history. They equal what ``Ledger`` computes from the history, which
/// stays the truth: they are rebuilt from it when the rates change, and an allocation's is
/// recomputed when it is made or its dates move.
extension AccountingService: HistoryObserver {
    /// Closes the instance's previous stretch onto its allocation and opens the new one.
    public func recorded(_ current: StateChange, after previous: StateChange?, _ db: any SQLDatabase) async throws {
        if let previous, previous.at < current.at {
            let perHour = configuration.rates.perHour(
                vmState: previous.vmState, vcpus: previous.vcpus, resourceClass: previous.resourceClass)
            if perHour > 0,
                let row = try await db.raw(
                    """
                    SELECT id, start_at, end_at FROM allocations WHERE project_id = \(bind: previous.projectID)
                      AND resource = \(bind: previous.resourceClass.rawValue)
                    """
                ).first()
            {
                let window = DateInterval(
                    start: Date(timeIntervalSince1970: try row.double("start_at")),
                    end: Date(timeIntervalSince1970: max(try row.double("start_at"), try row.double("end_at"))))
                let stretch = Charge(
                    instanceID: previous.instanceID, projectID: previous.projectID, resourceClass: previous.resourceClass,
                    start: previous.at, end: current.at, perHour: perHour)
                if let part = stretch.clipped(to: window) {
                    try await db.raw(
                        "UPDATE allocations SET closed_used = closed_used + \(bind: part.sus) WHERE id = \(bind: try row.string("id"))"
                    ).run()
                }
            }
        }
        try await open(current, db)
    }

    /// Records `row` as its instance's open stretch, or forgets it when it burns nothing.
    private func open(_ row: StateChange, _ db: any SQLDatabase) async throws {
        let perHour = configuration.rates.perHour(vmState: row.vmState, vcpus: row.vcpus, resourceClass: row.resourceClass)
        guard perHour > 0 else {
            try await db.raw("DELETE FROM ledger_open WHERE instance_id = \(bind: row.instanceID)").run()
            return
        }
        try await db.raw(
            """
            INSERT INTO ledger_open (instance_id, project_id, resource, since, per_hour)
            VALUES (\(bind: row.instanceID), \(bind: row.projectID), \(bind: row.resourceClass.rawValue),
              \(bind: row.at.timeIntervalSince1970), \(bind: perHour))
            ON CONFLICT (instance_id) DO UPDATE SET project_id = excluded.project_id, resource = excluded.resource,
              since = excluded.since, per_hour = excluded.per_hour
            """
        ).run()
    }

    /// The SUs of `histories`' ended stretches that fall on `allocation`: each instance's
    /// charges up to its last row.
    static func closedUse(of allocation: Allocation, _ histories: [InstanceHistory], rates: SURates) -> Double {
        histories.reduce(0) { total, history in
            guard history.projectID == allocation.projectID, let last = Ledger.ordered(history.changes).last else {
                return total
            }
            return total + Ledger.used(by: allocation, Ledger.charges(of: history.changes, until: last.at, rates: rates))
        }
    }

    /// Recomputes one allocation's ended-stretch sum from its project's history, in the
    /// transaction that made it or moved its dates. On PostgreSQL its row is locked first, so
    /// a state change committing meanwhile adds its stretch after, never under, this sum.
    func recomputeClosedUse(_ allocation: Allocation, _ db: any SQLDatabase) async throws {
        if !database.kind.isSQLite {
            try await db.raw("SELECT id FROM allocations WHERE id = \(bind: allocation.id) FOR UPDATE").run()
        }
        let histories = try await usageSource?.histories(projectIDs: [allocation.projectID], db) ?? []
        let closed = Self.closedUse(of: allocation, histories, rates: configuration.rates)
        try await db.raw("UPDATE allocations SET closed_used = \(bind: closed) WHERE id = \(bind: allocation.id)").run()
    }

    /// What the running sums were built with: another value rebuilds them.
    var ledgerFingerprint: String {
        let classes = configuration.rates.classes.sorted { $0.key < $1.key }.map { "\($0.key.rawValue)=\($0.value)" }
        let states = configuration.rates.states.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return "v1;" + (classes + states).joined(separator: ",")
    }

    /// Builds the running sums from the whole history when they were built with other rates
    /// (or never): once per rates change, at start, once compute's history can be read.
    public func prepareRunningSums() async throws {
        let built = try await database.read { db in try await Self.state(.ledger, db) }
        guard built != ledgerFingerprint else { return }
        try await rebuildRunningSums()
        logger.notice("accounting's running sums rebuilt from the state history")
    }

    /// Rebuilds every running sum from the history, in one transaction, reading the history a
    /// few hundred projects at a time so a year of it never sits in memory whole.
    public func rebuildRunningSums() async throws {
        let fingerprint = ledgerFingerprint
        try await database.write { db in
            try await db.raw("DELETE FROM ledger_open").run()
            try await db.raw("UPDATE allocations SET closed_used = 0").run()
            let allocations = Dictionary(
                grouping: try await db.raw("SELECT * FROM allocations").all().map(Self.allocation), by: \.projectID)
            let projects = try await self.usageSource?.projectsWithInstances(db) ?? []
            for start in stride(from: 0, to: projects.count, by: 200) {
                let batch = Array(projects[start..<min(start + 200, projects.count)])
                let histories = try await self.usageSource?.histories(projectIDs: batch, db) ?? []
                for history in histories {
                    if let last = Ledger.ordered(history.changes).last { try await self.open(last, db) }
                }
                let byProject = Dictionary(grouping: histories, by: \.projectID)
                for project in batch {
                    for allocation in allocations[project] ?? [] {
                        let closed = Self.closedUse(
                            of: allocation, byProject[project] ?? [], rates: self.configuration.rates)
                        try await db.raw(
                            "UPDATE allocations SET closed_used = \(bind: closed) WHERE id = \(bind: allocation.id)"
                        ).run()
                    }
                }
            }
            try await Self.setState(.ledger, fingerprint, db)
        }
    }
}
