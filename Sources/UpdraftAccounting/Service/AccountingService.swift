import Foundation
import Logging
import SQLKit
import Synchronization
import UpdraftCore
import UpdraftDatabase

/// Allocations, their ledger entries and the figures derived from compute's state history:
/// balances, burn rates, run-out forecasts, usage. Knows nothing of HTTP. Charges are never
/// stored; the same history and the same clock always give the same SUs, so a restart (even
/// after kill -9) changes no number.
public final class AccountingService: Sendable {
    public struct Configuration: Sendable {
        /// SUs per hour by resource class and state (Jetstream2's by default).
        public var rates = SURates.jetstream2
        /// Refuse instances of projects that hold no allocation at all (off: such projects,
        /// the admin's and services', are not metered).
        public var requireAllocation = false
        /// How long after an allocation became unusable (exhausted or expired) its instances
        /// are shelved, and its instances and its project's storage deleted.
        public var shelveAfter: TimeInterval = 10 * 86_400
        public var deleteAfter: TimeInterval = 30 * 86_400
        /// How often the lifecycle looks (real time).
        public var lifecycleInterval: Duration = .seconds(60)
        /// What a first-time user's personal project gets; nil when the cloud offers no trials.
        public var trial: Trial?

        public init() {}
    }

    public let configuration: Configuration
    let database: Database
    public let clock: any WallClock
    let logger: Logger
    private let sourceBox = Mutex<(any UsageSource)?>(nil)
    private let holdingsBox = Mutex<(any ProjectHoldings)?>(nil)
    private let directoryBox = Mutex<(any ProjectDirectory)?>(nil)
    private let noticeSinkBox = Mutex<(any NoticeSink)?>(nil)
    /// CPU samples of the instances of projects that opted in to idle shelving.
    let idle = Mutex(IdleTracker())
    /// One lifecycle round at a time: the periodic one and one a test clock asks for.
    let rounds = KeyedLocks<String>()

    public init(configuration: Configuration, database: Database, clock: any WallClock, logger: Logger) {
        self.configuration = configuration
        self.database = database
        self.clock = clock
        self.logger = logger
    }

    /// Compute's state history; set once compute is built. Without it nothing is charged.
    public var usageSource: (any UsageSource)? {
        get { sourceBox.withLock { $0 } }
        set { sourceBox.withLock { $0 = newValue } }
    }

    /// What the expiry lifecycle acts through; set once every service is built. Without it
    /// the lifecycle only reports.
    public var holdings: (any ProjectHoldings)? {
        get { holdingsBox.withLock { $0 } }
        set { holdingsBox.withLock { $0 = newValue } }
    }

    /// Identity's projects: their properties (idle shelving is a project's choice) and members
    /// (for the report); set once identity is built.
    public var directory: (any ProjectDirectory)? {
        get { directoryBox.withLock { $0 } }
        set { directoryBox.withLock { $0 = newValue } }
    }

    /// The operator's hook for notices; nil when notices stay in the API.
    public var noticeSink: (any NoticeSink)? {
        get { noticeSinkBox.withLock { $0 } }
        set { noticeSinkBox.withLock { $0 = newValue } }
    }

    /// What an allocation create carries.
    public struct NewAllocation: Sendable {
        public var name: String
        public var projectID: String
        public var resource: ResourceClass
        public var award: Double
        public var start: Date
        public var end: Date
        public var tier: String?
        public var description: String?
        public var flavors: [String]?

        public init(
            name: String, projectID: String, resource: ResourceClass, award: Double, start: Date, end: Date,
            tier: String? = nil, description: String? = nil, flavors: [String]? = nil
        ) {
            self.name = name
            self.projectID = projectID
            self.resource = resource
            self.award = award
            self.start = start
            self.end = end
            self.tier = tier
            self.description = description
            self.flavors = flavors
        }
    }

    // MARK: Allocations

