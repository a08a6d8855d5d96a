import Foundation
import Hummingbird
import NIOCore
import UpdraftCore
import UpdraftNetwork

/// Networks, subnets, ports, routers, floating IPs, security groups and their rules: list,
/// create (one or in bulk), show, update, delete, and tags.
extension NetworkController {
    /// How one collection is served.
    struct Collection<T: Encodable & Sendable>: Sendable {
        var plural: String
        var singular: String
        /// Every resource the caller sees; it may take filters the store applies itself off the query.
        var list: @Sendable (AuthContext, inout NeutronQuery) async throws -> [T]
        var get: @Sendable (String, AuthContext) async throws -> T
        var create: @Sendable (JSONObject, AuthContext) async throws -> T
        var update: (@Sendable (String, JSONObject, AuthContext) async throws -> T)?
        var delete: @Sendable (String, AuthContext) async throws -> Void
        /// The project that owns a resource, for its tag routes.
        var owner: @Sendable (T) -> String
        /// The whole answer under a key, written by the store's own means, when the query
        /// asks for nothing it must apply itself; nil leaves the list to `list`.
        var encodedList: (@Sendable (String, AuthContext, inout NeutronQuery) async throws -> ByteBuffer?)? = nil
    }

    func registerResources(on v2: RouteGroup) {
        let n = network
        serve(
            Collection(
                plural: "networks", singular: "network", list: { caller, _ in try await n.listNetworks(caller: caller) },
                get: { try await n.network($0, caller: $1) }, create: { try await n.createNetwork($0, caller: $1) },
                update: { try await n.updateNetwork($0, $1, caller: $2) }, delete: { try await n.deleteNetwork($0, caller: $1) },
                owner: \.projectID), on: v2)
        serve(
            Collection(
                plural: "subnets", singular: "subnet", list: { caller, _ in try await n.listSubnets(caller: caller) },
                get: { try await n.subnet($0, caller: $1) }, create: { try await n.createSubnet($0, caller: $1) },
                update: { try await n.updateSubnet($0, $1, caller: $2) }, delete: { try await n.deleteSubnet($0, caller: $1) },
                owner: \.projectID), on: v2)
        serve(
            Collection(
                plural: "ports", singular: "port",
                list: { caller, query in
                    try await n.listPorts(caller: caller, networkID: query.take("network_id"), deviceID: query.take("device_id"))
                },
                get: { try await n.port($0, caller: $1) }, create: { try await n.createPort($0, caller: $1) },
                update: { try await n.updatePort($0, $1, caller: $2) }, delete: { try await n.deletePort($0, caller: $1) },
                owner: \.projectID,
                encodedList: { key, caller, query in
                    var plain = query
                    let (networkID, deviceID) = (plain.take("network_id"), plain.take("device_id"))
                    guard plain.isPlain else { return nil }
                    query = plain
                    return try await self.portBodies.list(
                        n, key: key, caller: caller, networkID: networkID, deviceID: deviceID, encoder: Self.encoder(caller))
                }), on: v2)
        serve(
            Collection(
                plural: "routers", singular: "router", list: { caller, _ in try await n.listRouters(caller: caller) },
                get: { try await n.router($0, caller: $1) }, create: { try await n.createRouter($0, caller: $1) },
                update: { try await n.updateRouter($0, $1, caller: $2) }, delete: { try await n.deleteRouter($0, caller: $1) },
                owner: \.projectID), on: v2)
        serve(
            Collection(
                plural: "floatingips", singular: "floatingip", list: { caller, _ in try await n.listFloatingIPs(caller: caller) },
                get: { try await n.floatingIP($0, caller: $1) }, create: { try await n.createFloatingIP($0, caller: $1) },
                update: { try await n.updateFloatingIP($0, $1, caller: $2) },
                delete: { try await n.deleteFloatingIP($0, caller: $1) }, owner: \.projectID), on: v2)
        serve(
            Collection(
                plural: "security-groups", singular: "security_group",
                list: { caller, _ in try await n.listSecurityGroups(caller: caller) },
                get: { try await n.securityGroup($0, caller: $1) }, create: { try await n.createSecurityGroup($0, caller: $1) },
                update: { try await n.updateSecurityGroup($0, $1, caller: $2) },
                delete: { try await n.deleteSecurityGroup($0, caller: $1) }, owner: \.projectID),
            key: "security_groups", on: v2)
        serve(
            Collection(
                plural: "security-group-rules", singular: "security_group_rule",
                list: { caller, _ in try await n.listSecurityGroupRules(caller: caller) },
                get: { try await n.securityGroupRule($0, caller: $1) },
                create: { try await n.createSecurityGroupRule($0, caller: $1) }, update: nil,
                delete: { try await n.deleteSecurityGroupRule($0, caller: $1) }, owner: \.projectID),
            key: "security_group_rules", on: v2)
    }

