/// What an allocation is for. Instances burn SUs on the allocation of their flavor's class;
/// storage is a quota in GB, not a burn.
public enum ResourceClass: String, Sendable, Codable, CaseIterable, Comparable {
    case cpu
    case largeMemory = "large_memory"
    case gpu
    case storage

    /// As a message names it: `CPU`, `large memory`, `GPU`, `storage`.
    public var title: String {
        switch self {
        case .cpu: "CPU"
        case .largeMemory: "large memory"
        case .gpu: "GPU"
        case .storage: "storage"
        }
    }

    public static func < (lhs: ResourceClass, rhs: ResourceClass) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }
}
