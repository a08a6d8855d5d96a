import Foundation
import Logging
import Synchronization
import SQLKit
import Testing
import UpdraftCore
import UpdraftDatabase

@testable import UpdraftAccounting

/// Histories handed in by the test, as compute would.
final class StubHistories: UsageSource {
    let rows = Mutex<[InstanceHistory]>([])

    func histories(projectIDs: [String]?) async throws -> [InstanceHistory] {
        rows.withLock { all in all.filter { projectIDs?.contains($0.projectID) ?? true } }
    }

    func histories(projectIDs: [String]?, _ db: any SQLDatabase) async throws -> [InstanceHistory] {
        try await histories(projectIDs: projectIDs)
    }

    func projectsWithInstances(_ db: any SQLDatabase) async throws -> [String] {
        Array(Set(rows.withLock { $0.map(\.projectID) })).sorted()
    }

    func set(_ id: String, project: String, _ changes: [(Date, String)], vcpus: Int = 2) {
        let history = InstanceHistory(
            instanceID: id, name: id, projectID: project, userID: "u1",
            changes: changes.map {
                StateChange(instanceID: id, projectID: project, at: $0.0, vmState: $0.1, vcpus: vcpus, resourceClass: .cpu)
            })
        rows.withLock { all in
            all.removeAll { $0.instanceID == id }
            all.append(history)
        }
    }
}

/// Records what the lifecycle asked for, and holds a volume, an image and a container.
final class StubHoldings: ProjectHoldings {
    let calls = Mutex<[String]>([])
    let burning = Mutex<[String]>(["i1"])

    func instances(projectID: String, resource: ResourceClass, burningOnly: Bool) async throws -> [String] {
        burningOnly ? burning.withLock { $0 } : ["i1"]
    }

    /// Each instance's guest CPU seconds and vCPUs, as the test sets them.
    let cpu = Mutex<[String: (seconds: Double, vcpus: Int)]>([:])

    func cpuUsage(instanceID: String) async throws -> (seconds: Double, vcpus: Int)? {
        cpu.withLock { $0[instanceID] }
    }

    func storageGigabytes(projectID: String) async throws -> Double { 12.5 }

    func storage(projectID: String) async throws -> Holdings {
        Holdings(volumes: ["v1"], images: ["g1"], containers: ["c1"])
    }

    func shelve(instanceID: String) async throws {
        calls.withLock { $0.append("shelve \(instanceID)") }
        burning.withLock { $0.removeAll { $0 == instanceID } }
    }

    func delete(_ holdings: Holdings, projectID: String) async -> Holdings {
        calls.withLock {
            $0.append("delete \(holdings.instances + holdings.volumes + holdings.images + holdings.containers)")
        }
        return holdings
    }
}

@Suite("Accounting service")
struct AccountingServiceTests {
    static let start = Date(timeIntervalSince1970: 1_798_761_600)  // 2027-01-01T00:00:00Z

    static func hours(_ h: Double) -> Date { start.addingTimeInterval(h * 3600) }