    /// Serves `POST /allocations`: one allocation per project and resource, its award the
    /// first ledger entry.
    public func create(_ new: NewAllocation, userID: String?) async throws -> Statement {
        let name = try Self.checkedName(new.name)
        guard new.award >= 0, new.award.isFinite else {
            throw UpdraftError.badRequest("The award must be a number of at least 0.")
        }
        guard new.end > new.start else { throw UpdraftError.badRequest("The end date must be after the start date.") }
        let now = clock.now
        let allocation = Allocation(
            id: Identifier.make(), name: name, projectID: new.projectID, resource: new.resource, award: new.award,
            start: new.start, end: new.end, tier: new.tier, description: new.description, flavors: new.flavors,
            createdAt: now, updatedAt: now)
        try await database.write { db in
            try await Self.checkNameFree(name, db)
            if try await db.raw(
                "SELECT id FROM allocations WHERE project_id = \(bind: new.projectID) AND resource = \(bind: new.resource.rawValue)"
            ).first() != nil {
                throw UpdraftError.conflict(
                    "Project \(new.projectID) already has a \(new.resource.title) allocation; supplement or extend it.")
            }
            try await db.raw(
                """
                INSERT INTO allocations (id, name, project_id, resource, award, start_at, end_at, tier, description,
                  flavors, created_at, updated_at)
                VALUES (\(bind: allocation.id), \(bind: name), \(bind: allocation.projectID), \(bind: allocation.resource.rawValue),
                  \(bind: allocation.award), \(bind: allocation.start.timeIntervalSince1970),
                  \(bind: allocation.end.timeIntervalSince1970), \(bind: allocation.tier), \(bind: allocation.description),
                  \(bind: Self.flavorList(allocation.flavors)), \(bind: now.timeIntervalSince1970),
                  \(bind: now.timeIntervalSince1970))
                """
            ).run()
            try await Self.record(
                AllocationEntry(
                    allocationID: allocation.id, projectID: allocation.projectID, at: now, kind: .award, sus: allocation.award,
                    end: allocation.end, userID: userID, note: nil), db)
            // Charges inside its dates from before it was made count too.
            try await self.recomputeClosedUse(allocation, db)
        }
        return try await statement(allocation.id)
    }

    /// An allocation name without surrounding blanks, 1 to 255 characters; else a 400.
    static func checkedName(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= 255 else {
            throw UpdraftError.badRequest("An allocation needs a name of 1 to 255 characters.")
        }
        return trimmed
    }

    /// A 409 when another allocation has `name`: names are unique, as facilities issue them.
    static func checkNameFree(_ name: String, _ db: any SQLDatabase) async throws {
        if try await db.raw("SELECT id FROM allocations WHERE name = \(bind: name)").first() != nil {
            throw UpdraftError.conflict("An allocation named \(name) already exists.")
        }
    }

    /// The allocation by id or name, or a 404.
    public func allocation(_ reference: String) async throws -> Allocation {
        try await database.read { db in try await Self.find(reference, db) }
    }

    static func find(_ reference: String, _ db: any SQLDatabase) async throws -> Allocation {
        guard
            let row = try await db.raw(
                "SELECT * FROM allocations WHERE id = \(bind: reference) OR name = \(bind: reference) ORDER BY id LIMIT 1"
            ).first()
        else { throw UpdraftError.notFound("Allocation \(reference) could not be found.") }
        return try allocation(row)
    }

    static func flavorList(_ flavors: [String]?) -> String? {
        flavors.flatMap { try? JSONEncoder().encode($0) }.map { String(decoding: $0, as: UTF8.self) }
    }

