import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

extension NetworkService {
    /// Protocol names Neutron accepts, with their IP protocol numbers.
    static let protocolNumbers: [String: Int] = [
        "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "icmp": 1, "icmpv6": 58, "ipv6-icmp": 58, "igmp": 2,
        "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89,
        "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
    ]

    /// The security groups `caller` sees, with their rules; a project's `default` group is
    /// made the first time it lists them, as Neutron does.
    public func listSecurityGroups(caller: AuthContext) async throws -> [SecurityGroup] {
        if let project = caller.projectID { try await ensureDefaultGroup(project) }
        return try await database.read { db in
            var sql = SQLQueryString("SELECT * FROM security_groups")
            if !Policy.isAdmin(caller) { sql += " WHERE project_id = \(bind: caller.projectID ?? "")" }
            sql += " ORDER BY created_at, id"
            let groups = try await db.raw(sql).all().map(Self.securityGroup)
            return try await Self.complete(groups, db)
        }
    }

    public func securityGroup(_ id: String, caller: AuthContext) async throws -> SecurityGroup {
        try await database.read { db in try await Self.visibleGroup(id, caller: caller, db) }
    }

    /// Serves `POST /v2.0/security-groups`: a new group allows all egress (IPv4 and IPv6).
    public func createSecurityGroup(_ body: JSONObject, caller: AuthContext) async throws -> SecurityGroup {
        let project = try Self.creator(body, caller)
        let name = try Self.name(body)
        guard name != "default" else {
            throw UpdraftError(.conflict, "Default security group already exists.", kind: "SecurityGroupDefaultAlreadyExists")
        }
        let description = try Self.text(body, "description")
        let stateful = try body.bool("stateful") ?? true
        let tags = try Self.tagList(body)
        try await ensureDefaultGroup(project)
        let group = try await database.write { db in
            try await self.checkQuota("security_group", project: project, adding: 1, db)
            try await self.checkQuota("security_group_rule", project: project, adding: 2, db)
            return try await Self.makeGroup(
                name: name, description: description, project: project, stateful: stateful, tags: tags, defaultRules: false, db)
        }
        await changed()
        return group
    }

    /// Serves `PUT /v2.0/security-groups/{id}`: name and description (the default group keeps its name).
    public func updateSecurityGroup(_ id: String, _ body: JSONObject, caller: AuthContext) async throws -> SecurityGroup {
        try await database.write { db in
            var group = try await Self.visibleGroup(id, caller: caller, db)
            try Self.authorizeChange(caller, group.projectID)
            if body.has("name") {
                let name = try Self.name(body)
                guard group.name != "default" || name == "default" else {
                    throw UpdraftError(
                        .conflict, "Updating default security group not allowed.", kind: "SecurityGroupCannotUpdateDefault")
                }
                guard group.name == "default" || name != "default" else {
                    throw UpdraftError(
                        .conflict, "Default security group already exists.", kind: "SecurityGroupDefaultAlreadyExists")
                }
                group.name = name
            }
            if body.has("description") { group.description = try Self.text(body, "description") }
            if body.has("tags") { group.tags = try Self.tagList(body) }
            group.standard.touch(at: Self.now)
            try await db.raw(
                """
                UPDATE security_groups SET name = \(bind: group.name), description = \(bind: group.description),
                updated_at = \(bind: group.updatedAt.timeIntervalSince1970), revision = \(bind: group.revision) WHERE id = \(bind: id)
                """
            ).run()
            try await Self.setTags(group.tags, on: id, db)
            return group
        }
    }

