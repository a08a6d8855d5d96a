import Foundation
import Hummingbird
import UpdraftCompute
import UpdraftCore

/// Flavors, extra specs and flavor access; key pairs.
extension ComputeController {
    func flavorView(_ f: Flavor, detail: Bool, _ call: Call) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(f.id), "name": .string(f.name), "links": ServerView.links(call, "flavors", f.id),
        ]
        guard detail else { return .object(o) }
        o["ram"] = .number(Double(f.ram))
        o["disk"] = .number(Double(f.disk))
        o["vcpus"] = .number(Double(f.vcpus))
        o["swap"] = f.swap == 0 ? .string("") : .number(Double(f.swap))
        o["rxtx_factor"] = .number(f.rxtxFactor)
        o["OS-FLV-EXT-DATA:ephemeral"] = .number(Double(f.ephemeral))
        o["OS-FLV-DISABLED:disabled"] = .bool(f.disabled)
        o["os-flavor-access:is_public"] = .bool(f.isPublic)
        return .object(o)
    }

    func registerFlavors(on v: RouteGroup) {
        let compute = compute
        for (path, detail) in [("flavors", false), ("flavors/detail", true)] {
            route(v, .get, path, .authenticated) { request, _, call in
                let q = request.query
                var isPublic: Bool? = true
                if call.isAdmin, let text = q["is_public"] {
                    isPublic = text.lowercased() == "none" ? nil : ["true", "1", "yes", "t"].contains(text.lowercased())
                } else if call.isAdmin {
                    isPublic = true
                }
                func int(_ key: String) throws -> Int? {
                    guard let text = q[key] else { return nil }
                    guard let n = Int(text) else { throw UpdraftError.badRequest("Invalid \(key) filter [\(text)]") }
                    return n
                }
                let flavors = try await compute.listFlavors(
                    caller: call.caller, isPublic: isPublic, minDisk: try int("minDisk"), minRam: try int("minRam"),
                    sortKey: q["sort_key"] ?? "flavorid", ascending: (q["sort_dir"] ?? "asc").lowercased() == "asc",
                    limit: try self.limit(request), marker: q["marker"])
                return call.respond(
                    self.page(
                        "flavors", flavors.map { self.flavorView($0, detail: detail, call) }, flavors.last?.id, request, call))
            }
        }
        route(v, .get, "flavors/:id", .authenticated) { _, context, call in
            let flavor = try await compute.flavor(try context.parameter("id"), caller: call.caller)
            return call.respond(.object(["flavor": self.flavorView(flavor, detail: true, call)]))
        }
        route(v, .post, "flavors", .admin) { request, _, call in
            let body = try await self.body(request, "flavor")
            let name = try body.requiredString("name", maxLength: 255)
            guard name.trimmingCharacters(in: .whitespaces) == name, !name.isEmpty else {
                throw UpdraftError.badRequest("Invalid input for field/attribute name.")
            }
            func positive(_ key: String, minimum: Int) throws -> Int {
                guard let n = try body.novaInteger(key) else {
                    if minimum == 0 { return 0 }
                    throw UpdraftError.badRequest("Invalid input for field/attribute \(key): it is required.")
                }
                guard n >= minimum, n <= Int(Int32.max) else {
                    throw UpdraftError.badRequest("Invalid input for field/attribute \(key). Value: \(n).")
                }
                return n
            }
            // Nova's schema takes a string or null for the id; a number is a 400.
            let id = try body.string("id") ?? ""
            let flavor = Flavor(
                id: id, name: name, vcpus: try positive("vcpus", minimum: 1), ram: try positive("ram", minimum: 1),
                disk: try positive("disk", minimum: 0), ephemeral: try positive("OS-FLV-EXT-DATA:ephemeral", minimum: 0),
                swap: try positive("swap", minimum: 0), rxtxFactor: 1.0,
                isPublic: try body.looseBool("os-flavor-access:is_public") ?? true)
            let created = try await compute.createFlavor(flavor)
            return call.respond(.object(["flavor": self.flavorView(created, detail: true, call)]))
        }
        route(v, .delete, "flavors/:id", .admin) { _, context, call in
            try await compute.deleteFlavor(try context.parameter("id"))
            return call.empty()
        }
        @Sendable func specs(_ m: [String: String]) -> JSONValue { .object(m.mapValues(JSONValue.string)) }
        route(v, .get, "flavors/:id/os-extra_specs", .authenticated) { _, context, call in
            let flavor = try await compute.flavor(try context.parameter("id"), caller: call.caller)
            return call.respond(.object(["extra_specs": specs(flavor.extraSpecs)]))
        }
        route(v, .post, "flavors/:id/os-extra_specs", .admin) { request, context, call in
            guard let values = try JSONObject(try await request.json(limit: self.bodyLimit)).stringMap("extra_specs") else {
                throw UpdraftError.badRequest("Malformed request body: extra_specs is required.")
            }
            _ = try await compute.updateExtraSpecs(try context.parameter("id"), set: values)
            return call.respond(.object(["extra_specs": specs(values)]))
        }
        route(v, .get, "flavors/:id/os-extra_specs/:key", .authenticated) { _, context, call in
            let flavor = try await compute.flavor(try context.parameter("id"), caller: call.caller)
            let key = try context.parameter("key")
            guard let value = flavor.extraSpecs[key] else {
                throw UpdraftError.notFound("Flavor \(flavor.id) has no extra specs with key \(key).")
            }
            return call.respond(.object([key: .string(value)]))
        }
        route(v, .put, "flavors/:id/os-extra_specs/:key", .admin) { request, context, call in
            let key = try context.parameter("key")
            let body = try JSONObject(try await request.json(limit: self.bodyLimit))
            guard body.fields.count == 1, case .string(let value)? = body.fields[key] else {
                throw UpdraftError.badRequest("Request body and URI mismatch")
            }
            _ = try await compute.updateExtraSpecs(try context.parameter("id"), set: [key: value])
            return call.respond(.object([key: .string(value)]))
        }
        route(v, .delete, "flavors/:id/os-extra_specs/:key", .admin) { _, context, call in
            _ = try await compute.updateExtraSpecs(try context.parameter("id"), set: [:], remove: try context.parameter("key"))
            return call.empty(.ok)
        }
        @Sendable func access(_ id: String, _ projects: [String]) -> JSONValue {
            .object([
                "flavor_access": .array(projects.map { .object(["flavor_id": .string(id), "tenant_id": .string($0)]) })
            ])
        }
        route(v, .get, "flavors/:id/os-flavor-access", .admin) { _, context, call in
            let id = try context.parameter("id")
            return call.respond(access(id, try await compute.flavorAccess(id)))
        }
        route(v, .post, "flavors/:id/action", .admin) { request, context, call in
            let id = try context.parameter("id")
            let body = try JSONObject(try await request.json(limit: self.bodyLimit))
            for (key, granted) in [("addTenantAccess", true), ("removeTenantAccess", false)] {
                if let argument = try body.object(key) {
                    let project = try argument.requiredString("tenant")
                    return call.respond(
                        access(id, try await compute.setFlavorAccess(id, project: project, granted: granted)))
                }
            }
            throw UpdraftError.badRequest("There is no such action: \(body.fields.keys.first ?? "")")
        }
    }

    func keypairView(_ k: Keypair, full: Bool, _ call: Call) -> JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(k.name), "public_key": .string(k.publicKey), "fingerprint": .string(k.fingerprint),
        ]
        if call.version.atLeast(2) { o["type"] = .string(k.type) }
        if full {
            o["user_id"] = .string(k.userID)
            o["id"] = .number(Double(k.id))
            o["created_at"] = k.createdAt.novaUsage
            o["deleted"] = .bool(false)
            o["deleted_at"] = .null
            o["updated_at"] = .null
        }
        if let privateKey = k.privateKey { o["private_key"] = .string(privateKey) }
        return .object(o)
    }

    func registerKeypairs(on v: RouteGroup) {
        let compute = compute
        @Sendable func owner(_ request: Request, _ call: Call) throws -> String {
            if let user = request.query["user_id"], user != call.caller.userID {
                try call.authorize(.admin)
                return user
            }
            return call.caller.userID
        }
        route(v, .get, "os-keypairs", .authenticated) { request, _, call in
            let pairs = try await compute.listKeypairs(
                userID: try owner(request, call), limit: try self.limit(request),
                marker: request.query["marker"])
            return call.respond(
                .object(["keypairs": .array(pairs.map { .object(["keypair": self.keypairView($0, full: false, call)]) })]))
        }
        route(v, .get, "os-keypairs/:id", .authenticated) { request, context, call in
            let pair = try await compute.keypair(try context.parameter("id"), userID: try owner(request, call))
            return call.respond(.object(["keypair": self.keypairView(pair, full: true, call)]))
        }
        route(v, .post, "os-keypairs", .authenticated) { request, _, call in
            let body = try await self.body(request, "keypair")
            var user = call.caller.userID
            if let other = try body.string("user_id"), other != user {
                try call.authorize(.admin)
                user = other
            }
            let type = call.version.atLeast(2) ? try body.string("type") ?? "ssh" : "ssh"
            let pair = try await compute.createKeypair(
                name: try body.requiredString("name"), userID: user, projectID: call.caller.projectID,
                publicKey: try body.string("public_key"), type: type)
            var view = self.keypairView(pair, full: false, call)
            if case .object(var fields) = view {
                fields["user_id"] = .string(pair.userID)
                view = .object(fields)
            }
            return call.respond(.object(["keypair": view]), status: call.version.atLeast(2) ? .created : .ok)
        }
        route(v, .delete, "os-keypairs/:id", .authenticated) { request, context, call in
            try await compute.deleteKeypair(try context.parameter("id"), userID: try owner(request, call))
            return call.empty(call.version.atLeast(2) ? .noContent : .accepted)
        }
    }
}