    /// Registers one collection's routes; `key` is the plural in bodies when it differs from
    /// the path (`security_groups` under `security-groups`).
    func serve<T: Encodable & Sendable>(_ c: Collection<T>, key: String? = nil, on v2: RouteGroup) {
        let plural = key ?? c.plural
        v2.add(.get, c.plural, .authenticated) { request, context in
            let caller = try context.caller()
            var query = try NeutronQuery(request, maxLimit: self.network.configuration.maxLimit)
            if let encodedList = c.encodedList, let body = try await encodedList(plural, caller, &query) {
                return Self.responder.respond(encoded: body)
            }
            let items = try await c.list(caller, &query)
            return try self.list(request, plural, items, collection: c.plural, caller: caller, query: query)
        }
        v2.add(.post, c.plural, .member) { request, context in
            let caller = try context.caller()
            let value = try await request.json(limit: self.bodyLimit)
            guard case .object(let root) = value else {
                throw UpdraftError(.badRequest, "Resource body required", kind: "HTTPBadRequest")
            }
            // Bulk create: `{"networks": [...]}`; each is created in turn.
            if case .array(let items)? = root[plural] {
                var created: [T] = []
                for item in items {
                    guard case .object(let fields) = item else {
                        throw UpdraftError(.badRequest, "Resource body required", kind: "HTTPBadRequest")
                    }
                    created.append(try await c.create(JSONObject(fields, path: c.singular), caller))
                }
                let objects = try Self.objects(created, collection: c.plural, caller: caller)
                return Self.responder.respond(JSONValue.object([plural: .array(objects.map(JSONValue.object))]), status: .created)
            }
            guard case .object(let fields)? = root[c.singular] else {
                throw UpdraftError(.badRequest, "Resource body required", kind: "HTTPBadRequest")
            }
            let created = try await c.create(JSONObject(fields, path: c.singular), caller)
            return try self.one(request, c.singular, created, collection: c.plural, caller: caller, status: .created)
        }
        v2.add(.get, "\(c.plural)/:id", .authenticated) { request, context in
            let caller = try context.caller()
            return try self.one(
                request, c.singular, try await c.get(try context.parameter("id"), caller), collection: c.plural, caller: caller)
        }
        if let update = c.update {
            v2.add(.put, "\(c.plural)/:id", .member) { request, context in
                let caller = try context.caller()
                let body = try await self.body(request, c.singular)
                let updated = try await update(try context.parameter("id"), body, caller)
                return try self.one(request, c.singular, updated, collection: c.plural, caller: caller)
            }
        }
        v2.add(.delete, "\(c.plural)/:id", .member) { _, context in
            try await c.delete(try context.parameter("id"), try context.caller())
            return Responder.plain.empty()
        }
        registerTags(c, on: v2)
    }

    /// Neutron's tag routes for one collection.
    func registerTags<T: Encodable & Sendable>(_ c: Collection<T>, on v2: RouteGroup) {
        let n = network
        @Sendable func change(
            _ context: Context, _ transform: @escaping @Sendable ([String]) throws(UpdraftError) -> [String]
        ) async throws -> [String] {
            let caller = try context.caller()
            let id = try context.parameter("id")
            let resource = try await c.get(id, caller)
            return try await n.updateTags(of: id, ownedBy: c.owner(resource), caller: caller, transform)
        }
        @Sendable func current(_ context: Context) async throws -> [String] {
            let caller = try context.caller()
            let objects = try Self.objects(
                [try await c.get(try context.parameter("id"), caller)], collection: c.plural, caller: caller)
            guard case .array(let tags)? = objects.first?["tags"] else { return [] }
            return tags.compactMap { if case .string(let s) = $0 { s } else { nil } }
        }
        v2.add(.get, "\(c.plural)/:id/tags", .authenticated) { _, context in
            Self.responder.respond(JSONValue.object(["tags": .array(try await current(context).map(JSONValue.string))]))
        }
        v2.add(.put, "\(c.plural)/:id/tags", .member) { request, context in
            let value = try await request.json(limit: self.bodyLimit)
            guard case .object(let root) = value, let tags = try JSONObject(root, path: "").strings("tags") else {
                throw UpdraftError(
                    .badRequest, "Invalid input for tags. Reason: a list of tags is required.", kind: "HTTPBadRequest")
            }
            let updated = try await change(context) { _ in tags }
            return Self.responder.respond(JSONValue.object(["tags": .array(updated.map(JSONValue.string))]))
        }
        v2.add(.delete, "\(c.plural)/:id/tags", .member) { _, context in
            _ = try await change(context) { _ in [] }
            return Responder.plain.empty()
        }
        v2.add(.get, "\(c.plural)/:id/tags/:tag", .authenticated) { _, context in
            let tag = try context.parameter("tag")
            guard try await current(context).contains(tag) else {
                throw UpdraftError(.notFound, "Tag \(tag) could not be found.", kind: "TagNotFound")
            }
            return Responder.plain.empty()
        }
        v2.add(.put, "\(c.plural)/:id/tags/:tag", .member) { _, context in
            let tag = try context.parameter("tag")
            _ = try await change(context) { $0.contains(tag) ? $0 : $0 + [tag] }
            return Responder.plain.empty(.created)
        }
        v2.add(.delete, "\(c.plural)/:id/tags/:tag", .member) { _, context in
            let tag = try context.parameter("tag")
            _ = try await change(context) { tags throws(UpdraftError) in
                guard tags.contains(tag) else {
                    throw UpdraftError(.notFound, "Tag \(tag) could not be found.", kind: "TagNotFound")
                }
                return tags.filter { $0 != tag }
            }
            return Responder.plain.empty()
        }
    }

    func registerRouterInterfaces(on v2: RouteGroup) {
        let n = network
        v2.add(.put, "routers/:id/add_router_interface", .member) { request, context in
            let value = try await request.json(limit: self.bodyLimit)
            guard case .object(let fields) = value else {
                throw UpdraftError(.badRequest, "Resource body required", kind: "HTTPBadRequest")
            }
            let info = try await n.addInterface(
                try context.parameter("id"), JSONObject(fields, path: "router"), caller: try context.caller())
            return try Self.responder.respond(info)
        }
        v2.add(.put, "routers/:id/remove_router_interface", .member) { request, context in
            let value = try await request.json(limit: self.bodyLimit)
            guard case .object(let fields) = value else {
                throw UpdraftError(.badRequest, "Resource body required", kind: "HTTPBadRequest")
            }
            let info = try await n.removeInterface(
                try context.parameter("id"), JSONObject(fields, path: "router"), caller: try context.caller())
            return try Self.responder.respond(info)
        }
    }
}
