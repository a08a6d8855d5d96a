import Foundation
import Testing

@testable import UpdraftAccounting

@Suite("SU ledger")
struct LedgerTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static func hours(_ h: Double) -> Date { t0.addingTimeInterval(h * 3600) }

    static func change(_ at: Double, _ state: String, vcpus: Int = 2, _ resource: ResourceClass = .cpu) -> StateChange {
        StateChange(instanceID: "i1", projectID: "p1", at: hours(at), vmState: state, vcpus: vcpus, resourceClass: resource)
    }

    /// The acceptance: 2 vCPUs, 2 h active, 1 h suspended, 2 h stopped, 3 h shelved.
    static let history = [
        change(0, "building"), change(0, "active"), change(2, "suspended"), change(3, "stopped"), change(5, "shelved"),
        change(6, "shelved_offloaded"),
    ]

    @Test("2 h active, 1 h suspended, 2 h stopped and 3 h shelved on 2 vCPUs are 4 + 1.5 + 2 + 0 = 7.5 SUs")
    func acceptance() throws {
        // Rows of different instants in any order; the two at hour 0 in the order written.
        let shuffled = [Self.history[3], Self.history[0], Self.history[5], Self.history[1], Self.history[4], Self.history[2]]
        let charges = Ledger.charges(of: shuffled, until: Self.hours(8), rates: .jetstream2)
        #expect(charges.map(\.perHour) == [2, 1.5, 1])
        #expect(abs(charges.reduce(0) { $0 + $1.sus } - 7.5) < 1e-9)
        let rate = try #require(Ledger.burnRate(of: Self.history, rates: .jetstream2))
        #expect(rate.0 == .cpu && rate.1 == 0)
    }

    @Test("charges are to the second, and a running instance's last stretch runs until now")
    func toTheSecond() {
        let history = [Self.change(0, "active", vcpus: 1)]
        let charges = Ledger.charges(of: history, until: Self.t0.addingTimeInterval(90), rates: .jetstream2)
        #expect(charges.count == 1 && abs(charges[0].sus - 90.0 / 3600) < 1e-12)
        #expect(Ledger.charges(of: history, until: Self.t0, rates: .jetstream2).isEmpty)
    }

    @Test("the class multiplies: a GPU flavor burns 4 per vCPU, large memory 2, and goes to its own class")
    func classes() {
        let history = [Self.change(0, "active", vcpus: 1, .gpu), Self.change(1, "active", vcpus: 2, .largeMemory)]
        let charges = Ledger.charges(of: history, until: Self.hours(2), rates: .jetstream2)
        #expect(charges.map(\.resourceClass) == [.gpu, .largeMemory])
        #expect(charges.map(\.sus) == [4, 4])
        #expect(SURates.resourceClass(extraSpecs: ["updraft:resource_class": "gpu"]) == .gpu)
        #expect(SURates.resourceClass(extraSpecs: ["updraft:resource_class": "storage"]) == .cpu)
        #expect(SURates.resourceClass(extraSpecs: [:]) == .cpu)
    }

    @Test("an allocation counts only its project's, its class's and its dates' charges")
    func allocation() {
        let allocation = Allocation(
            id: "a1", name: "TG-ABC190028", projectID: "p1", resource: .cpu, award: 10, start: Self.hours(1),
            end: Self.hours(4))
        var other = Self.history.map { change -> StateChange in
            var c = change
            c.projectID = "p2"
            return c
        }
        other[1].instanceID = "i2"
        let charges =
            Ledger.charges(of: Self.history, until: Self.hours(8), rates: .jetstream2)
            + Ledger.charges(of: other, until: Self.hours(8), rates: .jetstream2)
        // 1 h active (2) + 1 h suspended (1.5) + 1 h stopped (1) inside hours 1 to 4.
        #expect(abs(Ledger.used(by: allocation, charges) - 4.5) < 1e-9)
    }

    @Test("usage splits at hour and day boundaries without changing the total")
    func split() {
        let charge = Charge(
            instanceID: "i1", projectID: "p1", resourceClass: .cpu, start: Self.t0.addingTimeInterval(1800),
            end: Self.t0.addingTimeInterval(3 * 3600 + 60), perHour: 2)
        let hourly = charge.split(every: 3600)
        #expect(hourly.count == 4)
        #expect(abs(hourly.reduce(0) { $0 + $1.sus } - charge.sus) < 1e-9)
        #expect(hourly.dropFirst().allSatisfy { $0.start.timeIntervalSince1970.truncatingRemainder(dividingBy: 3600) == 0 })
    }

    @Test("the run-out forecast is balance over burn rate from now, never after the end")
    func runOut() {
        let now = Self.t0
        #expect(Ledger.runOut(balance: 10, perHour: 2, now: now, end: Self.hours(100)) == Self.hours(5))
        #expect(Ledger.runOut(balance: 10, perHour: 2, now: now, end: Self.hours(3)) == Self.hours(3))
        #expect(Ledger.runOut(balance: 10, perHour: 0, now: now, end: Self.hours(3)) == nil)
        #expect(Ledger.runOut(balance: -1, perHour: 2, now: now, end: Self.hours(3)) == now)
    }
}
