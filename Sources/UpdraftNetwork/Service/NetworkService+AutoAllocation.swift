import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

extension NetworkService {
    /// The subnet an auto-allocated network gets. Every project may use the same range:
    /// networks are isolated, and each project's router NATs its own.
    static let autoAllocatedCIDR = "10.0.0.0/24"

    /// Serves `GET /v2.0/auto-allocated-topology/{project}`: the project's network, made on the
    /// first call with a subnet and a router whose gateway is on the default external network,
    /// as `openstack server create --nic auto` and Exosphere expect. Returns the network's id.
    /// With `dryRun`, only checks that it could be made (409 when no external network is default).
    public func autoAllocatedTopology(project: String, caller: AuthContext, dryRun: Bool = false) async throws -> String? {
        guard Policy.allows(caller, .projectMember(project)) || Policy.isAdmin(caller) else {
            throw UpdraftError(
                .forbidden, "You are not allowed to allocate a topology for project \(project).", kind: "HTTPForbidden")
        }
        if let existing = try await database.read({ db in
            try await db.raw("SELECT network_id FROM auto_allocated_topologies WHERE project_id = \(bind: project)").first()?
                .string("network_id")
        }) {
            return dryRun ? nil : existing
        }
        guard
            let external = try await database.read({ db in
                try await db.raw(
                    "SELECT id FROM networks WHERE external = \(bind: true) AND is_default = \(bind: true)"
                ).first()?.string("id")
            })
        else {
            throw UpdraftError(
                .conflict, "Deployment error: No default router:external network.", kind: "AutoAllocationFailure")
        }
        if dryRun { return nil }
        // Each step is undone if a later one fails.
        let owner = caller
        return try await withUndoSteps(logger: logger) { undo in
            let network = try await createNetwork(
                JSONObject(["name": .string("auto_allocated_network"), "project_id": .string(project)], path: "network"),
                caller: owner)
            undo.add("delete network \(network.id)") { try await self.deleteNetwork(network.id, caller: owner) }
            let subnet = try await createSubnet(
                JSONObject(
                    [
                        "name": .string("auto_allocated_subnet_v4"), "network_id": .string(network.id),
                        "cidr": .string(Self.autoAllocatedCIDR), "ip_version": .integer(4), "project_id": .string(project),
                    ], path: "subnet"), caller: owner)
            undo.add("delete subnet \(subnet.id)") { try await self.deleteSubnet(subnet.id, caller: owner) }
            let router = try await createRouter(
                JSONObject(
                    [
                        "name": .string("auto_allocated_router"), "project_id": .string(project),
                        "external_gateway_info": .object(["network_id": .string(external)]),
                    ], path: "router"), caller: owner)
            undo.add("delete router \(router.id)") { try await self.deleteRouter(router.id, caller: owner) }
            _ = try await addInterface(router.id, JSONObject(["subnet_id": .string(subnet.id)], path: "router"), caller: owner)
            undo.add("remove the router's interface") {
                _ = try await self.removeInterface(
                    router.id, JSONObject(["subnet_id": .string(subnet.id)], path: "router"), caller: owner)
            }
            try await database.write { db in
                try await db.raw(
                    """
                    INSERT INTO auto_allocated_topologies (project_id, network_id, router_id)
                    VALUES (\(bind: project), \(bind: network.id), \(bind: router.id))
                    """
                ).run()
            }
            return network.id
        }
    }

    /// Serves `DELETE /v2.0/auto-allocated-topology/{project}`: the router, subnet and network
    /// go (409 while servers still use the network).
    public func deleteAutoAllocatedTopology(project: String, caller: AuthContext) async throws {
        try Self.authorizeChange(caller, project)
        guard
            let row = try await database.read({ db in
                try await db.raw("SELECT * FROM auto_allocated_topologies WHERE project_id = \(bind: project)").first()
            })
        else {
            throw UpdraftError(.notFound, "Auto-allocated topology for project \(project) could not be found.", kind: "NotFound")
        }
        let network = try row.string("network_id")
        let router = try row.string("router_id")
        let owner = caller
        for subnet in try await listSubnets(caller: owner) where subnet.networkID == network {
            _ = try? await removeInterface(router, JSONObject(["subnet_id": .string(subnet.id)], path: "router"), caller: owner)
        }
        try await deleteRouter(router, caller: owner)
        try await deleteNetwork(network, caller: owner)
        try await database.write { db in
            try await db.raw("DELETE FROM auto_allocated_topologies WHERE project_id = \(bind: project)").run()
        }
    }
}
