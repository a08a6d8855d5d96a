import Foundation
import UpdraftCore

/// A port on a network: a MAC, its fixed IPs and who uses it (a VM's interface, a router's
/// leg, DHCP). Encodes as Neutron's `port`; binding fields only for an administrator.
public struct Port: NeutronResource, Equatable {
    /// One fixed address on one subnet.
    public struct FixedIP: Sendable, Equatable, Hashable, Codable {
        public var subnetID: String
        public var ipAddress: String

        enum CodingKeys: String, CodingKey {
            case subnetID = "subnet_id"
            case ipAddress = "ip_address"
        }

        public init(subnetID: String, ipAddress: String) {
            self.subnetID = subnetID
            self.ipAddress = ipAddress
        }
    }

    /// An extra address (and MAC) the port may send from, for VIPs and nested guests.
    public struct AddressPair: Sendable, Equatable, Codable {
        public var ipAddress: String
        public var macAddress: String

        enum CodingKeys: String, CodingKey {
            case ipAddress = "ip_address"
            case macAddress = "mac_address"
        }

        public init(ipAddress: String, macAddress: String) {
            self.ipAddress = ipAddress
            self.macAddress = macAddress
        }
    }

    public var standard: StandardAttributes
    public var networkID: String
    public var macAddress: String
    public var adminStateUp: Bool
    /// `DOWN` until the dataplane wired it, then `ACTIVE`.
    public var status = "DOWN"
    public var fixedIPs: [FixedIP]
    public var deviceID: String
    public var deviceOwner: String
    public var securityGroups: [String]
    public var portSecurityEnabled: Bool
    public var allowedAddressPairs: [AddressPair]
    public var hostID: String

    public init(
        id: String, name: String = "", description: String = "", projectID: String, networkID: String, macAddress: String,
        adminStateUp: Bool = true, fixedIPs: [FixedIP] = [], deviceID: String = "", deviceOwner: String = "",
        securityGroups: [String] = [], portSecurityEnabled: Bool = true, allowedAddressPairs: [AddressPair] = [],
        hostID: String = "", tags: [String] = [], createdAt: Date = .now
    ) {
        standard = StandardAttributes(
            id: id, name: name, description: description, projectID: projectID, tags: tags, createdAt: createdAt)
        self.networkID = networkID
        self.macAddress = macAddress
        self.adminStateUp = adminStateUp
        self.fixedIPs = fixedIPs
        self.deviceID = deviceID
        self.deviceOwner = deviceOwner
        self.securityGroups = securityGroups
        self.portSecurityEnabled = portSecurityEnabled
        self.allowedAddressPairs = allowedAddressPairs
        self.hostID = hostID
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: FieldKey.self)
        try standard.write(to: &c)
        try c.put("network_id", networkID)
        try c.put("mac_address", macAddress)
        try c.put("admin_state_up", adminStateUp)
        try c.put("status", status)
        try c.put("fixed_ips", fixedIPs)
        try c.put("device_id", deviceID)
        try c.put("device_owner", deviceOwner)
        try c.put("security_groups", securityGroups)
        try c.put("port_security_enabled", portSecurityEnabled)
        try c.put("allowed_address_pairs", allowedAddressPairs)
        try c.put("extra_dhcp_opts", [String]())
        try c.put("binding:vnic_type", "normal")
        guard encoder.neutronAdminView else { return }
        try c.put("binding:host_id", hostID)
        try c.put("binding:vif_type", hostID.isEmpty ? "unbound" : "tap")
        try c.put("binding:profile", [String: String]())
        try c.put("binding:vif_details", ["port_filter": true])
    }
}
