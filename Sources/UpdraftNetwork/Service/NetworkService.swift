import Foundation
import Logging
import SQLKit
import ServiceLifecycle
import UpdraftCore
import UpdraftDatabase

/// Neutron's logic and persistence: networks, subnets, ports with their addresses, security
/// groups, routers and floating IPs, per project, with Neutron's rules and quotas. It knows
/// nothing of HTTP. As a `Service` it keeps the ``NetworkDataplane`` in step with the
/// database: one round at start (the reconcile after a restart) and one after each change.
public final class NetworkService: Service, Sendable {
    public struct Configuration: Sendable {
        /// The external network made on first start, owned by the admin project.
        public var externalNetworkName = "public"
        /// Its subnet; the host holds the gateway address on its bridge.
        public var externalCIDR = "198.18.0.0/24"
        /// Neutron's default quotas; -1 is unlimited.
        public var defaultQuotas: [String: Int] = [
            "network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50, "security_group": 10,
            "security_group_rule": 100,
        ]
        /// The largest page a list returns.
        public var maxLimit = 1000
        /// The first three bytes of every MAC Updraft makes (OpenStack's `fa:16:3e`).
        public var macPrefix: [UInt8] = [0xfa, 0x16, 0x3e]
        /// Tenant networks' MTU: local bridges carry 1500.
        public var mtu = 1500
        /// Handed to VMs by DHCP when a subnet names none.
        public var defaultDNSServers: [String] = []

        public init() {}
    }

    public let configuration: Configuration
    let database: Database
    let dataplane: any NetworkDataplane
    let logger: Logger
    /// One pending round at most: changes made during a round fold into the next.
    let pokes: AsyncStream<Void>.Continuation
    private let rounds: AsyncStream<Void>
    /// Each topology the dataplane has just carried, newest only: what the host now has,
    /// for services that follow it (the metadata service listens in every network).
    public let applied: AsyncStream<Topology>
    let appliedSink: AsyncStream<Topology>.Continuation