    /// A service on a fresh SQLite file and a test clock at 2027-01-01.
    static func service(_ body: (AccountingService, TestWallClock, StubHistories) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.path + "/acct-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try await Database.open(.sqlite(path: directory + "/db.sqlite"), logger: Logger(label: "test"))
        try await Migrator.apply(AccountingSchema.migrations, to: database)
        let clock = try TestWallClock(file: directory + "/clock", start: start)
        let service = AccountingService(
            configuration: .init(), database: database, clock: clock, logger: Logger(label: "test"))
        let histories = StubHistories()
        service.usageSource = histories
        do {
            try await body(service, clock, histories)
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    static func cpu(_ name: String = "TG-ABC190028", project: String = "p1", award: Double = 10, days: Double = 365)
        -> AccountingService.NewAllocation
    {
        AccountingService.NewAllocation(
            name: name, projectID: project, resource: .cpu, award: award, start: start.addingTimeInterval(-86_400),
            end: start.addingTimeInterval(days * 86_400))
    }

    static func code(_ body: () async throws -> Void) async -> UpdraftError.Code? {
        do {
            try await body()
            return nil
        } catch let error as UpdraftError {
            return error.code
        } catch {
            return .internal
        }
    }

    @Test("an allocation is one per project and resource, its name unique, its dates in order; each refusal changes nothing")
    func creates() async throws {
        try await Self.service { service, _, _ in
            _ = try await service.create(Self.cpu(), userID: "admin")
            #expect(await Self.code { _ = try await service.create(Self.cpu(), userID: nil) } == .conflict)
            #expect(await Self.code { _ = try await service.create(Self.cpu("TG-OTHER"), userID: nil) } == .conflict)
            var backwards = Self.cpu("TG-B", project: "p2")
            backwards.end = backwards.start
            #expect(await Self.code { _ = try await service.create(backwards, userID: nil) } == .badRequest)
            #expect(try await service.allocations(projectID: nil).map(\.name) == ["TG-ABC190028"])
            let entries = try await service.entries("TG-ABC190028")
            #expect(entries.map(\.kind) == [.award] && entries[0].sus == 10 && entries[0].userID == "admin")
        }
    }

    @Test("supplements, extensions and transfers are ledger entries; a transfer past the balance is refused")
    func changes() async throws {
        try await Self.service { service, clock, histories in
            _ = try await service.create(Self.cpu(), userID: nil)
            var gpu = Self.cpu("TG-GPU")
            gpu.resource = .gpu
            _ = try await service.create(gpu, userID: nil)
            #expect(try await service.supplement("TG-ABC190028", sus: 5, note: "renewal", userID: "a").allocation.award == 15)
            let later = Self.start.addingTimeInterval(800 * 86_400)
            #expect(try await service.extend("TG-ABC190028", to: later, note: nil, userID: "a").allocation.end == later)
            histories.set("i1", project: "p1", [(Self.start, "active")])
            try await service.rebuildRunningSums()
            // 2 vCPUs for 5 hours: 10 used, 5 left to give.
            try clock.advance(by: 5 * 3600)
            #expect(
                await Self.code { _ = try await service.transfer("TG-ABC190028", to: "TG-GPU", sus: 6, note: nil, userID: nil) }
                    == .badRequest)
            let source = try await service.transfer("TG-ABC190028", to: "TG-GPU", sus: 4, note: nil, userID: nil)
            #expect(source.allocation.award == 11 && abs(source.balance - 1) < 1e-9)
            #expect(try await service.statement("TG-GPU").allocation.award == 14)
            #expect(try await service.entries("TG-ABC190028").map(\.kind) == [.award, .supplement, .extension, .transferOut])
            #expect(try await service.entries("TG-GPU").map(\.kind) == [.award, .transferIn])
        }
    }

    @Test("a launch on an exhausted, expired or missing allocation is refused with its numbers")
    func refusals() async throws {
        try await Self.service { service, clock, histories in
            // A project with no allocation at all is not metered.
            try await service.authorizeBurn(projectID: "p9", resource: .cpu)
            _ = try await service.create(Self.cpu(days: 2), userID: nil)
            try await service.authorizeBurn(projectID: "p1", resource: .cpu)
            do {
                try await service.authorizeBurn(projectID: "p1", resource: .gpu)
                Issue.record("a GPU launch without a GPU allocation was allowed")
            } catch let error as UpdraftError {
                #expect(error.code == .forbidden && error.message.contains("has no GPU allocation"))
            }
            histories.set("i1", project: "p1", [(Self.start, "active")])
            try await service.rebuildRunningSums()
            try clock.advance(by: 6 * 3600)
            let statement = try await service.statement("TG-ABC190028")
            #expect(statement.status == .exhausted)
            #expect(statement.exhaustedAt == Self.hours(5))
            do {
                try await service.authorizeBurn(projectID: "p1", resource: .cpu)
                Issue.record("a launch at 0 SUs was allowed")
            } catch let error as UpdraftError {
                #expect(error.code == .forbidden)
                #expect(
                    error.message
                        == "Allocation TG-ABC190028 CPU has 0.0 of 10 SUs left (ends 2027-01-03); ask your PI for a supplement")
            }
            _ = try await service.supplement("TG-ABC190028", sus: 1000, note: nil, userID: nil)
            try await service.authorizeBurn(projectID: "p1", resource: .cpu)
            try clock.advance(by: 3 * 86_400)
            let expired = try await service.statement("TG-ABC190028")
            #expect(expired.status == .expired)
            #expect(expired.refusal?.hasSuffix("(ended 2027-01-03); ask your PI for an extension") == true)
        }
    }

