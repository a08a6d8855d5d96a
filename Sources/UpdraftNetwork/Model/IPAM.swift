import UpdraftCore

/// Address management inside one subnet: Neutron's defaults for the gateway and pools, the
/// checks it makes on what a client asks for, and the next free address.
public enum IPAM {
    /// The first usable address, Neutron's default gateway (`10.0.0.1` in `10.0.0.0/24`).
    public static func defaultGateway(_ network: IPNetwork) -> IPAddress? {
        network.size > 2 ? network.address.advanced(by: 1) : nil
    }

    /// Every usable address except the gateway: for IPv4 the network and broadcast addresses
    /// are not usable; for IPv6 the subnet-router anycast address (the first) is not.
    public static func defaultPools(_ network: IPNetwork, gateway: IPAddress?) -> [Subnet.Pool] {
        guard let first = network.address.advanced(by: 1) else { return [] }
        let last = network.family == .v4 ? IPAddress(family: .v4, value: network.last.value - 1) : network.last
        guard network.size > 2, first <= last else { return [] }
        guard let gateway, network.contains(gateway), gateway >= first, gateway <= last else {
            return [Subnet.Pool(start: first.description, end: last.description)]
        }
        var pools: [Subnet.Pool] = []
        if gateway > first {
            pools.append(
                Subnet.Pool(
                    start: first.description, end: IPAddress(family: gateway.family, value: gateway.value - 1).description))
        }
        if gateway < last, let after = gateway.advanced(by: 1) {
            pools.append(Subnet.Pool(start: after.description, end: last.description))
        }
        return pools
    }

    /// Checks pools a client gave: inside the subnet, start before end, not overlapping each
    /// other, and clear of the gateway, with Neutron's messages.
    public static func validate(pools: [Subnet.Pool], in network: IPNetwork, gateway: IPAddress?) throws(UpdraftError) {
        var ranges: [(IPAddress, IPAddress)] = []
        for pool in pools {
            guard let start = IPAddress(pool.start), let end = IPAddress(pool.end), start.family == network.family,
                end.family == network.family
            else {
                throw UpdraftError(
                    .badRequest, "Invalid input for allocation_pools: '\(pool.start)'-'\(pool.end)' is not a valid IP range.",
                    kind: "InvalidInput")
            }
            guard start <= end else {
                throw UpdraftError(
                    .badRequest, "The allocation pool \(pool.start)-\(pool.end) is not valid: the start is after the end.",
                    kind: "InvalidAllocationPool")
            }
            guard network.contains(start), network.contains(end) else {
                throw UpdraftError(
                    .badRequest, "The allocation pool \(pool.start)-\(pool.end) spans beyond the subnet cidr \(network).",
                    kind: "OutOfBoundsAllocationPool")
            }
            if let gateway, gateway >= start, gateway <= end {
                throw UpdraftError(
                    .conflict, "Gateway ip \(gateway) conflicts with allocation pool \(pool.start)-\(pool.end).",
                    kind: "GatewayConflictWithAllocationPools")
            }
            ranges.append((start, end))
        }
        let sorted = ranges.sorted { $0.0 < $1.0 }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.0 <= a.1 {
            throw UpdraftError(
                .badRequest, "Found overlapping allocation pools: \(a.0)-\(a.1) and \(b.0)-\(b.1).",
                kind: "OverlappingAllocationPools")
        }
    }

    /// The lowest address of `pools` that is not in `used`; nil when the pools are full.
    public static func nextFree(pools: [Subnet.Pool], used: Set<IPAddress>) -> IPAddress? {
        for pool in pools {
            guard let start = IPAddress(pool.start), let end = IPAddress(pool.end), start <= end else { continue }
            var candidate = start
            while true {
                if !used.contains(candidate) { return candidate }
                guard candidate < end, let next = candidate.advanced(by: 1) else { break }
                candidate = next
            }
        }
        return nil
    }

    /// Whether `address` lies in one of `pools`.
    public static func inPools(_ address: IPAddress, _ pools: [Subnet.Pool]) -> Bool {
        pools.contains { pool in
            guard let start = IPAddress(pool.start), let end = IPAddress(pool.end) else { return false }
            return address >= start && address <= end
        }
    }
}
