import Synchronization

/// A dataplane that only remembers what it was asked to carry: for fast tests and scale
/// simulation, never the default.
public final class FakeDataplane: NetworkDataplane {
    private let applied = Mutex<[Topology]>([])

    public init() {}

    public func apply(_ topology: Topology) async throws -> Set<String> {
        applied.withLock { $0.append(topology) }
        return Set(topology.vmPorts.map(\.id))
    }

    /// The latest topology applied.
    public var latest: Topology? { applied.withLock { $0.last } }
}
