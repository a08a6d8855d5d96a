import Foundation

/// Turns state histories into charges and charges into balances. Pure: the same history and
/// the same `now` always give the same SUs, which is what lets a restart change no number.
public enum Ledger {
    /// The charges of one instance's history up to `now`: each row's state and flavor last
    /// until the next row, the last row until `now`. Rows are taken by time, and rows of the
    /// same instant in the order given (the order compute wrote them). Stretches that burn
    /// nothing are left out.
    public static func charges(of history: [StateChange], until now: Date, rates: SURates) -> [Charge] {
        let rows = ordered(history)
        var charges: [Charge] = []
        for (index, row) in rows.enumerated() {
            let end = index + 1 < rows.count ? min(rows[index + 1].at, now) : now
            let perHour = rates.perHour(vmState: row.vmState, vcpus: row.vcpus, resourceClass: row.resourceClass)
            guard perHour > 0, row.at < end else { continue }
            charges.append(
                Charge(
                    instanceID: row.instanceID, projectID: row.projectID, resourceClass: row.resourceClass,
                    start: row.at, end: end, perHour: perHour))
        }
        return charges
    }

    /// The stretches an instance existed, from its first row to its `deleted` row or `now`,
    /// each with `perHour` set to its vCPUs: their `sus` are vCPU-hours, counted in every
    /// state as Nova's `os-simple-tenant-usage` counts them.
    public static func existence(of history: [StateChange], until now: Date) -> [Charge] {
        let rows = ordered(history)
        var stretches: [Charge] = []
        for (index, row) in rows.enumerated() where row.vmState != "deleted" {
            let end = index + 1 < rows.count ? min(rows[index + 1].at, now) : now
            guard row.at < end else { continue }
            stretches.append(
                Charge(
                    instanceID: row.instanceID, projectID: row.projectID, resourceClass: row.resourceClass,
                    start: row.at, end: end, perHour: Double(row.vcpus)))
        }
        return stretches
    }

    /// Rows by time, and rows of the same instant in the order given.
    static func ordered(_ history: [StateChange]) -> [StateChange] {
        history.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
    }

    /// The instant `charges` used up the award of `allocation`, if they have: where the SUs
    /// charged inside its dates, taken in time order, first reach the award.
    public static func exhaustedAt(_ allocation: Allocation, _ charges: [Charge]) -> Date? {
        let parts = charges.compactMap { charge -> Charge? in
            guard charge.projectID == allocation.projectID, charge.resourceClass == allocation.resource else { return nil }
            return charge.clipped(to: allocation.window)
        }
        guard allocation.award > 0 else { return parts.isEmpty ? nil : allocation.start }
        // A sweep over the instants stretches start and end: between two, the rate is constant.
        let events = parts.flatMap { [($0.start, $0.perHour), ($0.end, -$0.perHour)] }.sorted { $0.0 < $1.0 }
        var total = 0.0
        var rate = 0.0
        for (index, (at, delta)) in events.enumerated() {
            rate += delta
            guard index + 1 < events.count else { break }
            let next = events[index + 1].0
            let gained = rate * next.timeIntervalSince(at) / 3600
            if rate > 1e-12, total + gained >= allocation.award {
                return at.addingTimeInterval((allocation.award - total) / rate * 3600)
            }
            total += gained
        }
        return nil
    }

    /// What an instance burns per hour now, and on which class: its last row's rate.
    public static func burnRate(of history: [StateChange], rates: SURates) -> (ResourceClass, Double)? {
        guard let last = ordered(history).last else { return nil }
        return (last.resourceClass, rates.perHour(vmState: last.vmState, vcpus: last.vcpus, resourceClass: last.resourceClass))
    }

    /// The SUs `charges` put on `allocation`: those of its project and class inside its dates.
    public static func used(by allocation: Allocation, _ charges: [Charge]) -> Double {
        let window = allocation.window
        return charges.reduce(0) { total, charge in
            guard charge.projectID == allocation.projectID, charge.resourceClass == allocation.resource,
                let part = charge.clipped(to: window)
            else { return total }
            return total + part.sus
        }
    }

    /// When `balance` SUs run out at `perHour`: nil when nothing burns, never after the
    /// allocation ends (it expires first).
    public static func runOut(balance: Double, perHour: Double, now: Date, end: Date) -> Date? {
        guard perHour > 0 else { return nil }
        guard balance > 0 else { return now }
        return min(now.addingTimeInterval(balance / perHour * 3600), end)
    }
}
