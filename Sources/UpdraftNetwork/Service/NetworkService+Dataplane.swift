import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

extension NetworkService {
    /// Tells the dataplane loop that the database changed. Changes made while a round runs
    /// fold into the next round.
    func changed() async {
        pokes.yield()
    }

    /// Makes the host carry what the database says, once, and marks the VM ports it wired ACTIVE.
    public func syncDataplane() async throws {
        let wanted = try await topology()
        let wired = try await dataplane.apply(wanted)
        appliedSink.yield(wanted)
        try await database.write { db in
            for port in wanted.vmPorts {
                let status = wired.contains(port.id) ? "ACTIVE" : "DOWN"
                try await db.raw(
                    """
                    UPDATE ports SET status = \(bind: status), revision = revision + 1,
                    updated_at = \(bind: Self.now.timeIntervalSince1970) WHERE id = \(bind: port.id) AND status <> \(bind: status)
                    """
                ).run()
            }
        }
    }

    /// Everything the host must carry, computed from the database.
    public func topology() async throws -> Topology {
        try await database.read { db in
            let networks = try await db.raw("SELECT * FROM networks ORDER BY created_at, id").all().map(Self.network)
            let subnets = try await db.raw("SELECT * FROM subnets ORDER BY created_at, id").all().map(Self.subnet)
            let ports = try await Self.complete(
                try await db.raw("SELECT * FROM ports ORDER BY created_at, id").all().map(Self.port), db)
            let groups = try await Self.complete(
                try await db.raw("SELECT * FROM security_groups").all().map(Self.securityGroup), db)
            let routers = try await db.raw("SELECT * FROM routers ORDER BY created_at, id").all().map(Self.router)
            let floating = try await db.raw("SELECT * FROM floating_ips").all().map(Self.floatingIP)
            return Self.topology(
                networks: networks, subnets: subnets, ports: ports, groups: groups, routers: routers, floating: floating)
        }
    }

