import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

extension NetworkService {
    public func listRouters(caller: AuthContext) async throws -> [Router] {
        try await database.read { db in
            var sql = SQLQueryString("SELECT * FROM routers")
            if !Policy.isAdmin(caller) { sql += " WHERE project_id = \(bind: caller.projectID ?? "")" }
            sql += " ORDER BY created_at, id"
            return try await Self.complete(try await db.raw(sql).all().map(Self.router), db)
        }
    }

    public func router(_ id: String, caller: AuthContext) async throws -> Router {
        try await database.read { db in try await Self.visibleRouter(id, caller: caller, db) }
    }

    /// Serves `POST /v2.0/routers`, with an external gateway when one is asked for.
    public func createRouter(_ body: JSONObject, caller: AuthContext) async throws -> Router {
        let project = try Self.creator(body, caller)
        let gateway = try Self.gatewayRequest(body, admin: Policy.isAdmin(caller))
        let draft = Router(
            id: UUID().uuidString.lowercased(), name: try Self.name(body), description: try Self.text(body, "description"),
            projectID: project, adminStateUp: try body.bool("admin_state_up") ?? true, tags: try Self.tagList(body),
            createdAt: Self.now)
        let created = try await database.write { db in
            var router = draft
            try await self.checkQuota("router", project: project, adding: 1, db)
            try await Self.insert(router, db)
            if let gateway {
                router.gateway = try await self.setGateway(gateway, on: router, caller: caller, db)
            }
            return router
        }
        await changed()
        return created
    }

    /// Serves `PUT /v2.0/routers/{id}`: name, description, state, gateway (set, change or
    /// clear with `{}` or null) and static routes.
    public func updateRouter(_ id: String, _ body: JSONObject, caller: AuthContext) async throws -> Router {
        let clearGateway: Bool
        switch body.fields["external_gateway_info"] {
        case .null?: clearGateway = true
        case .object(let fields)? where fields.isEmpty: clearGateway = true
        default: clearGateway = false
        }
        let gateway = clearGateway ? nil : try Self.gatewayRequest(body, admin: Policy.isAdmin(caller))
        let routes =
            body.has("routes")
            ? try Self.routes(JSONObject(["host_routes": body.fields["routes"] ?? .null], path: "router"), family: .v4) : nil
        let updated = try await database.write { db in
            var router = try await Self.visibleRouter(id, caller: caller, db)
            try Self.authorizeChange(caller, router.projectID)
            try Self.update(&router.standard, from: body)
            if let state = try body.bool("admin_state_up") { router.adminStateUp = state }
            if clearGateway {
                let floating =
                    try await db.raw("SELECT COUNT(*) AS n FROM floating_ips WHERE router_id = \(bind: id)").first()?.int("n")
                    ?? 0
                guard floating == 0 else {
                    throw UpdraftError(
                        .conflict,
                        "Gateway cannot be updated for router \(id), since a gateway to external network \(router.gateway?.networkID ?? "") is required by one or more floating IPs.",
                        kind: "RouterExternalGatewayInUseByFloatingIp")
                }
                try await Self.clearGateway(of: id, db)
                router.gateway = nil
            } else if let gateway {
                try await Self.clearGateway(of: id, db)
                router.gateway = try await self.setGateway(gateway, on: router, caller: caller, db)
            }
            if let routes {
                let interfaces = try await Self.interfaceSubnets(of: id, db).values
                for route in routes
                where !interfaces.contains(where: { $0.contains(IPAddress(route.nexthop) ?? IPAddress(family: .v6, value: 0)) }) {
                    throw UpdraftError(
                        .badRequest, "Invalid format for routes: the nexthop \(route.nexthop) is not connected with router",
                        kind: "InvalidRoutes")
                }
                router.routes = routes
            }
            router.standard.touch(at: Self.now)
            try await db.raw(
                """
                UPDATE routers SET name = \(bind: router.name), description = \(bind: router.description),
                admin_state_up = \(bind: router.adminStateUp), gateway_network_id = \(bind: router.gateway?.networkID),
                enable_snat = \(bind: router.gateway?.enableSNAT ?? true), routes = \(bind: try Self.json(router.routes)),
                updated_at = \(bind: router.updatedAt.timeIntervalSince1970), revision = \(bind: router.revision) WHERE id = \(bind: id)
                """
            ).run()
            try await Self.setTags(router.tags, on: id, db)
            return router
        }
        await changed()
        return updated
    }

