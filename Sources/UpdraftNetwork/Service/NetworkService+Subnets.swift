import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

extension NetworkService {
    /// Subnets of the networks `caller` sees.
    public func listSubnets(caller: AuthContext) async throws -> [Subnet] {
        try await database.read { db in
            // An external network is visible to all; its subnets only to its owner, as in Neutron.
            let visible = Set(
                try await db.raw("SELECT * FROM networks").all().map(Self.network)
                    .filter { Self.owns(caller, $0.projectID) || $0.shared }.map(\.id))
            let subnets = try await db.raw("SELECT * FROM subnets ORDER BY created_at, id").all().map(Self.subnet)
                .filter { visible.contains($0.networkID) }
            return try await Self.tagged(subnets, db)
        }
    }

    public func subnet(_ id: String, caller: AuthContext) async throws -> Subnet {
        try await database.read { db in try await Self.visibleSubnet(id, caller: caller, db) }
    }

    /// Serves `POST /v2.0/subnets`: a CIDR that overlaps no other subnet of the network, a
    /// gateway inside it (the first address by default, none when null), pools clear of the
    /// gateway. With DHCP on, the network's DHCP port takes an address on it.
    public func createSubnet(_ body: JSONObject, caller: AuthContext) async throws -> Subnet {
        let networkID = try body.requiredString("network_id")
        guard let cidrText = try body.string("cidr") else {
            throw UpdraftError(
                .badRequest, "Bad subnets request: a cidr must be specified in the absence of a subnet pool.", kind: "BadRequest")
        }
        guard let cidr = IPNetwork(cidrText) else {
            let hint = IPNetwork(containing: cidrText).map { ", '\($0)' is recommended" } ?? ""
            throw UpdraftError(
                .badRequest, "Invalid input for cidr. Reason: '\(cidrText)' isn't a recognized IP subnet cidr\(hint).",
                kind: "HTTPBadRequest")
        }
        let version = try body.integer("ip_version", in: 0...Int(Int32.max))
        guard version == cidr.family.rawValue else {
            throw UpdraftError(
                .badRequest,
                "Invalid input for operation: cidr and ip_version (\(version.map(String.init) ?? "none")) do not match.",
                kind: "InvalidInput")
        }
        guard cidr.family == .v6 || cidr.prefixLength <= 30 else {
            throw UpdraftError(
                .badRequest, "Invalid input for operation: the prefix length of \(cidr) leaves no usable address.",
                kind: "InvalidInput")
        }
        let gateway = try Self.gateway(body, cidr)
        let pools = try Self.pools(body, cidr, gateway: gateway)
        let dns = try Self.nameservers(body)
        let routes = try Self.routes(body, family: cidr.family)
        let enableDHCP = try body.bool("enable_dhcp") ?? true
        let raMode = try Self.ipv6Mode(body, "ipv6_ra_mode", cidr)
        let addressMode = try Self.ipv6Mode(body, "ipv6_address_mode", cidr)
        let name = try Self.name(body)
        let description = try Self.text(body, "description")
        let tags = try Self.tagList(body)
        let requestedProject = try Self.requestedProject(body)
        let created = try await database.write { db in
            let network = try await Self.visibleNetwork(networkID, caller: caller, db)
            let project = try Self.owner(requestedProject ?? network.projectID, caller)
            guard Policy.isAdmin(caller) || network.projectID == caller.projectID else {
                throw UpdraftError(
                    .forbidden, "Tenant \(caller.projectID ?? "") not allowed to create subnet on this network",
                    kind: "HTTPForbidden")
            }
            try Self.authorizeChange(caller, project)
            for row in try await db.raw("SELECT cidr FROM subnets WHERE network_id = \(bind: networkID)").all() {
                if let other = IPNetwork(try row.string("cidr")), other.overlaps(cidr) {
                    throw UpdraftError(
                        .badRequest,
                        "Invalid input for operation: Requested subnet with cidr: \(cidr) for network: \(networkID) overlaps with another subnet.",
                        kind: "InvalidInput")
                }
            }
            try await self.checkQuota("subnet", project: project, adding: 1, db)
            let subnet = Subnet(
                id: UUID().uuidString.lowercased(), name: name, description: description, projectID: project,
                networkID: networkID, cidr: cidr, gatewayIP: gateway?.description, allocationPools: pools,
                dnsNameservers: dns, hostRoutes: routes, enableDHCP: enableDHCP, ipv6RAMode: raMode,
                ipv6AddressMode: addressMode, tags: tags, createdAt: Self.now)
            try await Self.insert(subnet, db)
            if enableDHCP { try await self.attachDHCP(network: network, subnet: subnet, db) }
            return subnet
        }
        await changed()
        return created
    }

