import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

extension NetworkService {
    /// Networks `caller` sees: its project's, shared and external ones; all for an administrator.
    public func listNetworks(caller: AuthContext) async throws -> [Network] {
        try await database.read { db in
            let rows = try await db.raw("SELECT * FROM networks ORDER BY created_at, id").all()
            let networks = try rows.map(Self.network).filter { Self.sees(caller, $0) }
            return try await Self.complete(networks, db)
        }
    }

    /// One network `caller` sees; 404 otherwise.
    public func network(_ id: String, caller: AuthContext) async throws -> Network {
        try await database.read { db in try await Self.visibleNetwork(id, caller: caller, db) }
    }

    /// Serves `POST /v2.0/networks`. `shared`, `router:external` and provider attributes are
    /// for administrators; quotas are checked in the same transaction.
    public func createNetwork(_ body: JSONObject, caller: AuthContext) async throws -> Network {
        let project = try Self.creator(body, caller)
        let admin = Policy.isAdmin(caller)
        var network = Network(
            id: UUID().uuidString.lowercased(), name: try Self.name(body), description: try Self.text(body, "description"),
            projectID: project, adminStateUp: try body.bool("admin_state_up") ?? true,
            shared: try Self.adminOnly(body, "shared", admin: admin) ?? false,
            external: try Self.adminOnly(body, "router:external", admin: admin) ?? false,
            isDefault: try Self.adminOnly(body, "is_default", admin: admin) ?? false, mtu: configuration.mtu,
            portSecurityEnabled: try body.bool("port_security_enabled") ?? true, createdAt: Self.now)
        if let mtu = try body.integer("mtu", in: 68...65535) { network.mtu = min(mtu, configuration.mtu) }
        if let type = try body.string("provider:network_type") {
            guard admin else { throw Self.adminAttribute("provider:network_type") }
            guard ["local", "flat", "vxlan"].contains(type) else {
                throw UpdraftError(
                    .badRequest, "Invalid input for operation: network_type value '\(type)' not supported.", kind: "InvalidInput")
            }
            network.networkType = type
            network.physicalNetwork = try body.string("provider:physical_network")
        }
        network.tags = try Self.tagList(body)
        let created = network
        try await database.write { db in
            try await self.checkQuota("network", project: project, adding: 1, db)
            if created.isDefault { try await db.raw("UPDATE networks SET is_default = \(bind: false)").run() }
            try await Self.insert(created, db)
        }
        await changed()
        return created
    }

    /// Serves `PUT /v2.0/networks/{id}`.
    public func updateNetwork(_ id: String, _ body: JSONObject, caller: AuthContext) async throws -> Network {
        let admin = Policy.isAdmin(caller)
        let name = try body.has("name") ? Self.name(body) : nil
        let description = try body.has("description") ? Self.text(body, "description") : nil
        let adminState = try body.bool("admin_state_up")
        let shared = try Self.adminOnly(body, "shared", admin: admin)
        let external = try Self.adminOnly(body, "router:external", admin: admin)
        let isDefault = try Self.adminOnly(body, "is_default", admin: admin)
        let portSecurity = try body.bool("port_security_enabled")
        let mtu = try body.integer("mtu", in: 68...65535)
        for key in ["provider:network_type", "provider:physical_network", "provider:segmentation_id"] where body.has(key) {
            throw UpdraftError(
                .badRequest, "Invalid input for operation: plugin does not support updating provider attributes.",
                kind: "InvalidInput")
        }
        let updated = try await database.write { db in
            var network = try await Self.visibleNetwork(id, caller: caller, db)
            try Self.authorizeChange(caller, network.projectID)
            if let name { network.name = name }
            if let description { network.description = description }
            if let adminState { network.adminStateUp = adminState }
            if let shared { network.shared = shared }
            if let external { network.external = external }
            if let isDefault {
                if isDefault { try await db.raw("UPDATE networks SET is_default = \(bind: false)").run() }
                network.isDefault = isDefault
            }
            if let portSecurity { network.portSecurityEnabled = portSecurity }
            if let mtu { network.mtu = min(mtu, self.configuration.mtu) }
            network.standard.touch(at: Self.now)
            try await db.raw(
                """
                UPDATE networks SET name = \(bind: network.name), description = \(bind: network.description),
                admin_state_up = \(bind: network.adminStateUp), shared = \(bind: network.shared),
                external = \(bind: network.external), is_default = \(bind: network.isDefault),
                port_security = \(bind: network.portSecurityEnabled), mtu = \(bind: network.mtu),
                updated_at = \(bind: network.updatedAt.timeIntervalSince1970), revision = \(bind: network.revision)
                WHERE id = \(bind: id)
                """
            ).run()
            return network
        }
        await changed()
        return updated
    }