    @Test("the lifecycle tells members at once, shelves after 10 days, deletes after 30, each once; a supplement resets it")
    func lifecycle() async throws {
        try await Self.service { service, clock, histories in
            let holdings = StubHoldings()
            service.holdings = holdings
            _ = try await service.create(Self.cpu(), userID: nil)
            histories.set("i1", project: "p1", [(Self.start, "active")])
            try await service.rebuildRunningSums()
            try clock.advance(by: 6 * 3600)  // ran out at hour 5
            #expect(try await service.enforceLifecycle().isEmpty)
            #expect(try await service.notices(projectID: "p1").map(\.kind) == ["exhausted"])
            let plan = try await service.lifecyclePlan()
            #expect(plan.map(\.action) == [.shelve] && plan[0].at == Self.hours(5 + 240) && plan[0].holdings.instances == ["i1"])
            try clock.advance(by: 240 * 3600)
            #expect(try await service.enforceLifecycle().map(\.action) == [.shelve])
            histories.set("i1", project: "p1", [(Self.start, "active"), (Self.hours(246), "shelved_offloaded")])
            try await service.rebuildRunningSums()
            #expect(try await service.enforceLifecycle().isEmpty)
            try clock.advance(by: 20 * 86_400)
            #expect(try await service.enforceLifecycle().map(\.action) == [.delete])
            #expect(holdings.calls.withLock { $0 } == ["shelve i1", "delete [\"i1\", \"v1\", \"g1\", \"c1\"]"])
            #expect(try await service.entries("TG-ABC190028").map(\.kind) == [.award, .shelved, .deleted])
            #expect(try await service.notices(projectID: "p1").map(\.kind) == ["deleted", "shelved", "exhausted"])
            // Enough SUs again: the stage is forgotten, and nothing more happens.
            _ = try await service.supplement("TG-ABC190028", sus: 10_000, note: nil, userID: nil)
            _ = try await service.enforceLifecycle()
            #expect(try await service.lifecyclePlan().isEmpty)
        }
    }
}

struct StubDirectory: ProjectDirectory {
    var facts = [
        ProjectFacts(id: "p1", name: "astro", properties: ["field_of_science": "Astronomy"], members: ["u1"]),
        ProjectFacts(id: "p2", name: "class", properties: [:], members: ["u1", "u2", "u3"]),
        ProjectFacts(id: "p3", name: "idle", properties: ["field_of_science": "Biology"], members: []),
    ]

    func projects() async throws -> [ProjectFacts] { facts }

    func projectProperties() async throws -> [String: [String: String]] {
        Dictionary(uniqueKeysWithValues: facts.map { ($0.id, $0.properties) })
    }

    func memberEmails(projectID: String) async throws -> [String] {
        projectID == "p1" ? ["pi@example.edu"] : []
    }
}

@Suite("Funder's report")
struct ReportTests {
    @Test("active VMs are averaged over the period and peaked; SUs go to their allocation's tier")
    func figures() async throws {
        try await AccountingServiceTests.service { service, clock, histories in
            var workshop = AccountingServiceTests.cpu("TG-CLASS", project: "p2", award: 100)
            workshop.tier = "education"
            _ = try await service.create(workshop, userID: nil)
            let h = AccountingServiceTests.hours
            // p1: active hours 0–4 (no allocation); p2: active 2–6, then stopped until 8.
            histories.set("i1", project: "p1", [(h(0), "active"), (h(4), "deleted")], vcpus: 1)
            try await service.rebuildRunningSums()
            histories.set("i2", project: "p2", [(h(2), "active"), (h(6), "stopped")], vcpus: 2)
            try await service.rebuildRunningSums()
            try clock.advance(by: 8 * 3600)
            service.directory = StubDirectory()
            let report = try await service.report(since: h(0), until: h(8))
            #expect(report.activeProjects == 2 && report.projects == 3 && report.activeUsers == 1)
            #expect(report.peakActiveVMs == 2)
            #expect(report.meanActiveVMs == 1)  // 8 VM-hours active over 8 hours
            #expect(report.fieldsOfScience == ["Astronomy": 1])
            #expect(report.cpuHoursByClass == [.cpu: 4 + 12])
            #expect(report.susByTier == ["unallocated": 4, "education": 8 + 2])
            #expect(report.educationProjects.map(\.students) == [3])
        }
    }
}

