import Foundation
import UpdraftCore

/// An allocation with its figures at one instant: what the API, the dashboard and the
/// enforcement read.
public struct Statement: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// Before its start date.
        case pending
        case active
        /// No SUs left.
        case exhausted
        /// Past its end date.
        case expired
    }

    public var allocation: Allocation
    /// SUs charged inside its dates (GB in use for storage).
    public var used: Double
    /// SUs per hour its project's instances of its class burn now.
    public var burnRate: Double
    public var at: Date
    /// When the charges used the award up, if they have.
    public var exhaustedAt: Date?

    public init(allocation: Allocation, used: Double, burnRate: Double, at: Date, exhaustedAt: Date?) {
        self.allocation = allocation
        self.used = used
        self.burnRate = burnRate
        self.at = at
        self.exhaustedAt = exhaustedAt
    }

    public var balance: Double { allocation.award - used }

    public var status: Status {
        if at >= allocation.end { return .expired }
        if at < allocation.start { return .pending }
        if allocation.resource != .storage && balance <= 0 { return .exhausted }
        return .active
    }

    /// When the balance runs out at the current burn rate; nil when nothing burns.
    public var runOut: Date? {
        guard status == .active else { return nil }
        return Ledger.runOut(balance: balance, perHour: burnRate, now: at, end: allocation.end)
    }

    /// Since when the allocation can no longer be used: its end date or the instant its SUs
    /// ran out, whichever came first; nil while it can.
    public var unusableSince: Date? {
        switch status {
        case .active, .pending: nil
        case .expired: min(allocation.end, exhaustedAt ?? allocation.end)
        case .exhausted: exhaustedAt ?? at
        }
    }

    /// Why an instance may not start burning on this allocation, in words a user can act on:
    /// "Allocation TG-ABC190028 CPU has 0.0 of 1,000 SUs left (ended 2027-01-31); ask your PI
    /// for a supplement". Nil while it is usable.
    public var refusal: String? {
        let left = self.left
        switch status {
        case .active: return nil
        case .pending: return left + " (starts \(Self.day(allocation.start))); it cannot be used before it starts"
        case .exhausted: return left + " (ends \(Self.day(allocation.end))); ask your PI for a supplement"
        case .expired:
            return left + " (ended \(Self.day(allocation.end))); ask your PI for "
                + (balance > 0 ? "an extension" : "a supplement and an extension")
        }
    }

    /// Why `gigabytes` more may not be stored on this storage allocation: "Allocation
    /// TG-ABC190028 storage has 0.5 of 100 GB left and this needs 2.0 GB (ends 2027-12-31);
    /// delete what you no longer need or ask your PI for a supplement". Nil when they fit.
    public func storageRefusal(adding gigabytes: Double) -> String? {
        if let refusal { return refusal }
        guard used + gigabytes > allocation.award else { return nil }
        return left + " and this needs \(Self.figure(gigabytes, decimals: 1)) GB (ends \(Self.day(allocation.end))); "
            + "delete what you no longer need or ask your PI for a supplement"
    }

    /// "Allocation TG-ABC190028 CPU has 0.0 of 1,000 SUs left".
    private var left: String {
        let units = allocation.resource == .storage ? "GB" : "SUs"
        return
            "Allocation \(allocation.name) \(allocation.resource.title) has \(Self.figure(max(0, balance), decimals: 1)) of \(Self.figure(allocation.award, decimals: 0)) \(units) left"
    }

    /// `2027-01-31`.
    static func day(_ date: Date) -> String {
        String(Timestamp.iso8601(date).prefix(10))
    }

    /// `1,000` or `992.5`: digits grouped by thousands, as the message shows SUs.
    static func figure(_ value: Double, decimals: Int) -> String {
        let text = String(format: "%.\(decimals)f", value)
        let parts = text.split(separator: ".", maxSplits: 1)
        var whole = String(parts[0])
        let negative = whole.hasPrefix("-")
        if negative { whole.removeFirst() }
        var grouped = ""
        for (index, digit) in whole.reversed().enumerated() {
            if index > 0 && index % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return (negative ? "-" : "") + String(grouped.reversed()) + (parts.count > 1 ? "." + parts[1] : "")
    }
}