    /// Serves `DELETE /v2.0/networks/{id}`: 409 `NetworkInUse` while ports other than its
    /// DHCP port and floating IPs remain; its subnets, DHCP port and floating IPs go with it.
    public func deleteNetwork(_ id: String, caller: AuthContext) async throws {
        try await database.write { db in
            let network = try await Self.visibleNetwork(id, caller: caller, db)
            try Self.authorizeChange(caller, network.projectID)
            let busy =
                try await db.raw(
                    """
                    SELECT COUNT(*) AS n FROM ports WHERE network_id = \(bind: id)
                      AND device_owner NOT IN ('network:dhcp', 'network:floatingip')
                    """
                ).first()?.int("n") ?? 0
            guard busy == 0 else {
                throw UpdraftError(
                    .conflict,
                    "Unable to complete operation on network \(id). There are one or more ports still in use on the network.",
                    kind: "NetworkInUse")
            }
            // An external network's floating IPs go with it, as in Neutron.
            try await db.raw("DELETE FROM floating_ips WHERE floating_network_id = \(bind: id)").run()
            try await db.raw("DELETE FROM ports WHERE network_id = \(bind: id)").run()
            try await db.raw("DELETE FROM ip_allocations WHERE network_id = \(bind: id)").run()
            let subnets = try await db.raw("SELECT id FROM subnets WHERE network_id = \(bind: id)").all().map {
                try $0.string("id")
            }
            for subnet in subnets { try await db.raw("DELETE FROM network_tags WHERE resource_id = \(bind: subnet)").run() }
            try await db.raw("DELETE FROM subnets WHERE network_id = \(bind: id)").run()
            try await db.raw("DELETE FROM network_tags WHERE resource_id = \(bind: id)").run()
            try await db.raw("DELETE FROM networks WHERE id = \(bind: id)").run()
        }
        await changed()
    }

    // MARK: Rows

    static func sees(_ caller: AuthContext, _ network: Network) -> Bool {
        owns(caller, network.projectID) || network.shared || network.external
    }

    static func visibleNetwork(_ id: String, caller: AuthContext, _ db: any SQLDatabase) async throws -> Network {
        guard let row = try await db.raw("SELECT * FROM networks WHERE id = \(bind: id)").first(),
            case let network = try Self.network(row), sees(caller, network)
        else { throw notFound("Network", id) }
        return try await complete([network], db)[0]
    }

    /// Adds each network's subnet ids and tags.
    static func complete(_ networks: [Network], _ db: any SQLDatabase) async throws -> [Network] {
        guard !networks.isEmpty else { return [] }
        var subnets: [String: [String]] = [:]
        for row in try await db.raw("SELECT id, network_id FROM subnets ORDER BY created_at, id").all() {
            subnets[try row.string("network_id"), default: []].append(try row.string("id"))
        }
        let tags = try await Self.tags(of: networks.map(\.id), db)
        return networks.map { network in
            var network = network
            network.subnets = subnets[network.id] ?? []
            network.tags = tags[network.id] ?? []
            return network
        }
    }

    static func network(_ row: any SQLRow) throws -> Network {
        var network = Network(
            id: try row.string("id"), name: try row.string("name"), description: try row.string("description"),
            projectID: try row.string("project_id"), adminStateUp: try row.bool("admin_state_up"),
            shared: try row.bool("shared"), external: try row.bool("external"), isDefault: try row.bool("is_default"),
            mtu: try row.int("mtu"), portSecurityEnabled: try row.bool("port_security"),
            networkType: try row.string("network_type"), physicalNetwork: try row.optionalString("physical_network"),
            segmentationID: try row.decode(column: "segmentation_id", as: Int?.self),
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")))
        network.standard = try Self.standard(row, named: true)
        return network
    }

    static func insert(_ n: Network, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO networks (id, project_id, name, description, admin_state_up, shared, external, is_default, mtu,
              port_security, network_type, physical_network, segmentation_id, created_at, updated_at, revision)
            VALUES (\(bind: n.id), \(bind: n.projectID), \(bind: n.name), \(bind: n.description), \(bind: n.adminStateUp),
              \(bind: n.shared), \(bind: n.external), \(bind: n.isDefault), \(bind: n.mtu), \(bind: n.portSecurityEnabled),
              \(bind: n.networkType), \(bind: n.physicalNetwork), \(bind: n.segmentationID),
              \(bind: n.createdAt.timeIntervalSince1970), \(bind: n.updatedAt.timeIntervalSince1970), \(bind: n.revision))
            """
        ).run()
        try await setTags(n.tags, on: n.id, db)
    }

    // MARK: Fields

    /// Applies `name`, `description` and `tags` from an update body.
    static func update(_ standard: inout StandardAttributes, from body: JSONObject) throws(UpdraftError) {
        if body.has("name") { standard.name = try name(body) }
        if body.has("description") { standard.description = try text(body, "description") }
        if body.has("tags") { standard.tags = try tagList(body) }
    }

    /// `name`: any string up to 255 characters, empty allowed.
    static func name(_ body: JSONObject) throws(UpdraftError) -> String {
        try text(body, "name")
    }

    /// A free-text attribute up to 255 characters; absent is empty.
    static func text(_ body: JSONObject, _ key: String) throws(UpdraftError) -> String {
        let value: String?
        do {
            value = try body.string(key)
        } catch {
            throw UpdraftError(
                .badRequest, "Invalid input for \(key). Reason: '\(body.fields[key]?.jsonText ?? "")' is not a valid string.",
                kind: "HTTPBadRequest")
        }
        guard let value else { return "" }
        guard value.count <= 255 else {
            throw UpdraftError(
                .badRequest, "Invalid input for \(key). Reason: '\(value.prefix(20))...' exceeds maximum length of 255.",
                kind: "HTTPBadRequest")
        }
        return value
    }

    static func adminOnly(_ body: JSONObject, _ key: String, admin: Bool) throws(UpdraftError) -> Bool? {
        guard let value = try body.bool(key) else { return nil }
        guard admin || !value else { throw adminAttribute(key) }
        return value
    }

    static func adminAttribute(_ key: String) -> UpdraftError {
        UpdraftError(.forbidden, "(rule:create_network:\(key)) is disallowed by policy", kind: "PolicyNotAuthorized")
    }

    static func tagList(_ body: JSONObject) throws(UpdraftError) -> [String] {
        let tags = try body.strings("tags") ?? []
        for tag in tags { try checkTag(tag) }
        return tags
    }
}
