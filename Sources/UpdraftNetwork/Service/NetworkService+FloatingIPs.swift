import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

extension NetworkService {
    public func listFloatingIPs(caller: AuthContext) async throws -> [FloatingIP] {
        try await database.read { db in
            var sql = SQLQueryString("SELECT * FROM floating_ips")
            if !Policy.isAdmin(caller) { sql += " WHERE project_id = \(bind: caller.projectID ?? "")" }
            sql += " ORDER BY created_at, id"
            let ips = try await db.raw(sql).all().map(Self.floatingIP)
            let tags = try await Self.tags(of: ips.map(\.id), db)
            return ips.map { ip in
                var ip = ip
                ip.tags = tags[ip.id] ?? []
                return ip
            }
        }
    }

    public func floatingIP(_ id: String, caller: AuthContext) async throws -> FloatingIP {
        try await database.read { db in try await Self.visibleFloatingIP(id, caller: caller, db) }
    }

    /// Serves `POST /v2.0/floatingips`: an address from an external network (a port owned by
    /// the floating IP holds it), associated at once when `port_id` is given.
    public func createFloatingIP(_ body: JSONObject, caller: AuthContext) async throws -> FloatingIP {
        let project = try Self.creator(body, caller)
        let networkID = try body.requiredString("floating_network_id")
        let requestedAddress = try body.string("floating_ip_address")
        if requestedAddress != nil, !Policy.isAdmin(caller) { throw Self.adminAttribute("floating_ip_address") }
        let subnetID = try body.string("subnet_id")
        let portID = try body.string("port_id")
        let fixedAddress = try body.string("fixed_ip_address")
        let description = try Self.text(body, "description")
        let tags = try Self.tagList(body)
        let created = try await database.write { db in
            let network = try await Self.visibleNetwork(networkID, caller: caller, db)
            guard network.external else {
                throw UpdraftError(
                    .badRequest, "Bad floatingip request: Network \(networkID) is not a valid external network.",
                    kind: "BadRequest")
            }
            try await self.checkQuota("floatingip", project: project, adding: 1, db)
            let id = UUID().uuidString.lowercased()
            var holder = Port(
                id: UUID().uuidString.lowercased(), projectID: "", networkID: networkID,
                macAddress: try await self.uniqueMAC(network: networkID, db), deviceID: id, deviceOwner: "network:floatingip",
                portSecurityEnabled: false, createdAt: Self.now)
            holder.status = "N/A"
            try await Self.insert(holder, db)
            var request: FixedIPRequest? = nil
            if let requestedAddress {
                guard let address = IPAddress(requestedAddress) else {
                    throw UpdraftError(
                        .badRequest,
                        "Invalid input for floating_ip_address. Reason: '\(requestedAddress)' is not a valid IP address.",
                        kind: "HTTPBadRequest")
                }
                request = FixedIPRequest(subnetID: subnetID, address: address)
            } else if let subnetID {
                request = FixedIPRequest(subnetID: subnetID, address: nil)
            }
            let assigned = try await self.assign(request.map { [$0] }, to: holder, db)
            guard let address = assigned.first(where: { IPAddress($0.ipAddress)?.family == .v4 }) ?? assigned.first else {
                throw Self.exhausted(networkID)
            }
            var floating = FloatingIP(
                id: id, description: description, projectID: project, floatingNetworkID: networkID,
                floatingIPAddress: address.ipAddress, tags: tags, createdAt: Self.now)
            try await db.raw(
                """
                INSERT INTO floating_ips (id, project_id, description, floating_network_id, floating_ip_address, floating_port_id,
                  port_id, fixed_ip_address, router_id, status, created_at, updated_at, revision)
                VALUES (\(bind: id), \(bind: project), \(bind: description), \(bind: networkID), \(bind: address.ipAddress),
                  \(bind: holder.id), NULL, NULL, NULL, 'DOWN', \(bind: floating.createdAt.timeIntervalSince1970),
                  \(bind: floating.updatedAt.timeIntervalSince1970), \(bind: floating.revision))
                """
            ).run()
            try await Self.setTags(tags, on: id, db)
            if let portID {
                floating = try await self.associate(floating, port: portID, fixedAddress: fixedAddress, caller: caller, db)
            }
            return floating
        }
        await changed()
        return created
    }

    /// Serves `PUT /v2.0/floatingips/{id}`: `port_id` associates (or, null, disassociates).
    public func updateFloatingIP(_ id: String, _ body: JSONObject, caller: AuthContext) async throws -> FloatingIP {
        let portID = try body.string("port_id")
        let fixedAddress = try body.string("fixed_ip_address")
        let updated = try await database.write { db in
            var floating = try await Self.visibleFloatingIP(id, caller: caller, db)
            try Self.authorizeChange(caller, floating.projectID)
            if body.has("description") { floating.description = try Self.text(body, "description") }
            if body.has("port_id") {
                if let portID {
                    floating = try await self.associate(floating, port: portID, fixedAddress: fixedAddress, caller: caller, db)
                } else {
                    floating.portID = nil
                    floating.fixedIPAddress = nil
                    floating.routerID = nil
                    floating.status = "DOWN"
                }
            }
            floating.standard.touch(at: Self.now)
            try await db.raw(
                """
                UPDATE floating_ips SET description = \(bind: floating.description), port_id = \(bind: floating.portID),
                fixed_ip_address = \(bind: floating.fixedIPAddress), router_id = \(bind: floating.routerID),
                status = \(bind: floating.status), updated_at = \(bind: floating.updatedAt.timeIntervalSince1970),
                revision = \(bind: floating.revision) WHERE id = \(bind: id)
                """
            ).run()
            return floating
        }
        await changed()
        return updated
    }

