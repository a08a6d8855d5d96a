import Foundation

/// A stretch of time an instance burned SUs at one rate: charged to the second.
public struct Charge: Sendable, Equatable {
    public var instanceID: String
    public var projectID: String
    public var resourceClass: ResourceClass
    public var start: Date
    public var end: Date
    /// SUs per hour over the stretch.
    public var perHour: Double

    public init(
        instanceID: String, projectID: String, resourceClass: ResourceClass, start: Date, end: Date, perHour: Double
    ) {
        self.instanceID = instanceID
        self.projectID = projectID
        self.resourceClass = resourceClass
        self.start = start
        self.end = end
        self.perHour = perHour
    }

    /// What the stretch cost.
    public var sus: Double { perHour * end.timeIntervalSince(start) / 3600 }

    /// The part of the stretch inside `window`, if any.
    public func clipped(to window: DateInterval) -> Charge? {
        let start = max(self.start, window.start)
        let end = min(self.end, window.end)
        guard start < end else { return nil }
        var part = self
        part.start = start
        part.end = end
        return part
    }

    /// The stretch cut at every multiple of `period` seconds since the epoch (3,600: by
    /// hour, 86,400: by UTC day), so usage can be shown per period.
    public func split(every period: TimeInterval) -> [Charge] {
        var parts: [Charge] = []
        var cursor = start
        while cursor < end {
            let boundary = Date(timeIntervalSince1970: (cursor.timeIntervalSince1970 / period).rounded(.down) * period + period)
            var part = self
            part.start = cursor
            part.end = min(boundary, end)
            parts.append(part)
            cursor = part.end
        }
        return parts
    }
}
