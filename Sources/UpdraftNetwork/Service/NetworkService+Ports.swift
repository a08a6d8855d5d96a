import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

extension NetworkService {
    /// Ports `caller` sees: its project's, or every one for an administrator. `networkID` and
    /// `deviceID` narrow the read (compute asks by device).
    public func listPorts(caller: AuthContext, networkID: String? = nil, deviceID: String? = nil) async throws -> [Port] {
        try await database.read { db in
            let sql = Self.portScope("*", caller: caller, networkID: networkID, deviceID: deviceID)
            return try await Self.complete(try await db.raw(sql).all().map(Self.port), db)
        }
    }

    /// Which version of a port a reader has: every change to what the port shows (its
    /// addresses, groups, tags and status included) moves its revision and update time.
    public struct PortVersion: Sendable, Hashable {
        public var revision: Int
        public var updatedAt: Double
    }

    /// The ports `listPorts` would give, in its order, by id and version only: a reader that
    /// keeps encoded bodies reads in full only the ports that changed (``ports(_:caller:)``).
    public func portVersions(
        caller: AuthContext, networkID: String? = nil, deviceID: String? = nil
    ) async throws -> [(id: String, version: PortVersion)] {
        try await database.read { db in
            let sql = Self.portScope("id, revision, updated_at", caller: caller, networkID: networkID, deviceID: deviceID)
            return try await db.raw(sql).all().map { row in
                (try row.string("id"), PortVersion(revision: try row.int("revision"), updatedAt: try row.double("updated_at")))
            }
        }
    }

    /// The ports of `ids` that `caller` sees (any order; those gone since are left out).
    public func ports(_ ids: [String], caller: AuthContext) async throws -> [Port] {
        guard !ids.isEmpty else { return [] }
        guard ids.count <= 500 else {
            let wanted = Set(ids)
            return try await listPorts(caller: caller).filter { wanted.contains($0.id) }
        }
        return try await database.read { db in
            var sql = SQLQueryString("SELECT * FROM ports WHERE id IN (\(binds: ids))")
            if !Policy.isAdmin(caller) { sql += " AND project_id = \(bind: caller.projectID ?? "")" }
            return try await Self.complete(try await db.raw(sql).all().map(Self.port), db)
        }
    }

    /// `SELECT columns FROM ports` narrowed to what `caller` sees, in list order.
    static func portScope(_ columns: String, caller: AuthContext, networkID: String?, deviceID: String?) -> SQLQueryString {
        var sql = SQLQueryString("SELECT \(unsafeRaw: columns) FROM ports WHERE 1 = 1")
        if let networkID { sql += " AND network_id = \(bind: networkID)" }
        if let deviceID { sql += " AND device_id = \(bind: deviceID)" }
        if !Policy.isAdmin(caller) { sql += " AND project_id = \(bind: caller.projectID ?? "")" }
        sql += " ORDER BY created_at, id"
        return sql
    }

    /// Records a change to what port `id` shows that is not a write of its row (an address
    /// on a subnet, a tag, a status): its revision moves, so cached bodies are read again.
    static func revise(port id: String, _ db: any SQLDatabase) async throws {
        try await db.raw(
            "UPDATE ports SET revision = revision + 1, updated_at = \(bind: now.timeIntervalSince1970) WHERE id = \(bind: id)"
        ).run()
    }

    public func port(_ id: String, caller: AuthContext) async throws -> Port {
        try await database.read { db in try await Self.visiblePort(id, caller: caller, db) }
    }

