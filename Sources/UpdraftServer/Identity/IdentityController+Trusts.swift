import Foundation
import Hummingbird
import UpdraftCore
import UpdraftIdentity

/// `/v3/OS-TRUST/trusts`.
extension IdentityController {
    func registerTrusts(on v3: RouteGroup) {
        let identity = identity
        v3.add(.post, "OS-TRUST/trusts", .authenticated) { request, context in
            let caller = try context.caller()
            let body = try JSONObject.body(try await request.json(limit: bodyLimit), key: "trust")
            let trust = try await identity.createTrust(caller: caller, body)
            return try responder(request).respond(Envelope(key: "trust", value: trust), status: .created)
        }
        v3.add(.get, "OS-TRUST/trusts", .authenticated) { request, context in
            let caller = try context.caller()
            let trusts = try await identity.listTrusts(caller: caller, query: request.query)
            return try responder(request).list("trusts", trusts, selfURL: selfURL(request))
        }
        v3.add(.get, "OS-TRUST/trusts/:id", .authenticated) { request, context in
            let trust = try await identity.trust(id: try context.parameter("id"), caller: try context.caller())
            return try responder(request).respond(Envelope(key: "trust", value: trust))
        }
        v3.add(.delete, "OS-TRUST/trusts/:id", .authenticated) { _, context in
            try await identity.deleteTrust(id: try context.parameter("id"), caller: try context.caller())
            return Responder.plain.empty()
        }
        v3.add(.get, "OS-TRUST/trusts/:id/roles", .authenticated) { request, context in
            let trust = try await identity.trust(id: try context.parameter("id"), caller: try context.caller())
            let base = publicBase(request) + "/identity"
            let roles = trust.roles.map { RoleLink($0, base: base) }
            return try responder(request).list("roles", roles, selfURL: selfURL(request))
        }
        for method in [HTTPRequest.Method.get, .head] {
            v3.add(method, "OS-TRUST/trusts/:id/roles/:role", .authenticated) { request, context in
                let trust = try await identity.trust(id: try context.parameter("id"), caller: try context.caller())
                let roleID = try context.parameter("role")
                guard let role = trust.roles.first(where: { $0.id == roleID }) else {
                    throw UpdraftError.notFound("Role \(roleID) is not delegated by trust \(trust.id).")
                }
                if method == .head { return Responder.plain.empty(.ok) }
                let base = publicBase(request) + "/identity"
                return try responder(request).respond(
                    Envelope(
                        key: "role",
                        value: RoleLink(role, base: base)))
            }
        }
    }
}