@Suite("Running sums")
struct RunningSumsTests {
    @Test("balances kept row by row as compute writes them equal the ledger computed from the whole history")
    func matchTheLedger() async throws {
        try await AccountingServiceTests.service { service, clock, histories in
            var generator = SystemRandomNumberGenerator()
            let h = AccountingServiceTests.hours
            // The allocation's dates cut some stretches: it starts at hour 3 and ends at hour 40.
            _ = try await service.create(
                AccountingService.NewAllocation(
                    name: "TG-SUMS", projectID: "p1", resource: .cpu, award: 1_000_000, start: h(3), end: h(40)),
                userID: nil)
            let states = ["building", "active", "stopped", "suspended", "paused", "shelved_offloaded", "active"]
            var rows: [StateChange] = []
            for instance in ["i1", "i2", "i3"] {
                var at = Double.random(in: 0...5, using: &generator)
                for _ in 0..<12 {
                    let resource: ResourceClass = Bool.random(using: &generator) ? .cpu : .gpu
                    rows.append(
                        StateChange(
                            instanceID: instance, projectID: "p1", at: h(at),
                            vmState: states.randomElement(using: &generator) ?? "active",
                            vcpus: Int.random(in: 1...4, using: &generator), resourceClass: resource))
                    // Some rows share an instant, as under a clock that stands still.
                    at += Bool.random(using: &generator) ? 0 : Double.random(in: 0.1...6, using: &generator)
                }
            }
            // Written one by one, in each instance's order, through the observer.
            var last: [String: StateChange] = [:]
            for row in rows {
                let previous = last[row.instanceID]
                try await service.database.write { db in try await service.recorded(row, after: previous, db) }
                last[row.instanceID] = row
            }
            for instance in ["i1", "i2", "i3"] {
                histories.rows.withLock { all in
                    all.removeAll { $0.instanceID == instance }
                    all.append(
                        InstanceHistory(
                            instanceID: instance, name: instance, projectID: "p1", userID: "u1",
                            changes: rows.filter { $0.instanceID == instance }))
                }
            }
            // Rows are written at the clock's now: it stands after the last one, then later still.
            try clock.advance(by: 100 * 3600)
            for hours in [0.0, 50.0] {
                try clock.advance(by: hours * 3600)
                let kept = try await service.statement("TG-SUMS")
                let truth = try await histories.histories(projectIDs: ["p1"]).flatMap {
                    Ledger.charges(of: $0.changes, until: clock.now, rates: .jetstream2)
                }
                let expected = Ledger.used(by: kept.allocation, truth)
                #expect(abs(kept.used - expected) < 1e-6, "kept \(kept.used), ledger \(expected)")
                // Rebuilt from the history, the sums are the same.
                try await service.rebuildRunningSums()
                #expect(abs(try await service.statement("TG-SUMS").used - expected) < 1e-6)
            }
        }
    }
}

@Suite("Idle shelving")
struct IdleShelvingTests {
    @Test(
        "an opted-in project's instance idle for the whole window is shelved with an entry and a notice; busy ones and other projects' are not"
    )
    func shelvesIdle() async throws {
        try await AccountingServiceTests.service { service, clock, _ in
            let holdings = StubHoldings()
            holdings.burning.withLock { $0 = ["i1"] }
            service.holdings = holdings
            var directory = StubDirectory()
            directory.facts[0].properties["idle_shelve_hours"] = "2"
            service.directory = directory
            _ = try await service.create(AccountingServiceTests.cpu(award: 1_000_000), userID: nil)
            // i1 idles: 1 CPU second an hour on 2 vCPUs.
            for hour in 0...2 {
                holdings.cpu.withLock { $0["i1"] = (100 + Double(hour), 2) }
                _ = try await service.enforceLifecycle()
                let shelved = holdings.calls.withLock { $0 }
                #expect(shelved == (hour < 2 ? [] : ["shelve i1"]), "at hour \(hour)")
                try clock.advance(by: 3600)
            }
            #expect(try await service.entries("TG-ABC190028").map(\.kind) == [.award, .idleShelved])
            #expect(try await service.notices(projectID: "p1").map(\.kind) == ["idle_shelved"])
        }
    }

