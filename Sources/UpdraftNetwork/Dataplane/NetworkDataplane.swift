import LinuxNet

/// What the host must carry, as one declarative picture: the service computes it from the
/// database after a change and the dataplane makes the host match it, adding what is
/// missing and removing what is not in it. The same call reconciles after a restart.
public protocol NetworkDataplane: Sendable {
    /// Makes the host carry exactly `topology`; returns the ids of the ports now wired.
    func apply(_ topology: Topology) async throws -> Set<String>
}

/// Everything the dataplane carries.
public struct Topology: Sendable, Equatable {
    /// A route: traffic for `destination` goes to `nextHop` (the same a DHCP server hands out).
    public typealias Route = LinuxNet.Dnsmasq.Route

    /// An extra address (and MAC) a port may send from.
    public struct AddressPair: Sendable, Equatable, Hashable {
        public var address: String
        public var mac: String

        public init(address: String, mac: String) {
            self.address = address
            self.mac = mac
        }
    }

    /// A network: its bridge, its subnets and the static DHCP leases of its ports.
    public struct Network: Sendable, Equatable {
        public var id: String
        public var external: Bool
        public var mtu: Int
        public var subnets: [Subnet]
        /// The DHCP server's port (its MAC and addresses), when a subnet has DHCP on.
        public var dhcpPort: Port?
        public var leases: [Lease]

        public init(id: String, external: Bool, mtu: Int, subnets: [Subnet], dhcpPort: Port?, leases: [Lease]) {
            self.id = id
            self.external = external
            self.mtu = mtu
            self.subnets = subnets
            self.dhcpPort = dhcpPort
            self.leases = leases
        }
    }

    public struct Subnet: Sendable, Equatable {
        public var id: String
        public var cidr: String
        public var gateway: String?
        public var dhcp: Bool
        public var dnsServers: [String]
        public var routes: [Route]

        public init(
            id: String, cidr: String, gateway: String?, dhcp: Bool, dnsServers: [String],
            routes: [Route]
        ) {
            self.id = id
            self.cidr = cidr
            self.gateway = gateway
            self.dhcp = dhcp
            self.dnsServers = dnsServers
            self.routes = routes
        }
    }

    /// A port as the host sees it: where it plugs in and what it may send.
    public struct Port: Sendable, Equatable {
        public var id: String
        public var networkID: String
        public var mac: String
        /// Its fixed addresses with their prefix lengths (`10.0.0.5/24`).
        public var addresses: [String]
        /// Extra (address, MAC) it may send from.
        public var allowedPairs: [AddressPair]
        /// Whether anti-spoofing and security groups apply.
        public var portSecurity: Bool
        /// The rules that let traffic in and out, resolved (remote groups expanded to addresses).
        public var rules: [Rule]
        /// `admin_state_up`: a port that is down passes nothing.
        public var adminUp: Bool

        /// The port with its rules left out, to tell a change of rules alone from any other.
        var withoutRules: Port {
            var port = self
            port.rules = []
            return port
        }

        public init(
            id: String, networkID: String, mac: String, addresses: [String],
            allowedPairs: [AddressPair] = [], portSecurity: Bool = true, rules: [Rule] = [], adminUp: Bool = true
        ) {
            self.adminUp = adminUp
            self.id = id
            self.networkID = networkID
            self.mac = mac
            self.addresses = addresses
            self.allowedPairs = allowedPairs
            self.portSecurity = portSecurity
            self.rules = rules
        }
    }

    /// One allow rule, resolved: remote groups are already the addresses of their ports.
    public struct Rule: Sendable, Equatable, Hashable {
        public var ingress: Bool
        public var ipv6: Bool
        /// A protocol number, or nil for any.
        public var protocolNumber: Int?
        public var portMin: Int?
        public var portMax: Int?
        /// Remote prefixes; empty means any.
        public var remotes: [String]

        public init(ingress: Bool, ipv6: Bool, protocolNumber: Int?, portMin: Int?, portMax: Int?, remotes: [String]) {
            self.ingress = ingress
            self.ipv6 = ipv6
            self.protocolNumber = protocolNumber
            self.portMin = portMin
            self.portMax = portMax
            self.remotes = remotes
        }
    }

    /// A static DHCP lease: this MAC gets this address and host name.
    public typealias Lease = LinuxNet.Dnsmasq.Host

    /// A router: its interfaces (one port per subnet), its gateway and its NAT.
    public struct Router: Sendable, Equatable {
        public var id: String
        public var interfaces: [Port]
        public var gateway: Port?
        public var gatewayNextHop: String?
        public var snat: Bool
        public var routes: [Route]
        /// Floating IP → fixed IP.
        public var floatingIPs: [String: String]
        /// `admin_state_up`: a router that is down forwards nothing.
        public var adminUp: Bool

        public init(
            id: String, interfaces: [Port], gateway: Port?, gatewayNextHop: String?, snat: Bool,
            routes: [Route], floatingIPs: [String: String], adminUp: Bool = true
        ) {
            self.adminUp = adminUp
            self.id = id
            self.interfaces = interfaces
            self.gateway = gateway
            self.gatewayNextHop = gatewayNextHop
            self.snat = snat
            self.routes = routes
            self.floatingIPs = floatingIPs
        }
    }

    public var networks: [Network]
    /// The ports of VMs: taps the hypervisor opens.
    public var vmPorts: [Port]
    public var routers: [Router]

    public init(networks: [Network] = [], vmPorts: [Port] = [], routers: [Router] = []) {
        self.networks = networks
        self.vmPorts = vmPorts
        self.routers = routers
    }
}