    /// Serves `DELETE /v2.0/security-groups/{id}`: 409 while a port uses it; the default
    /// group only goes with its project, by an administrator.
    public func deleteSecurityGroup(_ id: String, caller: AuthContext) async throws {
        try await database.write { db in
            let group = try await Self.visibleGroup(id, caller: caller, db)
            try Self.authorizeChange(caller, group.projectID)
            if group.name == "default" && !Policy.isAdmin(caller) {
                throw UpdraftError(
                    .conflict, "Removing default security group not allowed.", kind: "SecurityGroupCannotRemoveDefault")
            }
            let used =
                try await db.raw("SELECT COUNT(*) AS n FROM port_security_groups WHERE security_group_id = \(bind: id)").first()?
                .int("n") ?? 0
            guard used == 0 else {
                throw UpdraftError(.conflict, "Security Group \(id) in use.", kind: "SecurityGroupInUse")
            }
            try await db.raw("DELETE FROM security_group_rules WHERE security_group_id = \(bind: id)").run()
            try await db.raw("DELETE FROM network_tags WHERE resource_id = \(bind: id)").run()
            try await db.raw("DELETE FROM security_groups WHERE id = \(bind: id)").run()
        }
        await changed()
    }

    /// Every rule `caller` sees.
    public func listSecurityGroupRules(caller: AuthContext) async throws -> [SecurityGroupRule] {
        try await listSecurityGroups(caller: caller).flatMap(\.rules)
    }

    public func securityGroupRule(_ id: String, caller: AuthContext) async throws -> SecurityGroupRule {
        try await database.read { db in
            guard let row = try await db.raw("SELECT * FROM security_group_rules WHERE id = \(bind: id)").first() else {
                throw Self.notFound("SecurityGroupRule", id)
            }
            let rule = try Self.rule(row)
            guard Self.owns(caller, rule.projectID) else { throw Self.notFound("SecurityGroupRule", id) }
            return rule
        }
    }

    /// Serves `POST /v2.0/security-group-rules`, with Neutron's checks: a known protocol, a
    /// port range only for TCP, UDP, SCTP and DCCP (ICMP type and code in its place), a remote
    /// prefix of the rule's ethertype, and no duplicate (409 `SecurityGroupRuleExists`).
    public func createSecurityGroupRule(_ body: JSONObject, caller: AuthContext) async throws -> SecurityGroupRule {
        let groupID = try body.requiredString("security_group_id")
        guard let direction = SecurityGroupRule.Direction(rawValue: try body.string("direction") ?? "") else {
            throw UpdraftError(
                .badRequest,
                "Invalid input for direction. Reason: '\(body.fields["direction"]?.jsonText ?? "")' is not in ['ingress', 'egress'].",
                kind: "HTTPBadRequest")
        }
        let ethertype = try body.string("ethertype") ?? "IPv4"
        guard ethertype == "IPv4" || ethertype == "IPv6" else {
            throw UpdraftError(
                .badRequest, "Invalid input for ethertype. Reason: '\(ethertype)' is not in ['IPv4', 'IPv6'].",
                kind: "HTTPBadRequest")
        }
        let protocolName = try Self.protocolName(body)
        let minimum = try Self.portNumber(body, "port_range_min")
        let maximum = try Self.portNumber(body, "port_range_max")
        try Self.checkPorts(protocolName, minimum, maximum)
        var remotePrefix = try body.string("remote_ip_prefix")
        if let text = remotePrefix {
            guard let network = IPNetwork(containing: text) else {
                throw UpdraftError(
                    .badRequest, "Invalid input for remote_ip_prefix. Reason: '\(text)' is not a valid IP prefix.",
                    kind: "HTTPBadRequest")
            }
            guard (network.family == .v4) == (ethertype == "IPv4") else {
                throw UpdraftError(
                    .badRequest, "Conflicting value ethertype \(ethertype) for CIDR \(text)",
                    kind: "SecurityGroupRuleParameterConflict")
            }
            remotePrefix = network.description
        }
        let prefix = remotePrefix
        let remoteGroup = try body.string("remote_group_id")
        guard prefix == nil || remoteGroup == nil else {
            throw UpdraftError(
                .badRequest, "Only remote_ip_prefix or remote_group_id may be provided.",
                kind: "SecurityGroupRemoteGroupAndRemoteIpPrefix")
        }
        let description = try Self.text(body, "description")
        let rule = try await database.write { db in
            let group = try await Self.visibleGroup(groupID, caller: caller, db)
            try Self.authorizeChange(caller, group.projectID)
            if let remoteGroup { _ = try await Self.visibleGroup(remoteGroup, caller: caller, db) }
            let rule = SecurityGroupRule(
                id: UUID().uuidString.lowercased(), securityGroupID: groupID, projectID: group.projectID,
                description: description, direction: direction, ethertype: ethertype, protocolName: protocolName,
                portRangeMin: minimum, portRangeMax: maximum, remoteIPPrefix: prefix, remoteGroupID: remoteGroup,
                createdAt: Self.now)
            if let same = group.rules.first(where: { Self.sameRule($0, rule) }) {
                throw UpdraftError(
                    .conflict, "Security group rule already exists. Rule id is \(same.id).", kind: "SecurityGroupRuleExists")
            }
            try await self.checkQuota("security_group_rule", project: group.projectID, adding: 1, db)
            try await Self.insert(rule, db)
            return rule
        }
        await changed()
        return rule
    }

