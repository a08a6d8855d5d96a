import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// The expiry lifecycle of an exhausted or expired allocation: its members are told at once;
/// after ``Configuration/shelveAfter`` its instances are shelved; after
/// ``Configuration/deleteAfter`` they are deleted, and once every SU allocation of the project
/// is that far gone, its volumes, images and containers too. Each step is a ledger entry and a
/// notice; ``lifecyclePlan()`` says what the next steps will do without doing them.
extension AccountingService {
    /// One step of the lifecycle for one allocation: due when `at` has passed.
    public struct LifecycleStep: Sendable, Equatable {
        public enum Action: String, Sendable {
            case shelve, delete
        }

        public var action: Action
        public var allocation: Allocation
        /// Why: `exhausted` or `expired`.
        public var status: Statement.Status
        /// Since when the allocation cannot be used.
        public var since: Date
        /// When the step is (or was) due.
        public var at: Date
        /// What it acts on.
        public var holdings: Holdings
    }

    /// The next step of every unusable allocation, due or not: the dry run.
    public func lifecyclePlan() async throws -> [LifecycleStep] {
        try await plan(from: try await statements(projectID: nil))
    }

    /// The next steps of the unusable allocations among `statements`.
    private func plan(from statements: [Statement]) async throws -> [LifecycleStep] {
        let now = clock.now
        guard let holdings else { return [] }
        // A project's storage goes only once every SU allocation it holds is past deletion.
        var storageGoes: [String: Bool] = [:]
        for statement in statements where statement.allocation.resource != .storage {
            let gone = statement.unusableSince.map { $0.addingTimeInterval(configuration.deleteAfter) <= now } ?? false
            storageGoes[statement.allocation.projectID] = (storageGoes[statement.allocation.projectID] ?? true) && gone
        }
        var steps: [LifecycleStep] = []
        for statement in statements where statement.allocation.resource != .storage {
            guard let since = statement.unusableSince else { continue }
            let allocation = statement.allocation
            let shelveAt = since.addingTimeInterval(configuration.shelveAfter)
            let deleteAt = since.addingTimeInterval(configuration.deleteAfter)
            let burning = try await holdings.instances(
                projectID: allocation.projectID, resource: allocation.resource, burningOnly: true)
            if now < deleteAt && (now < shelveAt || !burning.isEmpty) {
                steps.append(
                    LifecycleStep(
                        action: .shelve, allocation: allocation, status: statement.status, since: since, at: shelveAt,
                        holdings: Holdings(instances: burning)))
                continue
            }
            var doomed = Holdings(
                instances: try await holdings.instances(
                    projectID: allocation.projectID, resource: allocation.resource, burningOnly: false))
            if storageGoes[allocation.projectID] == true {
                let storage = try await holdings.storage(projectID: allocation.projectID)
                doomed.volumes = storage.volumes
                doomed.images = storage.images
                doomed.containers = storage.containers
            }
            steps.append(
                LifecycleStep(
                    action: .delete, allocation: allocation, status: statement.status, since: since, at: deleteAt,
                    holdings: doomed))
        }
        return steps
    }

    /// One round: tells members of newly unusable allocations, takes every due step, and
    /// forgets the stage of allocations usable again (a supplement or an extension). Returns
    /// the steps taken.
    @discardableResult
    public func enforceLifecycle() async throws -> [LifecycleStep] {
        try await rounds.withLock("lifecycle") {
            try await self.lifecycleRound()
        }
    }

    private func lifecycleRound() async throws -> [LifecycleStep] {
        let now = clock.now
        let stages = try await database.read { db in
            try await db.raw("SELECT id, lifecycle_stage FROM allocations").all().reduce(into: [String: String]()) {
                $0[try $1.string("id")] = try $1.optionalString("lifecycle_stage")
            }
        }
        let statements = try await statements(projectID: nil)
        for statement in statements where statement.allocation.resource != .storage {
            let allocation = statement.allocation
            let stage = stages[allocation.id] ?? nil
            if let since = statement.unusableSince, stage == nil {
                let message =
                    (statement.refusal ?? "Allocation \(allocation.name) cannot be used")
                    + ". Its instances will be shelved on \(Statement.day(since.addingTimeInterval(configuration.shelveAfter)))"
                    + " and deleted on \(Statement.day(since.addingTimeInterval(configuration.deleteAfter)))."
                try await setStage(allocation, "noticed", notice: message, kind: statement.status.rawValue)
            } else if statement.unusableSince == nil, stage != nil {
                try await setStage(allocation, nil, notice: nil, kind: nil)
            }
        }
        guard let holdings else { return [] }
        var taken: [LifecycleStep] = []
        for step in try await plan(from: statements) where step.at <= now && !step.holdings.isEmpty {
            let allocation = step.allocation
            switch step.action {
            case .shelve:
                var shelved: [String] = []
                for id in step.holdings.instances {
                    do {
                        try await holdings.shelve(instanceID: id)
                        shelved.append(id)
                    } catch {
                        logger.warning(
                            "the lifecycle could not shelve an instance",
                            metadata: ["instance": "\(id)", "allocation": "\(allocation.name)", "error": "\(error)"])
                    }
                }
                guard !shelved.isEmpty else { continue }
                let message =
                    "Allocation \(allocation.name) has been \(step.status.rawValue) since \(Statement.day(step.since)): "
                    + "shelved \(Self.count(shelved.count, "instance")) (\(shelved.joined(separator: ", ")))."
                try await record(step, kind: .shelved, stage: "shelved", message: message)
            case .delete:
                let h = await holdings.delete(step.holdings, projectID: allocation.projectID)
                guard !h.isEmpty else { continue }
                let message =
                    "Allocation \(allocation.name) has been \(step.status.rawValue) since \(Statement.day(step.since)): deleted "
                    + [
                        Self.count(h.instances.count, "instance"), Self.count(h.volumes.count, "volume"),
                        Self.count(h.images.count, "image"), Self.count(h.containers.count, "container"),
                    ].joined(separator: ", ") + "."
                try await record(step, kind: .deleted, stage: "deleted", message: message)
            }
            logger.notice(
                "allocation lifecycle step", metadata: ["allocation": "\(allocation.name)", "step": "\(step.action)"])
            taken.append(step)
        }
        try await shelveIdle(holdings)
        try await deliverNotices()
        return taken
    }

