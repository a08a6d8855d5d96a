import Foundation
import UpdraftCore

/// An IP subnet of a network: its range, gateway, pools and what DHCP hands out.
/// Encodes as Neutron's `subnet`.
public struct Subnet: NeutronResource, Equatable {
    /// A range addresses are allocated from.
    public struct Pool: Sendable, Equatable, Codable {
        public var start: String
        public var end: String

        public init(start: String, end: String) {
            self.start = start
            self.end = end
        }
    }

    /// A route DHCP hands out.
    public struct Route: Sendable, Equatable, Codable {
        public var destination: String
        public var nexthop: String

        public init(destination: String, nexthop: String) {
            self.destination = destination
            self.nexthop = nexthop
        }
    }

    public var standard: StandardAttributes
    public var networkID: String
    public var ipVersion: Int
    public var cidr: String
    public var gatewayIP: String?
    public var allocationPools: [Pool]
    public var dnsNameservers: [String]
    public var hostRoutes: [Route]
    public var enableDHCP: Bool
    public var ipv6RAMode: String?
    public var ipv6AddressMode: String?

    public init(
        id: String, name: String, description: String = "", projectID: String, networkID: String, cidr: IPNetwork,
        gatewayIP: String?, allocationPools: [Pool], dnsNameservers: [String] = [], hostRoutes: [Route] = [],
        enableDHCP: Bool = true, ipv6RAMode: String? = nil, ipv6AddressMode: String? = nil, tags: [String] = [],
        createdAt: Date = .now
    ) {
        standard = StandardAttributes(
            id: id, name: name, description: description, projectID: projectID, tags: tags, createdAt: createdAt)
        self.networkID = networkID
        self.ipVersion = cidr.family.rawValue
        self.cidr = cidr.description
        self.gatewayIP = gatewayIP
        self.allocationPools = allocationPools
        self.dnsNameservers = dnsNameservers
        self.hostRoutes = hostRoutes
        self.enableDHCP = enableDHCP
        self.ipv6RAMode = ipv6RAMode
        self.ipv6AddressMode = ipv6AddressMode
    }

    /// The subnet's range.
    public var network: IPNetwork? { IPNetwork(cidr) }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: FieldKey.self)
        try standard.write(to: &c)
        try c.put("network_id", networkID)
        try c.put("ip_version", ipVersion)
        try c.put("cidr", cidr)
        try c.put("gateway_ip", gatewayIP)
        try c.put("allocation_pools", allocationPools)
        try c.put("dns_nameservers", dnsNameservers)
        try c.put("host_routes", hostRoutes)
        try c.put("enable_dhcp", enableDHCP)
        try c.put("ipv6_ra_mode", ipv6RAMode)
        try c.put("ipv6_address_mode", ipv6AddressMode)
        try c.put("subnetpool_id", String?.none)
        try c.put("service_types", [String]())
        try c.put("segment_id", String?.none)
        try c.put("dns_publish_fixed_ip", false)
    }
}