    @Test("the window average decides, and a restarted guest starts the samples over")
    func tracker() {
        var tracker = IdleTracker()
        let t0 = AccountingServiceTests.start
        let hour: TimeInterval = 3600
        let r1 = tracker.record("a", at: t0, seconds: 0, vcpus: 1, window: 2 * hour, threshold: 5)
        #expect(!r1)
        let r2 = tracker.record("a", at: t0 + hour, seconds: 1000, vcpus: 1, window: 2 * hour, threshold: 5)
        #expect(!r2)
        // 1,000 s of 7,200 is 13.9%: busy.
        let r3 = tracker.record("a", at: t0 + 2 * hour, seconds: 1000, vcpus: 1, window: 2 * hour, threshold: 5)
        #expect(!r3)
        // From hour 1 to hour 3 it used nothing.
        let r4 = tracker.record("a", at: t0 + 3 * hour, seconds: 1000, vcpus: 1, window: 2 * hour, threshold: 5)
        #expect(r4)
        // The counter went back: a new guest, a new window.
        let r5 = tracker.record("a", at: t0 + 4 * hour, seconds: 5, vcpus: 1, window: 2 * hour, threshold: 5)
        #expect(!r5)
    }
}

@Suite("Storage allocations")
struct StorageAllocationTests {
    @Test("a storage allocation shows the GB its project's storage holds, burns nothing and never refuses a launch")
    func storage() async throws {
        try await AccountingServiceTests.service { service, _, _ in
            service.holdings = StubHoldings()
            var store = AccountingServiceTests.cpu("TG-STORE", award: 100)
            store.resource = .storage
            _ = try await service.create(store, userID: nil)
            let statement = try await service.statement("TG-STORE")
            #expect(statement.used == 12.5 && statement.balance == 87.5 && statement.burnRate == 0)
            #expect(statement.allocation.unit == "GB" && statement.status == .active)
            #expect(try await service.lifecyclePlan().isEmpty)
        }
    }

    @Test("bytes that would pass a storage allocation, or any outside its dates, are refused with its numbers")
    func storageRefusals() async throws {
        try await AccountingServiceTests.service { service, clock, _ in
            service.holdings = StubHoldings()  // 12.5 GB held
            let gigabyte: Int64 = 1 << 30
            // No storage allocation: only the services' own quotas limit the project.
            try await service.authorizeStorage(projectID: "p1", adding: 1_000 * gigabyte)
            var store = AccountingServiceTests.cpu("TG-STORE", award: 20, days: 30)
            store.resource = .storage
            _ = try await service.create(store, userID: nil)
            try await service.authorizeStorage(projectID: "p1", adding: 7 * gigabyte)
            try await service.authorizeStorage(projectID: "p2", adding: 1_000 * gigabyte)
            var refusal: UpdraftError?
            do throws(UpdraftError) {
                try await service.authorizeStorage(projectID: "p1", adding: 8 * gigabyte)
            } catch { refusal = error }
            #expect(refusal?.code == .overLimit)
            #expect(
                refusal?.message
                    == "Allocation TG-STORE storage has 7.5 of 20 GB left and this needs 8.0 GB (ends 2027-01-31); delete what you no longer need or ask your PI for a supplement"
            )
            _ = try clock.advance(by: 31 * 86_400)
            refusal = nil
            do throws(UpdraftError) {
                try await service.authorizeStorage(projectID: "p1", adding: 1)
            } catch { refusal = error }
            #expect(refusal?.message.hasPrefix("Allocation TG-STORE storage has 7.5 of 20 GB left (ended 2027-01-31)") == true)
        }
    }
}

/// Records what the hook was handed.
final class StubSink: NoticeSink {
    let delivered = Mutex<[(kind: String, recipients: [String])]>([])

    func deliver(_ notice: AccountingService.Notice, recipients: [String]) async throws {
        delivered.withLock { $0.append((notice.kind, recipients)) }
    }
}

@Suite("Notice hook")
struct NoticeHookTests {
    @Test("each notice from the hook's start on is handed over once, with the members' e-mail addresses")
    func delivers() async throws {
        try await AccountingServiceTests.service { service, clock, histories in
            service.holdings = StubHoldings()
            service.directory = StubDirectory()
            let sink = StubSink()
            service.noticeSink = sink
            try await service.prepareNoticeDelivery()
            _ = try await service.create(AccountingServiceTests.cpu(), userID: nil)
            histories.set("i1", project: "p1", [(AccountingServiceTests.start, "active")])
            try await service.rebuildRunningSums()
            try clock.advance(by: 6 * 3600)
            _ = try await service.enforceLifecycle()
            _ = try await service.enforceLifecycle()
            try clock.advance(by: 240 * 3600)
            _ = try await service.enforceLifecycle()
            let delivered = sink.delivered.withLock { $0 }
            #expect(delivered.map(\.kind) == ["exhausted", "shelved"])
            #expect(delivered.allSatisfy { $0.recipients == ["pi@example.edu"] })
        }
    }
}