    /// Serves `POST /v2.0/ports`: a MAC (made when none is given), fixed IPs (one from the
    /// first subnet of each IP version when none are asked for), the project's default
    /// security group unless others are named or port security is off.
    public func createPort(_ body: JSONObject, caller: AuthContext) async throws -> Port {
        let networkID = try body.requiredString("network_id")
        let requestedMAC = try body.string("mac_address").map(Self.checkMAC)
        let requestedIPs = try Self.fixedIPRequests(body)
        let requestedGroups = try body.strings("security_groups")
        let portSecurity = try body.bool("port_security_enabled")
        let pairs = try Self.addressPairs(body)
        let deviceOwner = try Self.text(body, "device_owner")
        let hostID = try body.string("binding:host_id")
        if hostID != nil, !Policy.isAdmin(caller) { throw Self.adminAttribute("binding:host_id") }
        let draft = Port(
            id: UUID().uuidString.lowercased(), name: try Self.name(body), description: try Self.text(body, "description"),
            projectID: "", networkID: networkID, macAddress: "", adminStateUp: try body.bool("admin_state_up") ?? true,
            deviceID: try Self.text(body, "device_id"), deviceOwner: deviceOwner, hostID: hostID ?? "",
            tags: try Self.tagList(body), createdAt: Self.now)
        let requestedProject = try Self.requestedProject(body)
        let created = try await database.write { db in
            var port = draft
            let network = try await Self.visibleNetwork(networkID, caller: caller, db)
            port.projectID = try Self.owner(requestedProject, caller)
            try Self.authorizeChange(caller, port.projectID)
            guard Policy.isAdmin(caller) || network.projectID == port.projectID || network.shared else {
                throw UpdraftError(
                    .forbidden, "Tenant \(port.projectID) not allowed to create port on this network", kind: "HTTPForbidden")
            }
            try await self.checkQuota("port", project: port.projectID, adding: 1, db)
            port.macAddress = try await self.macAddress(requestedMAC, network: networkID, db)
            port.portSecurityEnabled = portSecurity ?? network.portSecurityEnabled
            port.allowedAddressPairs = pairs.map { Port.AddressPair(ipAddress: $0.ip, macAddress: $0.mac ?? port.macAddress) }
            if !port.portSecurityEnabled, !port.allowedAddressPairs.isEmpty {
                throw UpdraftError(
                    .conflict, "Port Security must be enabled in order to have allowed address pairs on a port.",
                    kind: "AddressPairAndPortSecurityRequired")
            }
            port.securityGroups = try await self.groups(
                requestedGroups, for: port, portSecurity: port.portSecurityEnabled, caller: caller, db)
            try await Self.insert(port, db)
            port.fixedIPs = try await self.assign(requestedIPs, to: port, db)
            return port
        }
        await changed()
        return created
    }

    /// Serves `PUT /v2.0/ports/{id}`.
    public func updatePort(_ id: String, _ body: JSONObject, caller: AuthContext) async throws -> Port {
        for key in ["network_id"] where body.has(key) {
            throw UpdraftError(.badRequest, "Cannot update read-only attribute \(key)", kind: "HTTPBadRequest")
        }
        let requestedIPs = body.has("fixed_ips") ? try Self.fixedIPRequests(body) : nil
        let requestedGroups = try body.strings("security_groups")
        let portSecurity = try body.bool("port_security_enabled")
        let pairs = body.has("allowed_address_pairs") ? try Self.addressPairs(body) : nil
        let hostID = try body.string("binding:host_id")
        if hostID != nil, !Policy.isAdmin(caller) { throw Self.adminAttribute("binding:host_id") }
        let mac = try body.string("mac_address").map(Self.checkMAC)
        if mac != nil, !Policy.isAdmin(caller) { throw Self.adminAttribute("mac_address") }
        let updated = try await database.write { db in
            var port = try await Self.visiblePort(id, caller: caller, db)
            try Self.authorizeChange(caller, port.projectID)
            try Self.update(&port.standard, from: body)
            if let state = try body.bool("admin_state_up") { port.adminStateUp = state }
            if body.has("device_id") { port.deviceID = try Self.text(body, "device_id") }
            if body.has("device_owner") { port.deviceOwner = try Self.text(body, "device_owner") }
            if let hostID { port.hostID = hostID }
            if let mac, mac != port.macAddress { port.macAddress = try await self.macAddress(mac, network: port.networkID, db) }
            if let portSecurity { port.portSecurityEnabled = portSecurity }
            if let pairs {
                port.allowedAddressPairs = pairs.map { Port.AddressPair(ipAddress: $0.ip, macAddress: $0.mac ?? port.macAddress) }
            }
            if !port.portSecurityEnabled {
                if requestedGroups?.isEmpty == false
                    || (requestedGroups == nil && !port.securityGroups.isEmpty && portSecurity == false)
                {
                    throw UpdraftError(
                        .conflict,
                        "Port has security group associated. Cannot disable port security or IP address until security group is removed",
                        kind: "PortSecurityPortHasSecurityGroup")
                }
                if !port.allowedAddressPairs.isEmpty {
                    throw UpdraftError(
                        .conflict, "Port Security must be enabled in order to have allowed address pairs on a port.",
                        kind: "AddressPairAndPortSecurityRequired")
                }
            }
            if let requestedGroups {
                port.securityGroups = try await self.groups(
                    requestedGroups, for: port, portSecurity: port.portSecurityEnabled, caller: caller, db)
            }
            port.standard.touch(at: Self.now)
            try await db.raw("DELETE FROM port_security_groups WHERE port_id = \(bind: id)").run()
            try await db.raw(
                """
                UPDATE ports SET name = \(bind: port.name), description = \(bind: port.description),
                mac_address = \(bind: port.macAddress), admin_state_up = \(bind: port.adminStateUp),
                device_id = \(bind: port.deviceID), device_owner = \(bind: port.deviceOwner),
                port_security = \(bind: port.portSecurityEnabled), allowed_address_pairs = \(bind: try Self.json(port.allowedAddressPairs)),
                host_id = \(bind: port.hostID), updated_at = \(bind: port.updatedAt.timeIntervalSince1970), revision = \(bind: port.revision)
                WHERE id = \(bind: id)
                """
            ).run()
            for group in port.securityGroups {
                try await db.raw(
                    "INSERT INTO port_security_groups (port_id, security_group_id) VALUES (\(bind: id), \(bind: group))"
                ).run()
            }
            try await Self.setTags(port.tags, on: id, db)
            if let requestedIPs {
                try await db.raw("DELETE FROM ip_allocations WHERE port_id = \(bind: id)").run()
                port.fixedIPs = try await self.assign(requestedIPs, to: port, db, allowEmpty: true)
            }
            return port
        }
        await changed()
        return updated
    }

