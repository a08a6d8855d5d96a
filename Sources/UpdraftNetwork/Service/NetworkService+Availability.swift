import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

extension NetworkService {
    /// The resources a quota can be set on.
    public static var quotaResources: Set<String> { Set(quotaTables.keys) }

    /// How full a network's subnets are. Encodes as Neutron's `network_ip_availability`.
    public struct IPAvailability: Sendable, Encodable {
        public struct SubnetAvailability: Sendable, Encodable {
            public var subnetID: String
            public var subnetName: String
            public var cidr: String
            public var ipVersion: Int
            public var totalIPs: UInt64
            public var usedIPs: Int

            enum CodingKeys: String, CodingKey {
                case cidr
                case subnetID = "subnet_id"
                case subnetName = "subnet_name"
                case ipVersion = "ip_version"
                case totalIPs = "total_ips"
                case usedIPs = "used_ips"
            }
        }

        public var networkID: String
        public var networkName: String
        public var projectID: String
        public var totalIPs: UInt64
        public var usedIPs: Int
        public var subnets: [SubnetAvailability]

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: FieldKey.self)
            try c.put("network_id", networkID)
            try c.put("network_name", networkName)
            try c.put("project_id", projectID)
            try c.put("tenant_id", projectID)
            try c.put("total_ips", totalIPs)
            try c.put("used_ips", usedIPs)
            try c.put("subnet_ip_availability", subnets)
        }
    }

    /// Serves `GET /v2.0/network-ip-availabilities`: pool sizes and allocations per subnet.
    public func ipAvailabilities(caller: AuthContext) async throws -> [IPAvailability] {
        let networks = try await listNetworks(caller: caller)
        let subnets = try await listSubnets(caller: caller)
        let used = try await database.read { db in
            var counts: [String: Int] = [:]
            for row in try await db.raw("SELECT subnet_id, COUNT(*) AS n FROM ip_allocations GROUP BY subnet_id").all() {
                counts[try row.string("subnet_id")] = try row.int("n")
            }
            return counts
        }
        return networks.map { network in
            let own = subnets.filter { $0.networkID == network.id }.map { subnet in
                IPAvailability.SubnetAvailability(
                    subnetID: subnet.id, subnetName: subnet.name ?? "", cidr: subnet.cidr, ipVersion: subnet.ipVersion,
                    totalIPs: Self.poolSize(subnet.allocationPools), usedIPs: used[subnet.id] ?? 0)
            }
            return IPAvailability(
                networkID: network.id, networkName: network.name ?? "", projectID: network.projectID,
                totalIPs: own.reduce(0) { $0 &+ $1.totalIPs }, usedIPs: own.reduce(0) { $0 + $1.usedIPs }, subnets: own)
        }
    }

    /// Addresses in `pools`, capped at `UInt64.max` for huge IPv6 ranges.
    static func poolSize(_ pools: [Subnet.Pool]) -> UInt64 {
        var total: UInt128 = 0
        for pool in pools {
            guard let start = IPAddress(pool.start), let end = IPAddress(pool.end), start <= end else { continue }
            let (sum, overflow) = total.addingReportingOverflow(end.value - start.value + 1)
            total = overflow ? .max : sum
        }
        return UInt64(clamping: total)
    }
}