    /// Serves `PUT /v2.0/subnets/{id}`: name, description, gateway, pools, DNS, routes, DHCP.
    public func updateSubnet(_ id: String, _ body: JSONObject, caller: AuthContext) async throws -> Subnet {
        for key in ["cidr", "ip_version", "network_id", "ipv6_ra_mode", "ipv6_address_mode"] where body.has(key) {
            throw UpdraftError(.badRequest, "Cannot update read-only attribute \(key)", kind: "HTTPBadRequest")
        }
        let updated = try await database.write { db in
            var subnet = try await Self.visibleSubnet(id, caller: caller, db)
            try Self.authorizeChange(caller, subnet.projectID)
            guard let cidr = subnet.network else { throw UpdraftError.internal("subnet \(id) has an invalid cidr") }
            try Self.update(&subnet.standard, from: body)
            if body.has("gateway_ip") {
                let gateway = try Self.gateway(body, cidr)
                if let gateway, IPAM.inPools(gateway, subnet.allocationPools), !body.has("allocation_pools") {
                    throw UpdraftError(
                        .conflict, "Gateway ip \(gateway) conflicts with allocation pool of subnet \(id).",
                        kind: "GatewayConflictWithAllocationPools")
                }
                subnet.gatewayIP = gateway?.description
            }
            if body.has("allocation_pools") {
                subnet.allocationPools = try Self.pools(body, cidr, gateway: subnet.gatewayIP.flatMap(IPAddress.init))
            }
            if body.has("dns_nameservers") { subnet.dnsNameservers = try Self.nameservers(body) }
            if body.has("host_routes") { subnet.hostRoutes = try Self.routes(body, family: cidr.family) }
            if let dhcp = try body.bool("enable_dhcp"), dhcp != subnet.enableDHCP {
                subnet.enableDHCP = dhcp
                let network = try await Self.visibleNetwork(subnet.networkID, caller: .system, db)
                if dhcp {
                    try await self.attachDHCP(network: network, subnet: subnet, db)
                } else {
                    try await self.detachDHCP(networkID: subnet.networkID, subnetID: id, db)
                }
            }
            subnet.standard.touch(at: Self.now)
            // In place: ports' addresses refer to the row.
            try await db.raw(
                """
                UPDATE subnets SET name = \(bind: subnet.name), description = \(bind: subnet.description),
                  gateway_ip = \(bind: subnet.gatewayIP), allocation_pools = \(bind: try Self.json(subnet.allocationPools)),
                  dns_nameservers = \(bind: try Self.json(subnet.dnsNameservers)),
                  host_routes = \(bind: try Self.json(subnet.hostRoutes)), enable_dhcp = \(bind: subnet.enableDHCP),
                  updated_at = \(bind: subnet.updatedAt.timeIntervalSince1970), revision = \(bind: subnet.revision)
                WHERE id = \(bind: id)
                """
            ).run()
            try await Self.setTags(subnet.tags, on: id, db)
            return subnet
        }
        await changed()
        return updated
    }