    /// Serves `DELETE /v2.0/security-group-rules/{id}`.
    public func deleteSecurityGroupRule(_ id: String, caller: AuthContext) async throws {
        let rule = try await securityGroupRule(id, caller: caller)
        try Self.authorizeChange(caller, rule.projectID)
        try await database.write { db in
            try await db.raw("DELETE FROM security_group_rules WHERE id = \(bind: id)").run()
        }
        await changed()
    }

    // MARK: Default group

    /// Makes the project's `default` group when it has none: all egress, and ingress only
    /// from ports in the same group, for IPv4 and IPv6.
    public func ensureDefaultGroup(_ project: String) async throws {
        let exists = try await database.read { db in
            try await db.raw(
                "SELECT id FROM security_groups WHERE project_id = \(bind: project) AND name = 'default'"
            ).first() != nil
        }
        guard !exists else { return }
        try await database.write { db in
            guard
                try await db.raw(
                    "SELECT id FROM security_groups WHERE project_id = \(bind: project) AND name = 'default'"
                ).first() == nil
            else { return }
            _ = try await Self.makeGroup(
                name: "default", description: "Default security group", project: project, stateful: true, tags: [],
                defaultRules: true, db)
        }
    }

    static func makeGroup(
        name: String, description: String, project: String, stateful: Bool, tags: [String], defaultRules: Bool,
        _ db: any SQLDatabase
    ) async throws -> SecurityGroup {
        let now = Self.now
        var group = SecurityGroup(
            id: UUID().uuidString.lowercased(), name: name, description: description, projectID: project, stateful: stateful,
            tags: tags, createdAt: now)
        for ethertype in ["IPv4", "IPv6"] {
            group.rules.append(
                SecurityGroupRule(
                    id: UUID().uuidString.lowercased(), securityGroupID: group.id, projectID: project, direction: .egress,
                    ethertype: ethertype, createdAt: now))
            if defaultRules {
                group.rules.append(
                    SecurityGroupRule(
                        id: UUID().uuidString.lowercased(), securityGroupID: group.id, projectID: project,
                        direction: .ingress, ethertype: ethertype, remoteGroupID: group.id, createdAt: now))
            }
        }
        try await db.raw(
            """
            INSERT INTO security_groups (id, project_id, name, description, stateful, created_at, updated_at, revision)
            VALUES (\(bind: group.id), \(bind: project), \(bind: name), \(bind: description), \(bind: stateful),
              \(bind: now.timeIntervalSince1970), \(bind: now.timeIntervalSince1970), \(bind: group.revision))
            """
        ).run()
        for rule in group.rules { try await insert(rule, db) }
        try await setTags(tags, on: group.id, db)
        return group
    }

