import Foundation
import UpdraftCore

/// A router: a namespace that forwards between the subnets it has interfaces on and, with
/// an external gateway, NATs them to the external network. Encodes as Neutron's `router`.
public struct Router: NeutronResource, Equatable {
    /// Its leg on an external network.
    public struct Gateway: Sendable, Equatable, Encodable {
        public var networkID: String
        public var enableSNAT: Bool
        public var externalFixedIPs: [Port.FixedIP]

        enum CodingKeys: String, CodingKey {
            case networkID = "network_id"
            case enableSNAT = "enable_snat"
            case externalFixedIPs = "external_fixed_ips"
        }

        public init(networkID: String, enableSNAT: Bool = true, externalFixedIPs: [Port.FixedIP] = []) {
            self.networkID = networkID
            self.enableSNAT = enableSNAT
            self.externalFixedIPs = externalFixedIPs
        }
    }

    public var standard: StandardAttributes
    public var adminStateUp: Bool
    public var status = "ACTIVE"
    public var gateway: Gateway?
    public var routes: [Subnet.Route]

    public init(
        id: String, name: String, description: String = "", projectID: String, adminStateUp: Bool = true,
        gateway: Gateway? = nil, routes: [Subnet.Route] = [], tags: [String] = [], createdAt: Date = .now
    ) {
        standard = StandardAttributes(
            id: id, name: name, description: description, projectID: projectID, tags: tags, createdAt: createdAt)
        self.adminStateUp = adminStateUp
        self.gateway = gateway
        self.routes = routes
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: FieldKey.self)
        try standard.write(to: &c)
        try c.put("admin_state_up", adminStateUp)
        try c.put("status", status)
        try c.put("external_gateway_info", gateway)
        try c.put("routes", routes)
        try c.put("distributed", false)
        try c.put("ha", false)
        try c.put("availability_zones", ["nova"])
        try c.put("availability_zone_hints", [String]())
        try c.put("flavor_id", String?.none)
    }
}

/// An address on an external network, NATed to a port's fixed IP through the port's
/// router. Encodes as Neutron's `floatingip`.
public struct FloatingIP: NeutronResource, Equatable {
    public var standard: StandardAttributes
    public var floatingNetworkID: String
    public var floatingIPAddress: String
    public var portID: String?
    public var fixedIPAddress: String?
    public var routerID: String?
    public var status: String

    public init(
        id: String, description: String = "", projectID: String, floatingNetworkID: String, floatingIPAddress: String,
        portID: String? = nil, fixedIPAddress: String? = nil, routerID: String? = nil, tags: [String] = [],
        createdAt: Date = .now
    ) {
        standard = StandardAttributes(
            id: id, name: nil, description: description, projectID: projectID, tags: tags, createdAt: createdAt)
        self.floatingNetworkID = floatingNetworkID
        self.floatingIPAddress = floatingIPAddress
        self.portID = portID
        self.fixedIPAddress = fixedIPAddress
        self.routerID = routerID
        self.status = portID == nil ? "DOWN" : "ACTIVE"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: FieldKey.self)
        try standard.write(to: &c)
        try c.put("floating_network_id", floatingNetworkID)
        try c.put("floating_ip_address", floatingIPAddress)
        try c.put("port_id", portID)
        try c.put("fixed_ip_address", fixedIPAddress)
        try c.put("router_id", routerID)
        try c.put("status", status)
        try c.put("port_forwardings", [String]())
    }
}