    /// The picture, from the rows: pure, so it is tested without a database.
    static func topology(
        networks: [Network], subnets: [Subnet], ports: [Port], groups: [SecurityGroup], routers: [Router],
        floating: [FloatingIP]
    ) -> Topology {
        let subnetsByID = Dictionary(uniqueKeysWithValues: subnets.map { ($0.id, $0) })
        func addresses(_ port: Port) -> [String] {
            port.fixedIPs.compactMap { ip in subnetsByID[ip.subnetID]?.network.map { "\(ip.ipAddress)/\($0.prefixLength)" } }
        }
        func view(_ port: Port, rules: [Topology.Rule] = []) -> Topology.Port {
            Topology.Port(
                id: port.id, networkID: port.networkID, mac: port.macAddress, addresses: addresses(port),
                allowedPairs: port.allowedAddressPairs.map { Topology.AddressPair(address: $0.ipAddress, mac: $0.macAddress) },
                portSecurity: port.portSecurityEnabled, rules: rules, adminUp: port.adminStateUp)
        }
        // The addresses of each group's members, for rules that name a remote group.
        var members: [String: [String]] = [:]
        for port in ports {
            for group in port.securityGroups { members[group, default: []] += port.fixedIPs.map(\.ipAddress) }
        }
        let groupsByID = Dictionary(uniqueKeysWithValues: groups.map { ($0.id, $0) })
        func rules(_ port: Port) -> [Topology.Rule] {
            var result: [Topology.Rule] = []
            for group in port.securityGroups.compactMap({ groupsByID[$0] }) {
                for rule in group.rules {
                    let v6 = rule.ethertype == "IPv6"
                    var remotes: [String] = []
                    if let prefix = rule.remoteIPPrefix {
                        remotes = [prefix]
                    } else if let remote = rule.remoteGroupID {
                        remotes = (members[remote] ?? []).filter { (IPAddress($0)?.family == .v6) == v6 }
                            .map { v6 ? "\($0)/128" : "\($0)/32" }
                        if remotes.isEmpty { continue }
                    }
                    result.append(
                        Topology.Rule(
                            ingress: rule.direction == .ingress, ipv6: v6,
                            protocolNumber: rule.protocolName.flatMap { protocolNumbers[$0] ?? Int($0) },
                            portMin: rule.portRangeMin, portMax: rule.portRangeMax, remotes: remotes))
                }
            }
            return Array(Set(result)).sorted { "\($0)" < "\($1)" }
        }
        var topology = Topology()
        for network in networks {
            let own = subnets.filter { $0.networkID == network.id }
            let dhcp = ports.first { $0.networkID == network.id && $0.deviceOwner == "network:dhcp" }
            let dhcpAddress = { (subnet: Subnet) in dhcp?.fixedIPs.first { $0.subnetID == subnet.id }?.ipAddress }
            let views = own.map { subnet in
                var routes = subnet.hostRoutes.map { Topology.Route(destination: $0.destination, nextHop: $0.nexthop) }
                // The metadata service answers on the DHCP port: reachable with or without a router.
                if subnet.ipVersion == 4, subnet.enableDHCP, let address = dhcpAddress(subnet) {
                    routes.append(Topology.Route(destination: "169.254.169.254/32", nextHop: address))
                }
                return Topology.Subnet(
                    id: subnet.id, cidr: subnet.cidr, gateway: subnet.gatewayIP, dhcp: subnet.enableDHCP,
                    dnsServers: subnet.dnsNameservers, routes: routes)
            }
            let dhcpSubnets = Set(own.filter(\.enableDHCP).map(\.id))
            var leases: [Topology.Lease] = []
            for port in ports where port.networkID == network.id && port.deviceOwner != "network:dhcp" {
                for ip in port.fixedIPs where dhcpSubnets.contains(ip.subnetID) {
                    leases.append(
                        Topology.Lease(
                            mac: port.macAddress, address: ip.ipAddress,
                            hostname: "host-"
                                + ip.ipAddress.replacingOccurrences(of: ".", with: "-").replacingOccurrences(of: ":", with: "-")))
                }
            }
            topology.networks.append(
                Topology.Network(
                    id: network.id, external: network.external, mtu: network.mtu, subnets: views,
                    dhcpPort: dhcp.map { view($0) }, leases: leases))
        }
        topology.vmPorts = ports.filter { $0.deviceOwner.hasPrefix("compute:") }.map {
            view($0, rules: $0.portSecurityEnabled ? rules($0) : [])
        }
        for router in routers {
            let interfaces = ports.filter { $0.deviceID == router.id && $0.deviceOwner == "network:router_interface" }
            let gateway = ports.first { $0.deviceID == router.id && $0.deviceOwner == "network:router_gateway" }
            let nextHop = gateway?.fixedIPs.first.flatMap { subnetsByID[$0.subnetID]?.gatewayIP }
            var nat: [String: String] = [:]
            for ip in floating where ip.routerID == router.id {
                if let fixed = ip.fixedIPAddress { nat[ip.floatingIPAddress] = fixed }
            }
            topology.routers.append(
                Topology.Router(
                    id: router.id, interfaces: interfaces.map { view($0) }, gateway: gateway.map { view($0) },
                    gatewayNextHop: nextHop, snat: router.gateway?.enableSNAT ?? true,
                    routes: router.routes.map { Topology.Route(destination: $0.destination, nextHop: $0.nexthop) },
                    floatingIPs: nat, adminUp: router.adminStateUp))
        }
        return topology
    }

    /// Makes the external network (`public`, on the configured CIDR, owned by `adminProjectID`)
    /// the first time the service starts; nothing when it exists.
    public func bootstrap(adminProjectID: String) async throws {
        let name = configuration.externalNetworkName
        let exists = try await database.read { db in
            try await db.raw("SELECT id FROM networks WHERE name = \(bind: name) AND external = \(bind: true)").first() != nil
        }
        guard !exists, let cidr = IPNetwork(configuration.externalCIDR) else { return }
        let gateway = IPAM.defaultGateway(cidr)
        try await database.write { db in
            let network = Network(
                id: UUID().uuidString.lowercased(), name: name, projectID: adminProjectID, external: true, isDefault: true,
                mtu: self.configuration.mtu, networkType: "flat", physicalNetwork: name, createdAt: Self.now)
            try await Self.insert(network, db)
            let subnet = Subnet(
                id: UUID().uuidString.lowercased(), name: name + "-subnet", projectID: adminProjectID, networkID: network.id,
                cidr: cidr, gatewayIP: gateway?.description, allocationPools: IPAM.defaultPools(cidr, gateway: gateway),
                enableDHCP: false, createdAt: Self.now)
            try await Self.insert(subnet, db)
        }
        logger.notice("external network created", metadata: ["network": "\(name)", "cidr": "\(cidr)"])
    }
}