    /// Serves `DELETE /v2.0/subnets/{id}`: 409 `SubnetInUse` while a port other than DHCP
    /// holds an address on it.
    public func deleteSubnet(_ id: String, caller: AuthContext) async throws {
        try await database.write { db in
            let subnet = try await Self.visibleSubnet(id, caller: caller, db)
            try Self.authorizeChange(caller, subnet.projectID)
            let busy =
                try await db.raw(
                    """
                    SELECT COUNT(*) AS n FROM ip_allocations a JOIN ports p ON p.id = a.port_id
                    WHERE a.subnet_id = \(bind: id) AND p.device_owner <> 'network:dhcp'
                    """
                ).first()?.int("n") ?? 0
            guard busy == 0 else {
                throw UpdraftError(
                    .conflict,
                    "Unable to complete operation on subnet \(id): One or more ports have an IP allocation from this subnet.",
                    kind: "SubnetInUse")
            }
            try await self.detachDHCP(networkID: subnet.networkID, subnetID: id, db)
            try await db.raw("DELETE FROM network_tags WHERE resource_id = \(bind: id)").run()
            try await db.raw("DELETE FROM subnets WHERE id = \(bind: id)").run()
        }
        await changed()
    }

    // MARK: DHCP port

    /// Gives the network's DHCP port an address on `subnet`, making the port first if needed.
    func attachDHCP(network: Network, subnet: Subnet, _ db: any SQLDatabase) async throws {
        let existing = try await db.raw(
            "SELECT id FROM ports WHERE network_id = \(bind: network.id) AND device_owner = 'network:dhcp'"
        ).first()?.string("id")
        let portID: String
        if let existing {
            portID = existing
        } else {
            var port = Port(
                id: UUID().uuidString.lowercased(), projectID: network.projectID, networkID: network.id,
                macAddress: try await uniqueMAC(network: network.id, db), deviceID: "dhcp-" + network.id,
                deviceOwner: "network:dhcp", portSecurityEnabled: false, createdAt: Self.now)
            port.status = "ACTIVE"
            try await Self.insert(port, db)
            portID = port.id
        }
        guard let address = try await Self.freeAddress(in: subnet, db) else { return }
        try await Self.allocate(address, subnet: subnet, port: portID, db)
        if existing != nil { try await Self.revise(port: portID, db) }
    }

    /// Takes the DHCP port's address on `subnetID` back; the port goes when it has none left.
    func detachDHCP(networkID: String, subnetID: String, _ db: any SQLDatabase) async throws {
        guard
            let portID = try await db.raw(
                "SELECT id FROM ports WHERE network_id = \(bind: networkID) AND device_owner = 'network:dhcp'"
            ).first()?.string("id")
        else { return }
        try await db.raw("DELETE FROM ip_allocations WHERE port_id = \(bind: portID) AND subnet_id = \(bind: subnetID)").run()
        let left =
            try await db.raw("SELECT COUNT(*) AS n FROM ip_allocations WHERE port_id = \(bind: portID)").first()?.int("n") ?? 0
        if left == 0 {
            try await db.raw("DELETE FROM ports WHERE id = \(bind: portID)").run()
        } else {
            try await Self.revise(port: portID, db)
        }
    }

    // MARK: Addresses

    /// The lowest free address of the subnet's pools.
    static func freeAddress(in subnet: Subnet, _ db: any SQLDatabase) async throws -> IPAddress? {
        let used = Set(
            try await db.raw("SELECT ip_address FROM ip_allocations WHERE subnet_id = \(bind: subnet.id)").all()
                .compactMap { IPAddress(try $0.string("ip_address")) })
        return IPAM.nextFree(pools: subnet.allocationPools, used: used)
    }

