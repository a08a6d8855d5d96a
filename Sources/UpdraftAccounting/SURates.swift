/// How many service units an instance burns per hour: 1 SU is one vCPU for one hour, times
/// the multiplier of its flavor's resource class and of its state (Jetstream2's rules by
/// default; a site sets its own).
public struct SURates: Sendable, Equatable, Codable {
    /// By resource class; a class missing here burns nothing.
    public var classes: [ResourceClass: Double]
    /// By Nova `vm_state` (`active`, `suspended`, ...); a state missing here burns nothing
    /// (building, error, shelved, deleted).
    public var states: [String: Double]

    /// The flavor extra spec an administrator sets to a ``ResourceClass`` raw value
    /// (`large_memory`); a flavor without it, or with an unknown value, is `cpu`.
    public static let flavorClassKey = "updraft:resource_class"

    /// Jetstream2's: CPU 1, large memory 2, GPU 4; active, paused and a resize awaiting
    /// confirmation 1, suspended 0.75, stopped 0.5.
    public static let jetstream2 = SURates(
        classes: [.cpu: 1, .largeMemory: 2, .gpu: 4],
        states: ["active": 1, "paused": 1, "resized": 1, "suspended": 0.75, "stopped": 0.5])

    public init(classes: [ResourceClass: Double], states: [String: Double]) {
        self.classes = classes
        self.states = states
    }

    /// The class a flavor's extra specs name.
    public static func resourceClass(extraSpecs: [String: String]) -> ResourceClass {
        extraSpecs[flavorClassKey].flatMap(ResourceClass.init(rawValue:)).flatMap { $0 == .storage ? nil : $0 } ?? .cpu
    }

    /// SUs per hour of `vcpus` of class `resourceClass` in `vmState`.
    public func perHour(vmState: String, vcpus: Int, resourceClass: ResourceClass) -> Double {
        Double(vcpus) * (classes[resourceClass] ?? 0) * (states[vmState] ?? 0)
    }
}