    static func allocation(_ row: any SQLRow) throws -> Allocation {
        guard let resource = ResourceClass(rawValue: try row.string("resource")) else {
            throw UpdraftError.internal("allocation row has an unknown resource")
        }
        return Allocation(
            id: try row.string("id"), name: try row.string("name"), projectID: try row.string("project_id"),
            resource: resource, award: try row.double("award"),
            start: Date(timeIntervalSince1970: try row.double("start_at")),
            end: Date(timeIntervalSince1970: try row.double("end_at")), tier: try row.optionalString("tier"),
            description: try row.optionalString("description"),
            flavors: try row.optionalString("flavors").flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) },
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")),
            updatedAt: Date(timeIntervalSince1970: try row.double("updated_at")))
    }

    /// The allocations of `projectID` (every project's when nil), by project, then resource.
    public func allocations(projectID: String?) async throws -> [Allocation] {
        try await database.read { db in
            var sql = SQLQueryString("SELECT * FROM allocations")
            if let projectID { sql += " WHERE project_id = \(bind: projectID)" }
            return try await db.raw(sql).all().map(Self.allocation)
        }.sorted { ($0.projectID, $0.resource) < ($1.projectID, $1.resource) }
    }

    /// Serves `PATCH /allocations/{id}`: its name, tier and description.
    public func update(
        _ reference: String, name: String?, tier: String??, description: String??, flavors: [String]?? = nil
    ) async throws -> Statement {
        let id = try await database.write { db in
            var allocation = try await Self.find(reference, db)
            if let name {
                let trimmed = try Self.checkedName(name)
                if trimmed != allocation.name { try await Self.checkNameFree(trimmed, db) }
                allocation.name = trimmed
            }
            if let tier { allocation.tier = tier }
            if let description { allocation.description = description }
            if let flavors { allocation.flavors = flavors }
            try await db.raw(
                """
                UPDATE allocations SET name = \(bind: allocation.name), tier = \(bind: allocation.tier),
                  description = \(bind: allocation.description), flavors = \(bind: Self.flavorList(allocation.flavors)),
                  updated_at = \(bind: self.clock.now.timeIntervalSince1970)
                WHERE id = \(bind: allocation.id)
                """
            ).run()
            return allocation.id
        }
        return try await statement(id)
    }

    /// Serves `DELETE /allocations/{id}`; its ledger entries stay, with a last one saying so.
    public func delete(_ reference: String, userID: String?) async throws {
        try await database.write { db in
            let allocation = try await Self.find(reference, db)
            try await db.raw("DELETE FROM allocations WHERE id = \(bind: allocation.id)").run()
            try await Self.record(
                AllocationEntry(
                    allocationID: allocation.id, projectID: allocation.projectID, at: self.clock.now, kind: .deletion,
                    sus: nil, end: nil, userID: userID, note: allocation.name), db)
        }
    }

    /// Serves `POST /allocations/{id}/supplement`: adds `sus` to the award.
    public func supplement(_ reference: String, sus: Double, note: String?, userID: String?) async throws -> Statement {
        guard sus > 0, sus.isFinite else { throw UpdraftError.badRequest("A supplement must add more than 0 SUs.") }
        let id = try await database.write { db in
            let allocation = try await Self.find(reference, db)
            try await self.setAward(allocation, allocation.award + sus, db)
            try await Self.record(
                AllocationEntry(
                    allocationID: allocation.id, projectID: allocation.projectID, at: self.clock.now, kind: .supplement,
                    sus: sus, end: nil, userID: userID, note: note), db)
            return allocation.id
        }
        return try await statement(id)
    }

    /// Serves `POST /allocations/{id}/extend`: moves the end date.
    public func extend(_ reference: String, to end: Date, note: String?, userID: String?) async throws -> Statement {
        let id = try await database.write { db in
            var allocation = try await Self.find(reference, db)
            guard end > allocation.start else { throw UpdraftError.badRequest("The end date must be after the start date.") }
            allocation.end = end
            try await db.raw(
                """
                UPDATE allocations SET end_at = \(bind: end.timeIntervalSince1970),
                  updated_at = \(bind: self.clock.now.timeIntervalSince1970) WHERE id = \(bind: allocation.id)
                """
            ).run()
            try await Self.record(
                AllocationEntry(
                    allocationID: allocation.id, projectID: allocation.projectID, at: self.clock.now, kind: .extension,
                    sus: nil, end: end, userID: userID, note: note), db)
            try await self.recomputeClosedUse(allocation, db)
            return allocation.id
        }
        return try await statement(id)
    }

    /// Serves `POST /allocations/{id}/transfer`: moves `sus` of the balance to another
    /// allocation of the same project.
    public func transfer(_ reference: String, to target: String, sus: Double, note: String?, userID: String?) async throws
        -> Statement
    {
        guard sus > 0, sus.isFinite else { throw UpdraftError.badRequest("A transfer must move more than 0 SUs.") }
        let source = try await allocation(reference)
        let destination = try await allocation(target)
        guard source.id != destination.id, source.projectID == destination.projectID else {
            throw UpdraftError.badRequest("SUs move only between two allocations of the same project.")
        }
        guard source.resource != .storage, destination.resource != .storage else {
            throw UpdraftError.badRequest("Storage is a quota in GB, not SUs; it cannot take part in a transfer.")
        }
        let balance = try await statement(source.id).balance
        guard sus <= balance else {
            throw UpdraftError.badRequest(
                "Allocation \(source.name) has \(Statement.figure(max(0, balance), decimals: 1)) SUs left; it cannot give \(Statement.figure(sus, decimals: 1))."
            )
        }
        try await database.write { db in
            let from = try await Self.find(source.id, db)
            let to = try await Self.find(destination.id, db)
            let now = self.clock.now
            try await self.setAward(from, from.award - sus, db)
            try await self.setAward(to, to.award + sus, db)
            try await Self.record(
                AllocationEntry(
                    allocationID: from.id, projectID: from.projectID, at: now, kind: .transferOut, sus: -sus, end: nil,
                    userID: userID, note: note ?? "to \(to.name)"), db)
            try await Self.record(
                AllocationEntry(
                    allocationID: to.id, projectID: to.projectID, at: now, kind: .transferIn, sus: sus, end: nil,
                    userID: userID, note: note ?? "from \(from.name)"), db)
        }
        return try await statement(source.id)
    }

    private func setAward(_ allocation: Allocation, _ award: Double, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            UPDATE allocations SET award = \(bind: award), updated_at = \(bind: clock.now.timeIntervalSince1970)
            WHERE id = \(bind: allocation.id)
            """
        ).run()
    }

    // MARK: Ledger entries

    /// Serves `GET /allocations/{id}/entries`: every change to the allocation, oldest first.
    public func entries(_ reference: String) async throws -> [AllocationEntry] {
        let allocation = try await allocation(reference)
        return try await database.read { db in
            try await db.raw("SELECT * FROM allocation_entries WHERE allocation_id = \(bind: allocation.id) ORDER BY id")
                .all().map(AllocationEntry.init(row:))
        }
    }

    static func record(_ entry: AllocationEntry, _ db: any SQLDatabase) async throws {
        let id = try await db.nextValue("id", of: "allocation_entries")
        try await db.raw(
            """
            INSERT INTO allocation_entries (id, allocation_id, project_id, at, kind, sus, end_at, user_id, note)
            VALUES (\(bind: id), \(bind: entry.allocationID), \(bind: entry.projectID), \(bind: entry.at.timeIntervalSince1970),
              \(bind: entry.kind.rawValue), \(bind: entry.sus), \(bind: entry.end?.timeIntervalSince1970), \(bind: entry.userID),
              \(bind: entry.note))
            """
        ).run()
    }
}

// MARK: Trials

extension AccountingService {
    /// A trial allocation: what a first-time user's personal project gets when the cloud
    /// offers trials (Jetstream2's: 1,000 SUs for 6 months on the two smallest flavors).
    public struct Trial: Sendable {
        public var award: Double = 1000
        public var duration: TimeInterval = 182 * 86_400
        public var flavors = ["m3.tiny", "m3.small"]
        /// Compute, block storage and network quotas of the project, which only an
        /// administrator can change.
        public var computeQuotas = ["instances": 1, "cores": 2, "ram": 6 * 1024]
        public var volumeQuotas = ["volumes": 1, "gigabytes": 10]
        public var networkQuotas = ["floatingip": 2]

        public init() {}
    }

    /// Whether `userID` has had a trial project; one per user, ever.
    public func hasHadTrial(userID: String) async throws -> Bool {
        try await database.read { db in
            try await db.raw("SELECT user_id FROM trial_users WHERE user_id = \(bind: userID)").first() != nil
        }
    }

    /// Gives `projectID` the trial allocation and remembers that `userID` had it.
    public func startTrial(userID: String, projectID: String, name: String, trial: Trial) async throws -> Statement {
        let now = clock.now
        let statement = try await create(
            NewAllocation(
                name: name, projectID: projectID, resource: .cpu, award: trial.award, start: now,
                end: now.addingTimeInterval(trial.duration), tier: "trial", description: "Trial allocation",
                flavors: trial.flavors), userID: nil)
        try await database.write { db in
            try await db.raw(
                """
                INSERT INTO trial_users (user_id, project_id, created_at)
                VALUES (\(bind: userID), \(bind: projectID), \(bind: now.timeIntervalSince1970))
                """
            ).run()
        }
        return statement
    }
}