    /// Records that `port` holds `address` on `subnet`; 409 `IpAddressAlreadyAllocated` when taken.
    static func allocate(_ address: IPAddress, subnet: Subnet, port: String, _ db: any SQLDatabase) async throws {
        let taken = try await db.raw(
            "SELECT port_id FROM ip_allocations WHERE subnet_id = \(bind: subnet.id) AND ip_address = \(bind: address.description)"
        ).first()
        guard taken == nil else {
            throw UpdraftError(
                .conflict, "IP address \(address) already allocated in subnet \(subnet.id)", kind: "IpAddressAlreadyAllocated")
        }
        try await db.raw(
            """
            INSERT INTO ip_allocations (subnet_id, ip_address, port_id, network_id)
            VALUES (\(bind: subnet.id), \(bind: address.description), \(bind: port), \(bind: subnet.networkID))
            """
        ).run()
    }

    // MARK: Rows

    static func visibleSubnet(_ id: String, caller: AuthContext, _ db: any SQLDatabase) async throws -> Subnet {
        guard let row = try await db.raw("SELECT * FROM subnets WHERE id = \(bind: id)").first() else {
            throw notFound("Subnet", id)
        }
        let subnet = try Self.subnet(row)
        guard (try? await visibleNetwork(subnet.networkID, caller: caller, db)) != nil else { throw notFound("Subnet", id) }
        return try await tagged([subnet], db)[0]
    }

    static func tagged(_ subnets: [Subnet], _ db: any SQLDatabase) async throws -> [Subnet] {
        let tags = try await Self.tags(of: subnets.map(\.id), db)
        return subnets.map { subnet in
            var subnet = subnet
            subnet.tags = tags[subnet.id] ?? []
            return subnet
        }
    }

