import Foundation
import UpdraftCore

/// A layer-2 network: a bridge on the host, with its subnets. Encodes as Neutron's `network`.
public struct Network: NeutronResource, Equatable {
    public var standard: StandardAttributes
    public var adminStateUp: Bool
    public var status = "ACTIVE"
    public var subnets: [String] = []
    public var shared: Bool
    public var external: Bool
    /// Whether auto-allocation uses this external network.
    public var isDefault: Bool
    public var mtu: Int
    public var portSecurityEnabled: Bool
    /// `local`, `flat` or `vxlan`; shown to administrators.
    public var networkType: String
    public var physicalNetwork: String?
    public var segmentationID: Int?

    public init(
        id: String, name: String, description: String = "", projectID: String, adminStateUp: Bool = true,
        shared: Bool = false, external: Bool = false, isDefault: Bool = false, mtu: Int = 1500,
        portSecurityEnabled: Bool = true, networkType: String = "local", physicalNetwork: String? = nil,
        segmentationID: Int? = nil, tags: [String] = [], createdAt: Date = .now
    ) {
        standard = StandardAttributes(
            id: id, name: name, description: description, projectID: projectID, tags: tags, createdAt: createdAt)
        self.adminStateUp = adminStateUp
        self.shared = shared
        self.external = external
        self.isDefault = isDefault
        self.mtu = mtu
        self.portSecurityEnabled = portSecurityEnabled
        self.networkType = networkType
        self.physicalNetwork = physicalNetwork
        self.segmentationID = segmentationID
    }

    /// Neutron's body; provider attributes only for an administrator (``CodingUserInfoKey/neutronAdminView``).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: FieldKey.self)
        try standard.write(to: &c)
        try c.put("admin_state_up", adminStateUp)
        try c.put("status", status)
        try c.put("subnets", subnets)
        try c.put("shared", shared)
        try c.put("router:external", external)
        if external { try c.put("is_default", isDefault) }
        try c.put("mtu", mtu)
        try c.put("port_security_enabled", portSecurityEnabled)
        if encoder.neutronAdminView {
            try c.put("provider:network_type", networkType)
            try c.put("provider:physical_network", physicalNetwork)
            try c.put("provider:segmentation_id", segmentationID)
        }
        try c.put("availability_zones", ["nova"])
        try c.put("availability_zone_hints", [String]())
        try c.put("ipv4_address_scope", String?.none)
        try c.put("ipv6_address_scope", String?.none)
        try c.put("l2_adjacency", true)
    }
}