    /// The groups a port gets: those named (each visible to the caller), the project's
    /// default when none are named, none when port security is off or the port is the
    /// network's own (DHCP, router).
    func groups(
        _ requested: [String]?, for port: Port, portSecurity: Bool, caller: AuthContext, _ db: any SQLDatabase
    ) async throws -> [String] {
        if let requested {
            guard requested.isEmpty || portSecurity else {
                throw UpdraftError(
                    .badRequest,
                    "Port security must be enabled and port must have an IP address in order to use security groups.",
                    kind: "PortSecurityAndIPRequiredForSecurityGroups")
            }
            for id in requested { _ = try await Self.visibleGroup(id, caller: caller, db) }
            return Array(Set(requested)).sorted()
        }
        guard portSecurity, !port.deviceOwner.hasPrefix("network:") else { return [] }
        if let existing = try await db.raw(
            "SELECT id FROM security_groups WHERE project_id = \(bind: port.projectID) AND name = 'default'"
        ).first() {
            return [try existing.string("id")]
        }
        let group = try await Self.makeGroup(
            name: "default", description: "Default security group", project: port.projectID, stateful: true, tags: [],
            defaultRules: true, db)
        return [group.id]
    }

    // MARK: Rows

    static func visibleGroup(_ id: String, caller: AuthContext, _ db: any SQLDatabase) async throws -> SecurityGroup {
        guard let row = try await db.raw("SELECT * FROM security_groups WHERE id = \(bind: id)").first() else {
            throw notFound("SecurityGroup", id)
        }
        let group = try Self.securityGroup(row)
        guard owns(caller, group.projectID) else { throw notFound("SecurityGroup", id) }
        return try await complete([group], db)[0]
    }

    static func complete(_ groups: [SecurityGroup], _ db: any SQLDatabase) async throws -> [SecurityGroup] {
        guard !groups.isEmpty else { return [] }
        var rules: [String: [SecurityGroupRule]] = [:]
        for row in try await db.raw("SELECT * FROM security_group_rules ORDER BY created_at, id").all() {
            let rule = try Self.rule(row)
            rules[rule.securityGroupID, default: []].append(rule)
        }
        let tags = try await Self.tags(of: groups.map(\.id), db)
        return groups.map { group in
            var group = group
            group.rules = rules[group.id] ?? []
            group.tags = tags[group.id] ?? []
            return group
        }
    }

