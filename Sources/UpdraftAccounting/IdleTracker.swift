import Foundation

/// CPU samples of instances, to tell which idled for a whole window: an instance is idle when,
/// between its oldest sample at least `window` old and now, its guest used less than
/// `threshold` percent of its vCPUs on average. A counter that went back (the guest started
/// again) starts the samples over.
struct IdleTracker: Sendable {
    private var samples: [String: [(at: Date, seconds: Double)]] = [:]

    /// Adds a sample and answers whether the instance idled for the whole window.
    mutating func record(
        _ id: String, at now: Date, seconds: Double, vcpus: Int, window: TimeInterval, threshold: Double
    ) -> Bool {
        var list = samples[id] ?? []
        if let last = list.last, seconds < last.seconds || now < last.at { list = [] }
        list.append((now, seconds))
        // Keep the newest sample that is at least a window old, and those after it.
        if let keep = list.lastIndex(where: { now.timeIntervalSince($0.at) >= window }) { list.removeFirst(keep) }
        samples[id] = list
        guard let first = list.first, now.timeIntervalSince(first.at) >= window, window > 0 else { return false }
        let percent = (seconds - first.seconds) / now.timeIntervalSince(first.at) / Double(max(1, vcpus)) * 100
        return percent < threshold
    }

    mutating func forget(_ id: String) {
        samples[id] = nil
    }

    /// Drops the samples of instances not in `live`.
    mutating func keep(only live: Set<String>) {
        samples = samples.filter { live.contains($0.key) }
    }
}
