/// Places instances on hosts by free vCPU, RAM and disk, with Nova's allocation ratios.
/// Pure: it is given the hosts and what they hold, so it works the same for one host or many.
public struct Scheduler: Sendable {
    /// A host's capacity and what its instances already hold.
    public struct Candidate: Sendable, Equatable {
        public var hostname: String
        public var vcpus: Int
        public var memoryMB: Int
        public var diskGB: Int
        public var usedVCPUs: Int
        public var usedMemoryMB: Int
        public var usedDiskGB: Int
        public var disabled: Bool

        public init(
            hostname: String, vcpus: Int, memoryMB: Int, diskGB: Int, usedVCPUs: Int, usedMemoryMB: Int, usedDiskGB: Int,
            disabled: Bool = false
        ) {
            self.hostname = hostname
            self.vcpus = vcpus
            self.memoryMB = memoryMB
            self.diskGB = diskGB
            self.usedVCPUs = usedVCPUs
            self.usedMemoryMB = usedMemoryMB
            self.usedDiskGB = usedDiskGB
            self.disabled = disabled
        }
    }

    public var cpuAllocationRatio: Double
    public var ramAllocationRatio: Double
    public var diskAllocationRatio: Double
    public var reservedMemoryMB: Int

    public init(cpuAllocationRatio: Double, ramAllocationRatio: Double, diskAllocationRatio: Double, reservedMemoryMB: Int) {
        self.cpuAllocationRatio = cpuAllocationRatio
        self.ramAllocationRatio = ramAllocationRatio
        self.diskAllocationRatio = diskAllocationRatio
        self.reservedMemoryMB = reservedMemoryMB
    }

    func freeVCPUs(_ c: Candidate) -> Int { Int(Double(c.vcpus) * cpuAllocationRatio) - c.usedVCPUs }
    func freeMemoryMB(_ c: Candidate) -> Int {
        Int(Double(c.memoryMB - reservedMemoryMB) * ramAllocationRatio) - c.usedMemoryMB
    }
    func freeDiskGB(_ c: Candidate) -> Int { Int(Double(c.diskGB) * diskAllocationRatio) - c.usedDiskGB }

    /// The host with the most free RAM that fits, or why none does, in words a user can act on.
    public func select(vcpus: Int, memoryMB: Int, diskGB: Int, flavorName: String, from candidates: [Candidate])
        -> Result<String, SchedulingFailure>
    {
        let enabled = candidates.filter { !$0.disabled }
        let fitting = enabled.filter {
            freeVCPUs($0) >= vcpus && freeMemoryMB($0) >= memoryMB && freeDiskGB($0) >= diskGB
        }
        if let best = fitting.max(by: { freeMemoryMB($0) < freeMemoryMB($1) }) { return .success(best.hostname) }
        guard !enabled.isEmpty else {
            return .failure(SchedulingFailure(message: "No valid host was found. There are no enabled compute hosts."))
        }
        let cpu = enabled.map(freeVCPUs).max() ?? 0
        let ram = enabled.map(freeMemoryMB).max() ?? 0
        let disk = enabled.map(freeDiskGB).max() ?? 0
        var reasons: [String] = []
        if vcpus > cpu { reasons.append("\(vcpus) vCPUs; the most any host has free is \(max(cpu, 0))") }
        if memoryMB > ram { reasons.append("\(memoryMB) MB of RAM; the most any host has free is \(max(ram, 0)) MB") }
        if diskGB > disk { reasons.append("\(diskGB) GB of disk; the most any host has free is \(max(disk, 0)) GB") }
        if reasons.isEmpty { reasons.append("vCPUs, RAM and disk on one host; none has all three free") }
        return .failure(
            SchedulingFailure(
                message: "No valid host was found. Flavor \(flavorName) needs " + reasons.joined(separator: ", and ") + "."))
    }
}

/// Why an instance could not be placed.
public struct SchedulingFailure: Error, Sendable, Equatable {
    public var message: String
}
