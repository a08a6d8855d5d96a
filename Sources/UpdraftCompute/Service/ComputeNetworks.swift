import Foundation
import UpdraftCore

/// What compute needs from the network service: ports for its servers, wired before a
/// server is ACTIVE, and what server bodies show of them. The composition root adapts the
/// Neutron service to it, so compute does not depend on the network module; a cloud without
/// networking passes none and servers boot with no NIC.
public protocol ComputeNetworks: Sendable {
    /// Checks what a create asks for before anything is recorded, as Nova's API does, and
    /// resolves it to one request per NIC: `auto` and an unspecified request take the one
    /// network the project can use (`auto` makes one when there is none); several are
    /// ambiguous (409). Names of security groups resolve in the caller's project (400 when absent).
    func resolve(_ request: NetworkRequest, securityGroups: [String], caller: AuthContext) async throws
        -> (nics: [NICRequest], securityGroups: [String])
    /// Makes the ports of `instance`'s requests (or claims the ones it brought), bound to
    /// `host`. Ports already bound to the instance are kept, so a spawn run again after a
    /// restart makes no second set. Returns the ids of its ports.
    func plug(_ instance: Instance, host: String) async throws -> [String]
    /// Returns once the dataplane has wired every port in `ports`; an error after `timeout`.
    func waitWired(_ ports: [String], timeout: Duration) async throws
    /// The NICs the hypervisor gives the instance, in the order the guest sees them.
    func nics(instance: String) async throws -> [InstanceSpec.NIC]
    /// Deletes the ports compute made for the instance and unbinds those it was given.
    func unplug(_ instance: Instance) async throws
    /// Addresses and security groups of each instance, for server bodies.
    func networking(of instances: [String]) async throws -> [String: ServerNetworking]

    /// The instance's ports as `os-interface` shows them.
    func interfaces(instance: String) async throws -> [InterfaceAttachment]
    /// Makes (or claims) one more port for the instance, bound to `host`.
    func attachInterface(_ instance: Instance, _ request: NICRequest, host: String, caller: AuthContext) async throws
        -> InterfaceAttachment
    /// Removes one port from the instance (deleted if compute made it); 404 when it has no such port.
    func detachInterface(_ instance: Instance, portID: String, caller: AuthContext) async throws
    /// Adds or removes a security group (by name or id) on every port of the instance.
    func changeSecurityGroup(_ instance: Instance, group: String, add: Bool, caller: AuthContext) async throws
}

/// The `networks` of a server create.
public enum NetworkRequest: Sendable, Equatable {
    /// No `networks` (before microversion 2.37): the project's one network, or none.
    case unspecified
    /// `"auto"`: the project's one network, or its auto-allocated topology.
    case auto
    /// `"none"`: no NIC.
    case none
    /// Explicit NICs, in order.
    case list([NICRequest])
}

/// One NIC a server asked for: on a network (with an optional fixed address) or an existing port.
public struct NICRequest: Sendable, Equatable, Codable {
    public var networkID: String?
    /// A port the user made; it is unbound, not deleted, when the server goes.
    public var portID: String?
    public var fixedIP: String?
    public var tag: String?

    public init(networkID: String? = nil, portID: String? = nil, fixedIP: String? = nil, tag: String? = nil) {
        self.networkID = networkID
        self.portID = portID
        self.fixedIP = fixedIP
        self.tag = tag
    }

    enum CodingKeys: String, CodingKey {
        case networkID = "network_id"
        case portID = "port_id"
        case fixedIP = "fixed_ip"
        case tag
    }
}

/// What a server body shows of its networking.
public struct ServerNetworking: Sendable, Equatable {
    /// One address on a server, as Nova's `addresses` lists it.
    public struct Address: Sendable, Equatable {
        public var address: String
        public var version: Int
        /// `fixed` or `floating`.
        public var type: String
        public var mac: String

        public init(address: String, version: Int, type: String, mac: String) {
            self.address = address
            self.version = version
            self.type = type
            self.mac = mac
        }
    }

    /// Addresses by network name, in port order.
    public var addresses: [(network: String, addresses: [Address])]
    /// The names of the security groups on its ports.
    public var securityGroups: [String]

    public init(addresses: [(network: String, addresses: [Address])] = [], securityGroups: [String] = []) {
        self.addresses = addresses
        self.securityGroups = securityGroups
    }

    public static func == (a: ServerNetworking, b: ServerNetworking) -> Bool {
        a.securityGroups == b.securityGroups && a.addresses.map(\.network) == b.addresses.map(\.network)
            && a.addresses.map(\.addresses) == b.addresses.map(\.addresses)
    }
}

/// One port of a server as `os-interface` shows it.
public struct InterfaceAttachment: Sendable, Equatable {
    public var portID: String
    public var networkID: String
    public var mac: String
    /// `ACTIVE` once wired, else `DOWN`.
    public var state: String
    public var fixedIPs: [(subnetID: String, address: String)]
    public var tag: String?

    public init(
        portID: String, networkID: String, mac: String, state: String, fixedIPs: [(subnetID: String, address: String)],
        tag: String? = nil
    ) {
        self.portID = portID
        self.networkID = networkID
        self.mac = mac
        self.state = state
        self.fixedIPs = fixedIPs
        self.tag = tag
    }

    public static func == (a: InterfaceAttachment, b: InterfaceAttachment) -> Bool {
        a.portID == b.portID && a.networkID == b.networkID && a.mac == b.mac && a.state == b.state
            && a.fixedIPs.map(\.subnetID) == b.fixedIPs.map(\.subnetID) && a.fixedIPs.map(\.address) == b.fixedIPs.map(\.address)
            && a.tag == b.tag
    }
}
