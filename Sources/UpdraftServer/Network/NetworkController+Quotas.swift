import Foundation
import Hummingbird
import UpdraftCore
import UpdraftNetwork

/// `/v2.0/quotas`: limits per project, their defaults and their use.
extension NetworkController {
    func registerQuotas(on v2: RouteGroup) {
        let n = network
        @Sendable func readable(_ project: String, _ context: Context) throws -> AuthContext {
            let caller = try context.caller()
            if caller.projectID != project { try Policy.authorize(caller, .admin) }
            return caller
        }
        @Sendable func quota(_ limits: [String: Int], project: String) -> JSONValue {
            var fields = limits.mapValues { JSONValue.integer($0) }
            fields["project_id"] = .string(project)
            fields["tenant_id"] = .string(project)
            return .object(fields)
        }
        v2.add(.get, "quotas", .admin) { _, _ in
            Self.responder.respond(JSONValue.object(["quotas": .array([])]))
        }
        v2.add(.get, "quotas/:id", .authenticated) { _, context in
            let project = try context.parameter("id")
            _ = try readable(project, context)
            var limits = try await n.quotas(project)
            limits = limits.filter { NetworkService.quotaResources.contains($0.key) }
            return Self.responder.respond(JSONValue.object(["quota": .object(limits.mapValues { .integer($0) })]))
        }
        v2.add(.get, "quotas/:id/default", .authenticated) { _, context in
            let project = try context.parameter("id")
            _ = try readable(project, context)
            return Self.responder.respond(JSONValue.object(["quota": quota(n.configuration.defaultQuotas, project: project)]))
        }
        v2.add(.get, "quotas/:id/details", .authenticated) { _, context in
            let project = try context.parameter("id")
            _ = try readable(project, context)
            let limits = try await n.quotas(project)
            let used = try await n.quotaUsage(project)
            var details: [String: JSONValue] = [:]
            for (resource, limit) in limits {
                details[resource] = .object([
                    "limit": .integer(limit), "used": .integer(used[resource] ?? 0), "reserved": .integer(0),
                ])
            }
            return Self.responder.respond(JSONValue.object(["quota": .object(details)]))
        }
        v2.add(.put, "quotas/:id", .admin) { request, context in
            let body = try await self.body(request, "quota")
            var values: [String: Int] = [:]
            // `check_limit` and `force` are switches, not resources (the CLI sends check_limit).
            for key in body.fields.keys where key != "check_limit" && key != "force" {
                guard let limit = try body.integer(key, in: Int(Int32.min)...Int(Int32.max)) else { continue }
                values[key] = limit
            }
            let limits = try await n.setQuotas(
                try context.parameter("id"), values, checkLimit: try body.looseBool("check_limit") ?? false)
            return Self.responder.respond(JSONValue.object(["quota": .object(limits.mapValues { .integer($0) })]))
        }
        v2.add(.delete, "quotas/:id", .admin) { _, context in
            try await n.resetQuotas(try context.parameter("id"))
            return Responder.plain.empty()
        }
    }

    func registerAvailability(on v2: RouteGroup) {
        let n = network
        // GET makes the topology on first use, as Neutron's does; the service asks for member.
        v2.add(.get, "auto-allocated-topology/:id", .authenticated) { request, context in
            let project = try context.parameter("id")
            let dryRun = request.uri.queryParameters[values: "fields"].contains("dry-run")
            let id = try await n.autoAllocatedTopology(project: project, caller: try context.caller(), dryRun: dryRun)
            let body: JSONValue =
                dryRun
                ? .object(["auto_allocated_topology": .object(["dry-run": "pass"])])
                : .object([
                    "auto_allocated_topology": .object([
                        "id": id.map(JSONValue.string) ?? .null, "tenant_id": .string(project), "project_id": .string(project),
                    ])
                ])
            return Self.responder.respond(body)
        }
        v2.add(.delete, "auto-allocated-topology/:id", .member) { _, context in
            try await n.deleteAutoAllocatedTopology(project: try context.parameter("id"), caller: try context.caller())
            return Responder.plain.empty()
        }
        v2.add(.get, "availability_zones", .authenticated) { request, context in
            let zones: [JSONValue] = ["network", "router"].map { resource in
                .object(["name": "nova", "resource": .string(resource), "state": "available"])
            }
            let query = try NeutronQuery(request, maxLimit: n.configuration.maxLimit)
            let page = try query.apply(zones.compactMap { if case .object(let o) = $0 { o } else { nil } }).page
            _ = try context.caller()
            return Self.responder.respond(JSONValue.object(["availability_zones": .array(page.map(JSONValue.object))]))
        }
        // No agents: the dataplane is this process. Neutron shows a non-admin an empty list too.
        v2.add(.get, "agents", .authenticated) { _, _ in
            Self.responder.respond(JSONValue.object(["agents": .array([])]))
        }
        v2.add(.get, "network-ip-availabilities", .admin) { request, context in
            let availabilities = try await n.ipAvailabilities(caller: try context.caller())
            return try self.list(
                request, "network_ip_availabilities", availabilities, collection: "network-ip-availabilities",
                caller: try context.caller())
        }
        v2.add(.get, "network-ip-availabilities/:id", .admin) { request, context in
            let id = try context.parameter("id")
            guard let found = try await n.ipAvailabilities(caller: try context.caller()).first(where: { $0.networkID == id })
            else {
                throw UpdraftError(.notFound, "Network \(id) could not be found.", kind: "NetworkNotFound")
            }
            return try self.one(
                request, "network_ip_availability", found, collection: "network-ip-availabilities", caller: try context.caller())
        }
    }
}