    public init(
        configuration: Configuration = .init(), database: Database, dataplane: any NetworkDataplane, logger: Logger
    ) {
        self.configuration = configuration
        self.database = database
        self.dataplane = dataplane
        self.logger = logger
        (rounds, pokes) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        (applied, appliedSink) = AsyncStream.makeStream(of: Topology.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Keeps the dataplane in step until graceful shutdown; a failed round is logged and the
    /// next change (or restart) tries again.
    public func run() async throws {
        pokes.yield()
        await cancelWhenGracefulShutdown {
            for await _ in self.rounds {
                do {
                    try await self.syncDataplane()
                } catch {
                    self.logger.error("dataplane round failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    static var now: Date { Date.now }

    /// Whether `caller` sees a resource of `project`: its own project, or an administrator.
    static func owns(_ caller: AuthContext, _ project: String) -> Bool {
        Policy.isAdmin(caller) || caller.projectID == project
    }

    /// Refuses a change by a caller who is not a member of `project` (or an administrator).
    static func authorizeChange(_ caller: AuthContext, _ project: String) throws(UpdraftError) {
        guard Policy.allows(caller, .projectMember(project)) else {
            throw UpdraftError(
                .forbidden, "You are not allowed to change resources of project \(project).", kind: "HTTPForbidden")
        }
    }

    /// The project a new resource belongs to: the caller's, or another one an administrator names.
    static func owner(_ requested: String?, _ caller: AuthContext) throws(UpdraftError) -> String {
        if let requested, requested != caller.projectID {
            guard Policy.isAdmin(caller) else {
                throw UpdraftError(
                    .forbidden, "Only an administrator may create resources for another project.", kind: "HTTPForbidden")
            }
            return requested
        }
        guard let project = caller.projectID else {
            throw UpdraftError(.badRequest, "A project-scoped token is required.", kind: "BadRequest")
        }
        return project
    }

    /// The project a create body names (`project_id`, or the older `tenant_id`), if any.
    static func requestedProject(_ body: JSONObject) throws(UpdraftError) -> String? {
        if let project = try body.string("project_id") { return project }
        return try body.string("tenant_id")
    }

    /// The project a new resource belongs to, whose member the caller must be.
    static func creator(_ body: JSONObject, _ caller: AuthContext) throws(UpdraftError) -> String {
        let project = try owner(try requestedProject(body), caller)
        try authorizeChange(caller, project)
        return project
    }

    static func notFound(_ kind: String, _ id: String) -> UpdraftError {
        let names = [
            "Network": "network", "Subnet": "subnet", "Port": "port", "Router": "router", "FloatingIP": "floating IP",
            "SecurityGroup": "security group", "SecurityGroupRule": "security group rule",
        ]
        return UpdraftError(.notFound, "\(names[kind, default: kind]) \(id) could not be found.", kind: "\(kind)NotFound")
    }

    /// A row's standard attributes (tags are read apart); `named` is false for resources
    /// that have no name.
    static func standard(_ row: any SQLRow, named: Bool) throws -> StandardAttributes {
        var standard = StandardAttributes(
            id: try row.string("id"), name: named ? try row.string("name") : nil, description: try row.string("description"),
            projectID: try row.string("project_id"), createdAt: Date(timeIntervalSince1970: try row.double("created_at")),
            revision: try row.int("revision"))
        standard.updatedAt = Date(timeIntervalSince1970: try row.double("updated_at"))
        return standard
    }

    // MARK: JSON columns

    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    static func decoded<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    // MARK: Tags

    /// The tags of `ids`, by id.
    static func tags(of ids: [String], _ db: any SQLDatabase) async throws -> [String: [String]] {
        guard !ids.isEmpty else { return [:] }
        var result: [String: [String]] = [:]
        let rows: [any SQLRow]
        if ids.count <= 500 {
            rows = try await db.raw("SELECT resource_id, tag FROM network_tags WHERE resource_id IN (\(binds: ids))").all()
        } else {
            rows = try await db.raw("SELECT resource_id, tag FROM network_tags").all()
        }
        let wanted = Set(ids)
        for row in rows {
            let id = try row.string("resource_id")
            if wanted.contains(id) { result[id, default: []].append(try row.string("tag")) }
        }
        return result.mapValues { $0.sorted() }
    }

    /// Replaces the tags of `id`.
    static func setTags(_ tags: [String], on id: String, _ db: any SQLDatabase) async throws {
        try await db.raw("DELETE FROM network_tags WHERE resource_id = \(bind: id)").run()
        for tag in Set(tags) {
            try await db.raw("INSERT INTO network_tags (resource_id, tag) VALUES (\(bind: id), \(bind: tag))").run()
        }
    }

    /// Checks a tag as Neutron does: 1 to 255 characters, no comma or slash.
    static func checkTag(_ tag: String) throws(UpdraftError) {
        guard !tag.isEmpty, tag.count <= 255, !tag.contains(","), !tag.contains("/") else {
            throw UpdraftError(.badRequest, "Invalid input for tags: '\(tag)' is not a valid tag.", kind: "InvalidInput")
        }
    }
}

extension NetworkService {
    /// Serves the tag routes of every resource (`/v2.0/{collection}/{id}/tags...`): `project`
    /// owns the resource, which the caller has already seen; a member of it changes its tags.
    public func updateTags(
        of id: String, ownedBy project: String, caller: AuthContext,
        _ transform: @escaping @Sendable ([String]) throws(UpdraftError) -> [String]
    ) async throws -> [String] {
        try Self.authorizeChange(caller, project)
        return try await database.write { db in
            let current = try await Self.tags(of: [id], db)[id] ?? []
            let updated = try transform(current)
            for tag in updated { try Self.checkTag(tag) }
            try await Self.setTags(updated, on: id, db)
            // A tag is a change to the resource: its revision moves, as in Neutron.
            for table in ["networks", "subnets", "ports", "routers", "floating_ips", "security_groups", "security_group_rules"] {
                try await db.raw(
                    """
                    UPDATE \(unsafeRaw: table) SET revision = revision + 1,
                    updated_at = \(bind: Self.now.timeIntervalSince1970) WHERE id = \(bind: id)
                    """
                ).run()
            }
            return Array(Set(updated)).sorted()
        }
    }
}
