/// A dataplane that carries nothing and reports every VM port wired at once: for fast tests
/// and scale simulation, never the default.
public struct FakeDataplane: NetworkDataplane {
    public init() {}

    public func apply(_ topology: Topology) async throws -> Set<String> {
        Set(topology.vmPorts.map(\.id))
    }
}