    /// Serves `DELETE /v2.0/routers/{id}`: 409 `RouterInUse` while it has interfaces.
    public func deleteRouter(_ id: String, caller: AuthContext) async throws {
        try await database.write { db in
            let router = try await Self.visibleRouter(id, caller: caller, db)
            try Self.authorizeChange(caller, router.projectID)
            let interfaces =
                try await db.raw(
                    "SELECT COUNT(*) AS n FROM ports WHERE device_id = \(bind: id) AND device_owner = 'network:router_interface'"
                ).first()?.int("n") ?? 0
            guard interfaces == 0 else {
                throw UpdraftError(.conflict, "Router \(id) still has ports", kind: "RouterInUse")
            }
            try await db.raw(
                "UPDATE floating_ips SET port_id = NULL, fixed_ip_address = NULL, router_id = NULL, status = 'DOWN' WHERE router_id = \(bind: id)"
            ).run()
            try await Self.clearGateway(of: id, db)
            try await db.raw("DELETE FROM network_tags WHERE resource_id = \(bind: id)").run()
            try await db.raw("DELETE FROM routers WHERE id = \(bind: id)").run()
        }
        await changed()
    }

    /// What `add_router_interface` and `remove_router_interface` answer.
    public struct InterfaceInfo: Sendable, Encodable {
        public var id: String
        public var projectID: String
        public var portID: String
        public var networkID: String
        public var subnetID: String
        public var subnetIDs: [String]

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: FieldKey.self)
            try c.put("id", id)
            try c.put("project_id", projectID)
            try c.put("tenant_id", projectID)
            try c.put("port_id", portID)
            try c.put("network_id", networkID)
            try c.put("subnet_id", subnetID)
            try c.put("subnet_ids", subnetIDs)
        }
    }

    /// Serves `PUT /v2.0/routers/{id}/add_router_interface` by `subnet_id` (a new port on the
    /// subnet's gateway address) or `port_id` (an existing port with an address).
    public func addInterface(_ id: String, _ body: JSONObject, caller: AuthContext) async throws -> InterfaceInfo {
        let subnetID = try body.string("subnet_id")
        let portID = try body.string("port_id")
        guard (subnetID == nil) != (portID == nil) else {
            throw UpdraftError(
                .badRequest, "Bad router request: Cannot specify both subnet-id and port-id, and one is required.",
                kind: "BadRequest")
        }
        let info = try await database.write { db in
            let router = try await Self.visibleRouter(id, caller: caller, db)
            try Self.authorizeChange(caller, router.projectID)
            var port: Port
            let subnet: Subnet
            if let portID {
                port = try await Self.visiblePort(portID, caller: caller, db)
                guard port.deviceID.isEmpty || port.deviceID == id else {
                    throw UpdraftError(.conflict, "Port \(portID) is in use by \(port.deviceID).", kind: "PortInUse")
                }
                guard let first = port.fixedIPs.first else {
                    throw UpdraftError(
                        .badRequest, "Bad router request: Router port must have at least one fixed IP.", kind: "BadRequest")
                }
                subnet = try await Self.visibleSubnet(first.subnetID, caller: caller, db)
                port.deviceID = id
                port.deviceOwner = "network:router_interface"
                try await db.raw(
                    "UPDATE ports SET device_id = \(bind: id), device_owner = 'network:router_interface', status = 'ACTIVE' WHERE id = \(bind: portID)"
                ).run()
                try await Self.revise(port: portID, db)
                try await db.raw("DELETE FROM port_security_groups WHERE port_id = \(bind: portID)").run()
            } else {
                subnet = try await Self.visibleSubnet(subnetID ?? "", caller: caller, db)
                guard let gateway = subnet.gatewayIP, let address = IPAddress(gateway) else {
                    throw UpdraftError(
                        .badRequest, "Bad router request: Subnet for router interface must have a gateway IP.", kind: "BadRequest"
                    )
                }
                port = Port(
                    id: UUID().uuidString.lowercased(), projectID: router.projectID, networkID: subnet.networkID,
                    macAddress: try await self.uniqueMAC(network: subnet.networkID, db), deviceID: id,
                    deviceOwner: "network:router_interface", portSecurityEnabled: false, createdAt: Self.now)
                port.status = "ACTIVE"
                try await Self.insert(port, db)
                try await Self.allocate(address, subnet: subnet, port: port.id, db)
                port.fixedIPs = [Port.FixedIP(subnetID: subnet.id, ipAddress: gateway)]
            }
            guard let network = subnet.network else { throw UpdraftError.internal("subnet \(subnet.id) has an invalid cidr") }
            for (otherID, other) in try await Self.interfaceSubnets(of: id, db)
            where otherID != subnet.id && other.overlaps(network) {
                throw UpdraftError(
                    .badRequest,
                    "Bad router request: Cidr \(network) of subnet \(subnet.id) overlaps with cidr \(other) of another subnet of the router.",
                    kind: "BadRequest")
            }
            return InterfaceInfo(
                id: id, projectID: router.projectID, portID: port.id, networkID: subnet.networkID, subnetID: subnet.id,
                subnetIDs: [subnet.id])
        }
        await changed()
        return info
    }

    /// Serves `PUT /v2.0/routers/{id}/remove_router_interface`: 409 while floating IPs reach
    /// the subnet through this router.
    public func removeInterface(_ id: String, _ body: JSONObject, caller: AuthContext) async throws -> InterfaceInfo {
        let subnetID = try body.string("subnet_id")
        let portID = try body.string("port_id")
        guard subnetID != nil || portID != nil else {
            throw UpdraftError(
                .badRequest, "Bad router request: Either subnet_id or port_id must be specified.", kind: "BadRequest")
        }
        let info = try await database.write { db in
            let router = try await Self.visibleRouter(id, caller: caller, db)
            try Self.authorizeChange(caller, router.projectID)
            let candidates = try await db.raw(
                "SELECT * FROM ports WHERE device_id = \(bind: id) AND device_owner = 'network:router_interface'"
            ).all().map(Self.port)
            let ports = try await Self.complete(candidates, db)
            guard
                let port = ports.first(where: { port in
                    (portID == nil || port.id == portID)
                        && (subnetID == nil || port.fixedIPs.contains { $0.subnetID == subnetID })
                })
            else {
                if let portID {
                    throw UpdraftError(
                        .notFound, "Router \(id) does not have an interface with id \(portID)", kind: "RouterInterfaceNotFound")
                }
                throw UpdraftError(
                    .notFound, "Router \(id) has no interface on subnet \(subnetID ?? "")",
                    kind: "RouterInterfaceNotFoundForSubnet")
            }
            let subnets = port.fixedIPs.map(\.subnetID)
            let addresses = try await db.raw("SELECT subnet_id, ip_address FROM ip_allocations").all()
            let floating = try await db.raw("SELECT fixed_ip_address FROM floating_ips WHERE router_id = \(bind: id)").all()
                .compactMap { try $0.optionalString("fixed_ip_address") }
            let behind = Set(
                try addresses.filter { subnets.contains(try $0.string("subnet_id")) }.map { try $0.string("ip_address") })
            if let used = floating.first(where: { behind.contains($0) }) {
                throw UpdraftError(
                    .conflict,
                    "Router interface for subnet \(subnets.first ?? "") on router \(id) cannot be deleted, as it is required by one or more floating IPs (\(used)).",
                    kind: "RouterInterfaceInUseByFloatingIP")
            }
            try await Self.removePort(port.id, db)
            return InterfaceInfo(
                id: id, projectID: router.projectID, portID: port.id, networkID: port.networkID,
                subnetID: subnets.first ?? "", subnetIDs: subnets)
        }
        await changed()
        return info
    }

    // MARK: Gateway

    struct GatewayRequest: Sendable {
        var networkID: String
        var enableSNAT: Bool
        var fixedIPs: [FixedIPRequest]?
    }

    static func gatewayRequest(_ body: JSONObject, admin: Bool) throws(UpdraftError) -> GatewayRequest? {
        guard let info = try body.object("external_gateway_info"), !info.fields.isEmpty else { return nil }
        let network = try info.requiredString("network_id")
        let snat = try info.bool("enable_snat")
        if snat == false, !admin { throw adminAttribute("external_gateway_info:enable_snat") }
        let fixed = try fixedIPRequests(
            JSONObject(["fixed_ips": info.fields["external_fixed_ips"] ?? .null], path: "external_gateway_info"))
        if fixed != nil, !admin { throw adminAttribute("external_gateway_info:external_fixed_ips") }
        return GatewayRequest(networkID: network, enableSNAT: snat ?? true, fixedIPs: fixed)
    }

    /// Plugs the router into an external network: a gateway port with an address from it.
    func setGateway(_ request: GatewayRequest, on router: Router, caller: AuthContext, _ db: any SQLDatabase) async throws
        -> Router.Gateway
    {
        let network = try await Self.visibleNetwork(request.networkID, caller: caller, db)
        guard network.external else {
            throw UpdraftError(
                .badRequest, "Bad router request: Network \(network.id) is not an external network.", kind: "BadRequest")
        }
        var port = Port(
            id: UUID().uuidString.lowercased(), projectID: "", networkID: network.id,
            macAddress: try await uniqueMAC(network: network.id, db), deviceID: router.id, deviceOwner: "network:router_gateway",
            portSecurityEnabled: false, createdAt: Self.now)
        port.status = "ACTIVE"
        try await Self.insert(port, db)
        port.fixedIPs = try await assign(request.fixedIPs, to: port, db)
        try await db.raw(
            """
            UPDATE routers SET gateway_network_id = \(bind: network.id), enable_snat = \(bind: request.enableSNAT)
            WHERE id = \(bind: router.id)
            """
        ).run()
        return Router.Gateway(networkID: network.id, enableSNAT: request.enableSNAT, externalFixedIPs: port.fixedIPs)
    }

    static func clearGateway(of router: String, _ db: any SQLDatabase) async throws {
        for row in try await db.raw(
            "SELECT id FROM ports WHERE device_id = \(bind: router) AND device_owner = 'network:router_gateway'"
        ).all() {
            try await removePort(try row.string("id"), db)
        }
        try await db.raw("UPDATE routers SET gateway_network_id = NULL WHERE id = \(bind: router)").run()
    }

    /// The subnets a router has interfaces on.
    /// The subnets the router has interfaces on, by id.
    static func interfaceSubnets(of router: String, _ db: any SQLDatabase) async throws -> [String: IPNetwork] {
        var result: [String: IPNetwork] = [:]
        for row in try await db.raw(
            """
            SELECT s.id, s.cidr FROM ports p JOIN ip_allocations a ON a.port_id = p.id JOIN subnets s ON s.id = a.subnet_id
            WHERE p.device_id = \(bind: router) AND p.device_owner = 'network:router_interface'
            """
        ).all() {
            result[try row.string("id")] = IPNetwork(try row.string("cidr"))
        }
        return result
    }

    // MARK: Rows

    static func visibleRouter(_ id: String, caller: AuthContext, _ db: any SQLDatabase) async throws -> Router {
        guard let row = try await db.raw("SELECT * FROM routers WHERE id = \(bind: id)").first() else {
            throw notFound("Router", id)
        }
        let router = try Self.router(row)
        guard owns(caller, router.projectID) else { throw notFound("Router", id) }
        return try await complete([router], db)[0]
    }

    /// Adds each router's gateway addresses and tags.
    static func complete(_ routers: [Router], _ db: any SQLDatabase) async throws -> [Router] {
        guard !routers.isEmpty else { return [] }
        var gatewayIPs: [String: [Port.FixedIP]] = [:]
        for row in try await db.raw(
            """
            SELECT p.device_id, a.subnet_id, a.ip_address FROM ports p JOIN ip_allocations a ON a.port_id = p.id
            WHERE p.device_owner = 'network:router_gateway'
            """
        ).all() {
            gatewayIPs[try row.string("device_id"), default: []].append(
                Port.FixedIP(subnetID: try row.string("subnet_id"), ipAddress: try row.string("ip_address")))
        }
        let tags = try await Self.tags(of: routers.map(\.id), db)
        return routers.map { router in
            var router = router
            if var gateway = router.gateway {
                gateway.externalFixedIPs = gatewayIPs[router.id] ?? []
                router.gateway = gateway
            }
            router.tags = tags[router.id] ?? []
            return router
        }
    }

    static func router(_ row: any SQLRow) throws -> Router {
        var router = Router(
            id: try row.string("id"), name: try row.string("name"), description: try row.string("description"),
            projectID: try row.string("project_id"), adminStateUp: try row.bool("admin_state_up"),
            routes: try decoded([Subnet.Route].self, try row.string("routes")),
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")))
        if let network = try row.optionalString("gateway_network_id") {
            router.gateway = Router.Gateway(networkID: network, enableSNAT: try row.bool("enable_snat"))
        }
        router.status = try row.string("status")
        router.standard = try Self.standard(row, named: true)
        return router
    }

    static func insert(_ r: Router, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO routers (id, project_id, name, description, admin_state_up, status, gateway_network_id, enable_snat,
              routes, created_at, updated_at, revision)
            VALUES (\(bind: r.id), \(bind: r.projectID), \(bind: r.name), \(bind: r.description), \(bind: r.adminStateUp),
              \(bind: r.status), \(bind: r.gateway?.networkID), \(bind: r.gateway?.enableSNAT ?? true),
              \(bind: try json(r.routes)), \(bind: r.createdAt.timeIntervalSince1970),
              \(bind: r.updatedAt.timeIntervalSince1970), \(bind: r.revision))
            """
        ).run()
        try await setTags(r.tags, on: r.id, db)
    }
}