    static func subnet(_ row: any SQLRow) throws -> Subnet {
        let cidrText = try row.string("cidr")
        guard let cidr = IPNetwork(cidrText) else { throw UpdraftError.internal("stored subnet cidr \(cidrText) is invalid") }
        var subnet = Subnet(
            id: try row.string("id"), name: try row.string("name"), description: try row.string("description"),
            projectID: try row.string("project_id"), networkID: try row.string("network_id"), cidr: cidr,
            gatewayIP: try row.optionalString("gateway_ip"),
            allocationPools: try decoded([Subnet.Pool].self, try row.string("allocation_pools")),
            dnsNameservers: try decoded([String].self, try row.string("dns_nameservers")),
            hostRoutes: try decoded([Subnet.Route].self, try row.string("host_routes")),
            enableDHCP: try row.bool("enable_dhcp"), ipv6RAMode: try row.optionalString("ipv6_ra_mode"),
            ipv6AddressMode: try row.optionalString("ipv6_address_mode"),
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")))
        subnet.standard = try Self.standard(row, named: true)
        return subnet
    }

    static func insert(_ s: Subnet, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO subnets (id, project_id, network_id, name, description, ip_version, cidr, gateway_ip,
              allocation_pools, dns_nameservers, host_routes, enable_dhcp, ipv6_ra_mode, ipv6_address_mode,
              created_at, updated_at, revision)
            VALUES (\(bind: s.id), \(bind: s.projectID), \(bind: s.networkID), \(bind: s.name), \(bind: s.description),
              \(bind: s.ipVersion), \(bind: s.cidr), \(bind: s.gatewayIP), \(bind: try json(s.allocationPools)),
              \(bind: try json(s.dnsNameservers)), \(bind: try json(s.hostRoutes)), \(bind: s.enableDHCP),
              \(bind: s.ipv6RAMode), \(bind: s.ipv6AddressMode), \(bind: s.createdAt.timeIntervalSince1970),
              \(bind: s.updatedAt.timeIntervalSince1970), \(bind: s.revision))
            """
        ).run()
        try await setTags(s.tags, on: s.id, db)
    }

    // MARK: Fields

    /// `gateway_ip`: absent is the first address, null is none, otherwise an address in the subnet.
    static func gateway(_ body: JSONObject, _ cidr: IPNetwork) throws(UpdraftError) -> IPAddress? {
        switch body.fields["gateway_ip"] {
        case nil: return IPAM.defaultGateway(cidr)
        case .null?: return nil
        case .string(let text)?:
            guard let address = IPAddress(text), cidr.contains(address), address != cidr.address,
                cidr.family == .v6 || address != cidr.last
            else {
                throw UpdraftError(
                    .badRequest, "Invalid input for operation: Gateway is not valid on subnet \(cidr): \(text).",
                    kind: "InvalidInput")
            }
            return address
        case let other?:
            throw UpdraftError(
                .badRequest, "Invalid input for gateway_ip. Reason: '\(other.jsonText)' is not a valid IP address.",
                kind: "HTTPBadRequest")
        }
    }

    static func pools(_ body: JSONObject, _ cidr: IPNetwork, gateway: IPAddress?) throws(UpdraftError) -> [Subnet.Pool] {
        guard let objects = try body.objects("allocation_pools") else { return IPAM.defaultPools(cidr, gateway: gateway) }
        var pools: [Subnet.Pool] = []
        for object in objects {
            guard let start = try object.string("start"), let end = try object.string("end") else {
                throw UpdraftError(
                    .badRequest, "Invalid input for allocation_pools. Reason: each pool needs a start and an end.",
                    kind: "HTTPBadRequest")
            }
            pools.append(Subnet.Pool(start: start, end: end))
        }
        try IPAM.validate(pools: pools, in: cidr, gateway: gateway)
        return pools
    }

    static func nameservers(_ body: JSONObject) throws(UpdraftError) -> [String] {
        let servers = try body.strings("dns_nameservers") ?? []
        guard servers.count <= 5 else {
            throw UpdraftError(.badRequest, "Quota exceeded for resources: ['dns_nameservers'].", kind: "DNSNameServersExhausted")
        }
        for server in servers where IPAddress(server) == nil {
            throw UpdraftError(
                .badRequest, "Invalid input for dns_nameservers. Reason: '\(server)' is not a valid nameserver.",
                kind: "HTTPBadRequest")
        }
        guard Set(servers).count == servers.count else {
            throw UpdraftError(
                .badRequest, "Invalid input for dns_nameservers. Reason: duplicate nameserver.", kind: "HTTPBadRequest")
        }
        return servers
    }

    static func routes(_ body: JSONObject, family: IPAddress.Family) throws(UpdraftError) -> [Subnet.Route] {
        var routes: [Subnet.Route] = []
        for object in try body.objects("host_routes") ?? [] {
            guard let destination = try object.string("destination"), let hop = try object.string("nexthop"),
                let network = IPNetwork(containing: destination), network.family == family,
                let nextHop = IPAddress(hop), nextHop.family == family
            else {
                throw UpdraftError(
                    .badRequest,
                    "Invalid input for host_routes. Reason: each route needs a destination CIDR and a nexthop address of the subnet's version.",
                    kind: "HTTPBadRequest")
            }
            routes.append(Subnet.Route(destination: network.description, nexthop: nextHop.description))
        }
        guard routes.count <= 20 else {
            throw UpdraftError(.badRequest, "Quota exceeded for resources: ['host_routes'].", kind: "HostRoutesExhausted")
        }
        return routes
    }

    static func ipv6Mode(_ body: JSONObject, _ key: String, _ cidr: IPNetwork) throws(UpdraftError) -> String? {
        guard let mode = try body.string(key) else { return nil }
        guard cidr.family == .v6 else {
            throw UpdraftError(
                .badRequest, "Invalid input for operation: \(key) is not valid when ip_version is 4.", kind: "InvalidInput")
        }
        guard ["slaac", "dhcpv6-stateful", "dhcpv6-stateless"].contains(mode) else {
            throw UpdraftError(
                .badRequest,
                "Invalid input for \(key). Reason: '\(mode)' is not in ['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac'].",
                kind: "HTTPBadRequest")
        }
        return mode
    }
}