    /// Serves `DELETE /v2.0/ports/{id}`: a router's interface is removed through the router,
    /// not here (409); floating IPs on the port are disassociated.
    public func deletePort(_ id: String, caller: AuthContext) async throws {
        try await database.write { db in
            let port = try await Self.visiblePort(id, caller: caller, db)
            try Self.authorizeChange(caller, port.projectID)
            if port.deviceOwner == "network:router_interface" || port.deviceOwner == "network:router_gateway"
                || port.deviceOwner == "network:floatingip"
            {
                throw UpdraftError(
                    .conflict, "Port \(id) cannot be deleted directly via the port API: has device owner \(port.deviceOwner).",
                    kind: "ServicePortInUse")
            }
            try await Self.removePort(id, db)
        }
        await changed()
    }

    /// Deletes `id` and what hangs on it: addresses, group memberships, tags; floating IPs
    /// pointing at it are disassociated.
    static func removePort(_ id: String, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            UPDATE floating_ips SET port_id = NULL, fixed_ip_address = NULL, router_id = NULL, status = 'DOWN'
            WHERE port_id = \(bind: id)
            """
        ).run()
        try await db.raw("DELETE FROM ip_allocations WHERE port_id = \(bind: id)").run()
        try await db.raw("DELETE FROM port_security_groups WHERE port_id = \(bind: id)").run()
        try await db.raw("DELETE FROM network_tags WHERE resource_id = \(bind: id)").run()
        try await db.raw("DELETE FROM ports WHERE id = \(bind: id)").run()
    }

    // MARK: Addresses

    /// One requested fixed IP: a subnet, an address, or both.
    struct FixedIPRequest: Sendable {
        var subnetID: String?
        var address: IPAddress?
    }

    /// Gives `port` the requested addresses (or one per IP version), recording each.
    func assign(_ requests: [FixedIPRequest]?, to port: Port, _ db: any SQLDatabase, allowEmpty: Bool = false) async throws
        -> [Port.FixedIP]
    {
        let subnets = try await db.raw("SELECT * FROM subnets WHERE network_id = \(bind: port.networkID) ORDER BY created_at, id")
            .all()
            .map(Self.subnet)
        var assigned: [Port.FixedIP] = []
        if let requests {
            for request in requests {
                let subnet: Subnet
                if let id = request.subnetID {
                    guard let found = subnets.first(where: { $0.id == id }) else {
                        throw UpdraftError(
                            .badRequest,
                            "Invalid input for operation: Failed to create port on network \(port.networkID), because fixed_ips included invalid subnet \(id).",
                            kind: "InvalidInput")
                    }
                    subnet = found
                } else if let address = request.address,
                    let found = subnets.first(where: { $0.network?.contains(address) == true })
                {
                    subnet = found
                } else {
                    throw UpdraftError(
                        .badRequest,
                        "Invalid input for operation: IP address \(request.address?.description ?? "") is not a valid IP for any of the subnets on the specified network.",
                        kind: "InvalidInput")
                }
                let address: IPAddress
                if let requested = request.address {
                    guard subnet.network?.contains(requested) == true else {
                        throw UpdraftError(
                            .badRequest,
                            "Invalid input for operation: IP address \(requested) is not a valid IP for the specified subnet.",
                            kind: "InvalidInput")
                    }
                    address = requested
                } else {
                    guard let free = try await Self.freeAddress(in: subnet, db) else { throw Self.exhausted(port.networkID) }
                    address = free
                }
                try await Self.allocate(address, subnet: subnet, port: port.id, db)
                assigned.append(Port.FixedIP(subnetID: subnet.id, ipAddress: address.description))
            }
            return assigned
        }
        var versions: Set<Int> = []
        for subnet in subnets where !versions.contains(subnet.ipVersion) {
            versions.insert(subnet.ipVersion)
            guard let free = try await Self.freeAddress(in: subnet, db) else { throw Self.exhausted(port.networkID) }
            try await Self.allocate(free, subnet: subnet, port: port.id, db)
            assigned.append(Port.FixedIP(subnetID: subnet.id, ipAddress: free.description))
        }
        return assigned
    }

    static func exhausted(_ network: String) -> UpdraftError {
        UpdraftError(.conflict, "No more IP addresses available on network \(network).", kind: "IpAddressGenerationFailure")
    }

    /// A MAC for a new port on `network`: the requested one when free (409 `MacAddressInUse`
    /// otherwise), or a random one under the configured prefix.
    func macAddress(_ requested: String?, network: String, _ db: any SQLDatabase) async throws -> String {
        if let requested {
            let taken = try await db.raw(
                "SELECT id FROM ports WHERE network_id = \(bind: network) AND mac_address = \(bind: requested)"
            ).first()
            guard taken == nil else {
                throw UpdraftError(
                    .conflict, "Unable to complete operation for network \(network). The mac address \(requested) is in use.",
                    kind: "MacAddressInUse")
            }
            return requested
        }
        return try await uniqueMAC(network: network, db)
    }

    func uniqueMAC(network: String, _ db: any SQLDatabase) async throws -> String {
        for _ in 0..<16 {
            let bytes = configuration.macPrefix + (0..<(6 - configuration.macPrefix.count)).map { _ in UInt8.random(in: 0...255) }
            let mac = bytes.hexString(separator: ":")
            let taken = try await db.raw(
                "SELECT id FROM ports WHERE network_id = \(bind: network) AND mac_address = \(bind: mac)"
            ).first()
            if taken == nil { return mac }
        }
        throw UpdraftError(
            .conflict, "Unable to generate a unique mac on network \(network).", kind: "MacAddressGenerationFailure")
    }

    // MARK: Rows

    static func visiblePort(_ id: String, caller: AuthContext, _ db: any SQLDatabase) async throws -> Port {
        guard let row = try await db.raw("SELECT * FROM ports WHERE id = \(bind: id)").first() else { throw notFound("Port", id) }
        let port = try Self.port(row)
        guard owns(caller, port.projectID) else { throw notFound("Port", id) }
        return try await complete([port], db)[0]
    }

    /// Adds each port's fixed IPs, security groups and tags.
    static func complete(_ ports: [Port], _ db: any SQLDatabase) async throws -> [Port] {
        guard !ports.isEmpty else { return [] }
        var ips: [String: [Port.FixedIP]] = [:]
        var groups: [String: [String]] = [:]
        let allocationRows: [any SQLRow]
        let groupRows: [any SQLRow]
        // A page of ports reads its own rows; a whole listing reads the tables once.
        if ports.count <= 500 {
            let ids = ports.map(\.id)
            allocationRows = try await db.raw("SELECT * FROM ip_allocations WHERE port_id IN (\(binds: ids))").all()
            groupRows = try await db.raw("SELECT * FROM port_security_groups WHERE port_id IN (\(binds: ids))").all()
        } else {
            allocationRows = try await db.raw("SELECT * FROM ip_allocations").all()
            groupRows = try await db.raw("SELECT * FROM port_security_groups").all()
        }
        for row in allocationRows {
            ips[try row.string("port_id"), default: []].append(
                Port.FixedIP(subnetID: try row.string("subnet_id"), ipAddress: try row.string("ip_address")))
        }
        for row in groupRows {
            groups[try row.string("port_id"), default: []].append(try row.string("security_group_id"))
        }
        let tags = try await Self.tags(of: ports.map(\.id), db)
        return ports.map { port in
            var port = port
            port.fixedIPs = (ips[port.id] ?? []).sorted {
                (IPAddress($0.ipAddress) ?? IPAddress(family: .v4, value: 0))
                    < (IPAddress($1.ipAddress) ?? IPAddress(family: .v4, value: 0))
            }
            port.securityGroups = (groups[port.id] ?? []).sorted()
            port.tags = tags[port.id] ?? []
            return port
        }
    }

    /// Most ports have none: `[]` needs no decoder.
    static func storedAddressPairs(_ text: String) throws -> [Port.AddressPair] {
        text == "[]" ? [] : try decoded([Port.AddressPair].self, text)
    }

    static func port(_ row: any SQLRow) throws -> Port {
        var port = Port(
            id: try row.string("id"), name: try row.string("name"), description: try row.string("description"),
            projectID: try row.string("project_id"), networkID: try row.string("network_id"),
            macAddress: try row.string("mac_address"), adminStateUp: try row.bool("admin_state_up"),
            deviceID: try row.string("device_id"), deviceOwner: try row.string("device_owner"),
            portSecurityEnabled: try row.bool("port_security"),
            allowedAddressPairs: try Self.storedAddressPairs(row.string("allowed_address_pairs")),
            hostID: try row.string("host_id"), createdAt: Date(timeIntervalSince1970: try row.double("created_at")))
        port.status = try row.string("status")
        port.standard = try Self.standard(row, named: true)
        return port
    }

    static func insert(_ p: Port, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO ports (id, project_id, network_id, name, description, mac_address, admin_state_up, status,
              device_id, device_owner, port_security, allowed_address_pairs, host_id, created_at, updated_at, revision)
            VALUES (\(bind: p.id), \(bind: p.projectID), \(bind: p.networkID), \(bind: p.name), \(bind: p.description),
              \(bind: p.macAddress), \(bind: p.adminStateUp), \(bind: p.status), \(bind: p.deviceID), \(bind: p.deviceOwner),
              \(bind: p.portSecurityEnabled), \(bind: try json(p.allowedAddressPairs)), \(bind: p.hostID),
              \(bind: p.createdAt.timeIntervalSince1970), \(bind: p.updatedAt.timeIntervalSince1970), \(bind: p.revision))
            """
        ).run()
        for group in p.securityGroups {
            try await db.raw(
                "INSERT INTO port_security_groups (port_id, security_group_id) VALUES (\(bind: p.id), \(bind: group))"
            ).run()
        }
        try await setTags(p.tags, on: p.id, db)
    }

    // MARK: Fields

    static func checkMAC(_ text: String) throws(UpdraftError) -> String {
        let parts = text.lowercased().split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) }),
            let first = UInt8(parts[0], radix: 16), first & 1 == 0, text != "00:00:00:00:00:00"
        else {
            throw UpdraftError(
                .badRequest, "Invalid input for mac_address. Reason: '\(text)' is not a valid MAC address.",
                kind: "HTTPBadRequest")
        }
        return parts.joined(separator: ":")
    }

    static func fixedIPRequests(_ body: JSONObject) throws(UpdraftError) -> [FixedIPRequest]? {
        guard let objects = try body.objects("fixed_ips") else { return nil }
        var requests: [FixedIPRequest] = []
        for object in objects {
            var request = FixedIPRequest(subnetID: try object.string("subnet_id"), address: nil)
            if let text = try object.string("ip_address") {
                guard let address = IPAddress(text) else {
                    throw UpdraftError(
                        .badRequest, "Invalid input for fixed_ips. Reason: '\(text)' is not a valid IP address.",
                        kind: "HTTPBadRequest")
                }
                request.address = address
            }
            guard request.subnetID != nil || request.address != nil else {
                throw UpdraftError(
                    .badRequest, "Invalid input for fixed_ips. Reason: each entry needs a subnet_id or an ip_address.",
                    kind: "HTTPBadRequest")
            }
            requests.append(request)
        }
        return requests
    }

    static func addressPairs(_ body: JSONObject) throws(UpdraftError) -> [(ip: String, mac: String?)] {
        var pairs: [(ip: String, mac: String?)] = []
        for object in try body.objects("allowed_address_pairs") ?? [] {
            guard let ip = try object.string("ip_address"), IPAddress(ip) != nil || IPNetwork(containing: ip) != nil else {
                throw UpdraftError(
                    .badRequest, "Invalid input for allowed_address_pairs. Reason: each pair needs a valid ip_address.",
                    kind: "HTTPBadRequest")
            }
            pairs.append((ip, try object.string("mac_address").map(checkMAC)))
        }
        return pairs
    }
}