    static func count(_ n: Int, _ noun: String) -> String {
        "\(n) \(noun)\(n == 1 ? "" : "s")"
    }

    private func record(_ step: LifecycleStep, kind: AllocationEntry.Kind, stage: String, message: String) async throws {
        let allocation = step.allocation
        try await database.write { db in
            try await Self.record(
                AllocationEntry(
                    allocationID: allocation.id, projectID: allocation.projectID, at: self.clock.now, kind: kind, sus: nil,
                    end: nil, userID: nil, note: message), db)
            try await Self.notify(allocation, kind: kind.rawValue, message: message, at: self.clock.now, db)
            try await db.raw("UPDATE allocations SET lifecycle_stage = \(bind: stage) WHERE id = \(bind: allocation.id)").run()
        }
    }

    private func setStage(_ allocation: Allocation, _ stage: String?, notice: String?, kind: String?) async throws {
        try await database.write { db in
            try await db.raw("UPDATE allocations SET lifecycle_stage = \(bind: stage) WHERE id = \(bind: allocation.id)").run()
            if let notice, let kind {
                try await Self.notify(allocation, kind: kind, message: notice, at: self.clock.now, db)
            }
        }
    }

    static func notify(_ allocation: Allocation, kind: String, message: String, at: Date, _ db: any SQLDatabase)
        async throws
    {
        try await notify(
            projectID: allocation.projectID, allocationID: allocation.id, kind: kind, message: message, at: at, db)
    }

    static func notify(
        projectID: String, allocationID: String, kind: String, message: String, at: Date, _ db: any SQLDatabase
    ) async throws {
        let id = try await db.nextValue("id", of: "accounting_notices")
        try await db.raw(
            """
            INSERT INTO accounting_notices (id, project_id, allocation_id, at, kind, message)
            VALUES (\(bind: id), \(bind: projectID), \(bind: allocationID),
              \(bind: at.timeIntervalSince1970), \(bind: kind), \(bind: message))
            """
        ).run()
    }

    /// Starts the operator's hook after the notices already recorded, the first time a cloud
    /// has one: it is told of what happens from now on. Call once at start.
    public func prepareNoticeDelivery() async throws {
        try await database.write { db in
            guard try await Self.state(.noticesDelivered, db) == nil else { return }
            let newest = try await db.nextValue("id", of: "accounting_notices") - 1
            try await Self.setState(.noticesDelivered, String(newest), db)
        }
    }

    /// Hands the notices recorded since the last round to the operator's hook, oldest first,
    /// remembering the last one delivered (at least once: a crash between the two sends it
    /// again).
    func deliverNotices() async throws {
        guard let sink = noticeSink else { return }
        let last = try await database.read { db in try await Self.state(.noticesDelivered, db) }
        guard let delivered = last.flatMap(Int.init) else { return }
        for notice in try await notices(projectID: nil, after: delivered).reversed() {
            let recipients = try await directory?.memberEmails(projectID: notice.projectID) ?? []
            do {
                try await sink.deliver(notice, recipients: recipients)
            } catch {
                logger.warning(
                    "the notice hook failed; it is tried again next round",
                    metadata: ["notice": "\(notice.id)", "error": "\(error)"])
                return
            }
            try await database.write { db in try await Self.setState(.noticesDelivered, String(notice.id), db) }
        }
    }

    /// A notice for a project's members.
    public struct Notice: Sendable, Equatable {
        public var id: Int
        public var projectID: String
        public var allocationID: String
        public var at: Date
        /// `exhausted`, `expired`, `shelved`, `deleted`.
        public var kind: String
        public var message: String
    }

    /// Serves `GET /notices`: the notices of `projectID` (every project's when nil), newest
    /// first; with `after`, only those recorded after that one.
    public func notices(projectID: String?, after: Int? = nil) async throws -> [Notice] {
        try await database.read { db in
            var sql = SQLQueryString("SELECT * FROM accounting_notices WHERE id > \(bind: after ?? 0)")
            if let projectID { sql += " AND project_id = \(bind: projectID)" }
            sql += " ORDER BY id DESC"
            return try await db.raw(sql).all().map { row in
                Notice(
                    id: try row.int("id"), projectID: try row.string("project_id"),
                    allocationID: try row.string("allocation_id"), at: Date(timeIntervalSince1970: try row.double("at")),
                    kind: try row.string("kind"), message: try row.string("message"))
            }
        }
    }
}