    /// Serves `DELETE /v2.0/floatingips/{id}`: the address goes back to the external network.
    public func deleteFloatingIP(_ id: String, caller: AuthContext) async throws {
        try await database.write { db in
            let floating = try await Self.visibleFloatingIP(id, caller: caller, db)
            try Self.authorizeChange(caller, floating.projectID)
            if let holder = try await db.raw("SELECT floating_port_id FROM floating_ips WHERE id = \(bind: id)").first()?
                .string("floating_port_id")
            {
                try await Self.removePort(holder, db)
            }
            try await db.raw("DELETE FROM network_tags WHERE resource_id = \(bind: id)").run()
            try await db.raw("DELETE FROM floating_ips WHERE id = \(bind: id)").run()
        }
        await changed()
    }

    /// Points `floating` at a fixed address of `port`, through the router that has an
    /// interface on that address's subnet and a gateway on the floating IP's network (404
    /// `ExternalGatewayForFloatingIPNotFound` when there is none).
    func associate(
        _ floating: FloatingIP, port portID: String, fixedAddress: String?, caller: AuthContext, _ db: any SQLDatabase
    ) async throws -> FloatingIP {
        let port = try await Self.visiblePort(portID, caller: caller, db)
        guard
            let fixed = port.fixedIPs.first(where: {
                fixedAddress == nil ? IPAddress($0.ipAddress)?.family == .v4 : $0.ipAddress == fixedAddress
            })
        else {
            throw UpdraftError(
                .badRequest, "Bad floatingip request: Port \(portID) does not have fixed ip \(fixedAddress ?? "of IPv4").",
                kind: "BadRequest")
        }
        let taken = try await db.raw(
            """
            SELECT id FROM floating_ips WHERE port_id = \(bind: portID) AND fixed_ip_address = \(bind: fixed.ipAddress)
            AND id <> \(bind: floating.id)
            """
        ).first()
        if let taken {
            throw UpdraftError(
                .conflict,
                "Cannot associate floating IP \(floating.floatingIPAddress) (\(floating.id)) with port \(portID) using fixed IP \(fixed.ipAddress), as that fixed IP already has a floating IP on external network \(floating.floatingNetworkID): \(try taken.string("id")).",
                kind: "FloatingIPPortAlreadyAssociated")
        }
        let router = try await db.raw(
            """
            SELECT r.id FROM routers r JOIN ports p ON p.device_id = r.id AND p.device_owner = 'network:router_interface'
            JOIN ip_allocations a ON a.port_id = p.id
            WHERE a.subnet_id = \(bind: fixed.subnetID) AND r.gateway_network_id = \(bind: floating.floatingNetworkID)
            """
        ).first()?.string("id")
        guard let router else {
            throw UpdraftError(
                .notFound,
                "External network \(floating.floatingNetworkID) is not reachable from subnet \(fixed.subnetID). Therefore, cannot associate Port \(portID) with a Floating IP.",
                kind: "ExternalGatewayForFloatingIPNotFound")
        }
        var floating = floating
        floating.portID = portID
        floating.fixedIPAddress = fixed.ipAddress
        floating.routerID = router
        floating.status = "ACTIVE"
        try await db.raw(
            """
            UPDATE floating_ips SET port_id = \(bind: portID), fixed_ip_address = \(bind: fixed.ipAddress),
            router_id = \(bind: router), status = 'ACTIVE' WHERE id = \(bind: floating.id)
            """
        ).run()
        return floating
    }

    static func visibleFloatingIP(_ id: String, caller: AuthContext, _ db: any SQLDatabase) async throws -> FloatingIP {
        guard let row = try await db.raw("SELECT * FROM floating_ips WHERE id = \(bind: id)").first() else {
            throw notFound("FloatingIP", id)
        }
        var floating = try Self.floatingIP(row)
        guard owns(caller, floating.projectID) else { throw notFound("FloatingIP", id) }
        floating.tags = try await Self.tags(of: [id], db)[id] ?? []
        return floating
    }

    static func floatingIP(_ row: any SQLRow) throws -> FloatingIP {
        var floating = FloatingIP(
            id: try row.string("id"), description: try row.string("description"), projectID: try row.string("project_id"),
            floatingNetworkID: try row.string("floating_network_id"), floatingIPAddress: try row.string("floating_ip_address"),
            portID: try row.optionalString("port_id"), fixedIPAddress: try row.optionalString("fixed_ip_address"),
            routerID: try row.optionalString("router_id"), createdAt: Date(timeIntervalSince1970: try row.double("created_at")))
        floating.status = try row.string("status")
        floating.standard = try Self.standard(row, named: false)
        return floating
    }
}