    static func securityGroup(_ row: any SQLRow) throws -> SecurityGroup {
        var group = SecurityGroup(
            id: try row.string("id"), name: try row.string("name"), description: try row.string("description"),
            projectID: try row.string("project_id"), stateful: try row.bool("stateful"),
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")))
        group.standard = try Self.standard(row, named: true)
        return group
    }

    static func rule(_ row: any SQLRow) throws -> SecurityGroupRule {
        var rule = SecurityGroupRule(
            id: try row.string("id"), securityGroupID: try row.string("security_group_id"),
            projectID: try row.string("project_id"), description: try row.string("description"),
            direction: SecurityGroupRule.Direction(rawValue: try row.string("direction")) ?? .ingress,
            ethertype: try row.string("ethertype"), protocolName: try row.optionalString("protocol"),
            portRangeMin: try row.decode(column: "port_range_min", as: Int?.self),
            portRangeMax: try row.decode(column: "port_range_max", as: Int?.self),
            remoteIPPrefix: try row.optionalString("remote_ip_prefix"), remoteGroupID: try row.optionalString("remote_group_id"),
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")))
        rule.standard = try Self.standard(row, named: false)
        return rule
    }

    static func insert(_ r: SecurityGroupRule, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO security_group_rules (id, security_group_id, project_id, description, direction, ethertype, protocol,
              port_range_min, port_range_max, remote_ip_prefix, remote_group_id, created_at, updated_at, revision)
            VALUES (\(bind: r.id), \(bind: r.securityGroupID), \(bind: r.projectID), \(bind: r.description),
              \(bind: r.direction.rawValue), \(bind: r.ethertype), \(bind: r.protocolName), \(bind: r.portRangeMin),
              \(bind: r.portRangeMax), \(bind: r.remoteIPPrefix), \(bind: r.remoteGroupID),
              \(bind: r.createdAt.timeIntervalSince1970), \(bind: r.updatedAt.timeIntervalSince1970), \(bind: r.revision))
            """
        ).run()
    }

    // MARK: Fields

    /// `protocol`: a name Neutron knows, a number 0–255 (as a number or text), `any` or null.
    static func protocolName(_ body: JSONObject) throws(UpdraftError) -> String? {
        let text: String
        switch body.fields["protocol"] {
        case nil, .null?: return nil
        case .string(let s)?: text = s.lowercased()
        case let value?:
            guard let n = value.exactInteger else { throw badProtocol(value.jsonText) }
            text = String(n)
        }
        if text == "any" || text.isEmpty { return nil }
        if protocolNumbers[text] != nil { return text }
        guard let n = Int(text), (0...255).contains(n) else { throw badProtocol(text) }
        return text
    }

    static func badProtocol(_ text: String) -> UpdraftError {
        UpdraftError(
            .badRequest,
            "Security group rule protocol \(text) not supported. Only protocol values [None, \(protocolNumbers.keys.sorted().joined(separator: ", "))] and integer representations [0 to 255] are supported.",
            kind: "SecurityGroupRuleInvalidProtocol")
    }

    static func portNumber(_ body: JSONObject, _ key: String) throws(UpdraftError) -> Int? {
        switch body.fields[key] {
        case nil, .null?: return nil
        case .string(let s)?:
            guard let n = Int(s), (0...65535).contains(n) else { throw badPort(key, s) }
            return n
        case let value?:
            guard let n = value.exactInteger, (0...65535).contains(n) else { throw badPort(key, value.jsonText) }
            return n
        }
    }

    static func badPort(_ key: String, _ text: String) -> UpdraftError {
        UpdraftError(.badRequest, "Invalid value for port \(text)", kind: "SecurityGroupInvalidPortValue")
    }

    /// Neutron's port range rules.
    static func checkPorts(_ protocolName: String?, _ minimum: Int?, _ maximum: Int?) throws(UpdraftError) {
        let number = protocolName.flatMap { protocolNumbers[$0] ?? Int($0) }
        switch number {
        case 6?, 17?, 132?, 33?, 136?:
            // Both or neither, the minimum no greater than the maximum.
            if (minimum == nil) != (maximum == nil) || (minimum ?? 0) > (maximum ?? 0) {
                throw UpdraftError(
                    .badRequest, "For TCP/UDP protocols, port_range_min must be <= port_range_max",
                    kind: "SecurityGroupInvalidPortRange")
            }
            if minimum == 0 || maximum == 0 {
                throw UpdraftError(.badRequest, "Invalid value for port 0", kind: "SecurityGroupInvalidPortValue")
            }
        case 1?, 58?:
            if let minimum, minimum > 255 {
                throw UpdraftError(.badRequest, "Invalid value for ICMP type: \(minimum)", kind: "SecurityGroupInvalidIcmpValue")
            }
            if let maximum, maximum > 255 {
                throw UpdraftError(.badRequest, "Invalid value for ICMP code: \(maximum)", kind: "SecurityGroupInvalidIcmpValue")
            }
            if maximum != nil && minimum == nil {
                throw UpdraftError(
                    .badRequest,
                    "ICMP code (port-range-max) \(maximum ?? 0) is provided but ICMP type (port-range-min) is missing.",
                    kind: "SecurityGroupMissingIcmpType")
            }
        default:
            if minimum != nil || maximum != nil {
                throw UpdraftError(
                    .badRequest,
                    "Invalid protocol \(protocolName ?? "None") for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP.",
                    kind: "SecurityGroupInvalidProtocolForPort")
            }
        }
    }

    /// Whether two rules say the same thing (a protocol by name and by number are the same).
    static func sameRule(_ a: SecurityGroupRule, _ b: SecurityGroupRule) -> Bool {
        func number(_ p: String?) -> Int? { p.flatMap { protocolNumbers[$0] ?? Int($0) } }
        return a.direction == b.direction && a.ethertype == b.ethertype && number(a.protocolName) == number(b.protocolName)
            && a.portRangeMin == b.portRangeMin && a.portRangeMax == b.portRangeMax
            && a.remoteIPPrefix.flatMap { IPNetwork(containing: $0) } == b.remoteIPPrefix.flatMap { IPNetwork(containing: $0) }
            && a.remoteGroupID == b.remoteGroupID
    }
}
