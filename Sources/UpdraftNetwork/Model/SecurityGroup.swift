import Foundation
import UpdraftCore

/// A set of allow rules applied to ports; everything else is dropped (ingress) and the
/// default group allows all egress. Encodes as Neutron's `security_group`.
public struct SecurityGroup: NeutronResource, Equatable {
    public var standard: StandardAttributes
    public var stateful: Bool
    public var rules: [SecurityGroupRule]

    public init(
        id: String, name: String, description: String = "", projectID: String, stateful: Bool = true,
        rules: [SecurityGroupRule] = [], tags: [String] = [], createdAt: Date = .now
    ) {
        standard = StandardAttributes(
            id: id, name: name, description: description, projectID: projectID, tags: tags, createdAt: createdAt)
        self.stateful = stateful
        self.rules = rules
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: FieldKey.self)
        try standard.write(to: &c)
        try c.put("stateful", stateful)
        try c.put("shared", false)
        try c.put("security_group_rules", rules)
    }
}

/// One allow rule. Encodes as Neutron's `security_group_rule`.
public struct SecurityGroupRule: NeutronResource, Equatable {
    public enum Direction: String, Sendable, Codable {
        case ingress, egress
    }

    public var standard: StandardAttributes
    public var securityGroupID: String
    public var direction: Direction
    /// `IPv4` or `IPv6`.
    public var ethertype: String
    /// A protocol name Neutron knows (`tcp`, `icmp`, ...) or a number as text; nil is any.
    public var protocolName: String?
    public var portRangeMin: Int?
    public var portRangeMax: Int?
    public var remoteIPPrefix: String?
    public var remoteGroupID: String?

    public init(
        id: String, securityGroupID: String, projectID: String, description: String = "", direction: Direction,
        ethertype: String = "IPv4", protocolName: String? = nil, portRangeMin: Int? = nil, portRangeMax: Int? = nil,
        remoteIPPrefix: String? = nil, remoteGroupID: String? = nil, createdAt: Date = .now
    ) {
        standard = StandardAttributes(
            id: id, name: nil, description: description, projectID: projectID, createdAt: createdAt, revision: 0)
        self.securityGroupID = securityGroupID
        self.direction = direction
        self.ethertype = ethertype
        self.protocolName = protocolName
        self.portRangeMin = portRangeMin
        self.portRangeMax = portRangeMax
        self.remoteIPPrefix = remoteIPPrefix
        self.remoteGroupID = remoteGroupID
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: FieldKey.self)
        try standard.write(to: &c)
        try c.put("security_group_id", securityGroupID)
        try c.put("direction", direction)
        try c.put("ethertype", ethertype)
        try c.put("protocol", protocolName)
        try c.put("port_range_min", portRangeMin)
        try c.put("port_range_max", portRangeMax)
        try c.put("remote_ip_prefix", remoteIPPrefix)
        try c.put("remote_group_id", remoteGroupID)
        try c.put("remote_address_group_id", String?.none)
        try c.put("normalized_cidr", remoteIPPrefix.flatMap { IPNetwork(containing: $0)?.description })
    }
}
