import Foundation
import Hummingbird
import UpdraftCore
import UpdraftIdentity

/// Role grants, implied roles and `/v3/role_assignments`.
extension IdentityController {
    func registerGrants(on v3: RouterGroup<Context>) {
        // Direct grants, and OS-INHERIT grants that apply to the projects below a domain or project.
        for (path, type) in [("projects/:id", RoleAssignment.TargetType.project), ("domains/:id", .domain), ("system", .system)] {
            registerGrantRoutes(on: v3, target: path, type, inherited: false)
        }
        for (path, type) in [("OS-INHERIT/projects/:id", RoleAssignment.TargetType.project), ("OS-INHERIT/domains/:id", .domain)]
        {
            registerGrantRoutes(on: v3, target: path, type, inherited: true)
        }

        v3.get("role_assignments") { request, context in
            let caller = try context.caller()
            let query = request.query
            if !Policy.isAdmin(caller.authContext) {
                guard query["user.id"] == caller.userID else { throw UpdraftError.forbidden() }
            }
            return try responder(request).list(
                "role_assignments", try await identity.assignments(query: query), selfURL: selfURL(request))
        }

        v3.get("role_inferences") { request, context in
            try context.caller(.admin)
            let pairs = try await identity.roleInferences()
            var grouped: [(prior: Role, implies: [Role])] = []
            for pair in pairs {
                if let index = grouped.firstIndex(where: { $0.prior.id == pair.prior.id }) {
                    grouped[index].implies.append(pair.implied)
                } else {
                    grouped.append((pair.prior, [pair.implied]))
                }
            }
            let base = publicBase(request) + "/identity"
            return try responder(request).respond(
                JSONValue.object([
                    "role_inferences": .array(
                        grouped.map {
                            .object([
                                "prior_role": roleRef($0.prior, base), "implies": .array($0.implies.map { roleRef($0, base) }),
                            ])
                        }),
                    "links": .object(["self": .string(selfURL(request))]),
                ]))
        }
        v3.get("roles/:id/implies") { request, context in
            try context.caller(.admin)
            let prior = try await identity.role(id: try context.parameter("id"))
            let implied = try await identity.roleInferences().filter { $0.prior.id == prior.id }.map(\.implied)
            let base = publicBase(request) + "/identity"
            return try responder(request).respond(
                JSONValue.object([
                    "role_inference": .object([
                        "prior_role": roleRef(prior, base), "implies": .array(implied.map { roleRef($0, base) }),
                    ]),
                    "links": .object(["self": .string(selfURL(request))]),
                ]))
        }
        v3.put("roles/:id/implies/:implied") { request, context in
            try context.caller(.admin)
            let (prior, implied) = try await identity.addImpliedRole(
                prior: try context.parameter("id"), implied: try context.parameter("implied"))
            return try inference(request, prior, implied, status: .created)
        }
        v3.get("roles/:id/implies/:implied") { request, context in
            try context.caller(.admin)
            let (prior, implied) = try await identity.impliedRole(
                prior: try context.parameter("id"), implied: try context.parameter("implied"))
            return try inference(request, prior, implied, status: .ok)
        }
        v3.head("roles/:id/implies/:implied") { _, context in
            try context.caller(.admin)
            _ = try await identity.impliedRole(prior: try context.parameter("id"), implied: try context.parameter("implied"))
            return JSONResponder.empty()
        }
        v3.delete("roles/:id/implies/:implied") { _, context in
            try context.caller(.admin)
            try await identity.deleteImpliedRole(prior: try context.parameter("id"), implied: try context.parameter("implied"))
            return JSONResponder.empty()
        }
    }

    /// List, grant, check and revoke for users and groups on one kind of target. Inherited
    /// grants put `/inherited_to_projects` after the role, as OS-INHERIT does.
    private func registerGrantRoutes(
        on v3: RouterGroup<Context>, target: String, _ type: RoleAssignment.TargetType, inherited: Bool
    ) {
        let identity = identity
        let suffix = inherited ? "/inherited_to_projects" : ""
        @Sendable func targetID(_ context: Context) throws -> String {
            type == .system ? "all" : try context.parameter("id")
        }
        for actor in [RoleAssignment.ActorType.user, .group] {
            let roles = "\(target)/\(actor.rawValue)s/:actor/roles"
            v3.get(RouterPath(roles + suffix)) { request, context in
                try context.caller(.admin)
                let granted = try await identity.grantedRoles(
                    actor: actor, try context.parameter("actor"), on: type, try targetID(context), inherited: inherited)
                return try responder(request).list("roles", granted, selfURL: selfURL(request))
            }
            v3.put(RouterPath("\(roles)/:role\(suffix)")) { _, context in
                try context.caller(.admin)
                try await identity.grant(
                    role: try context.parameter("role"), actor: actor, try context.parameter("actor"), on: type,
                    try targetID(context), inherited: inherited)
                return JSONResponder.empty()
            }
            for method in [HTTPRequest.Method.head, .get] {
                v3.on(RouterPath("\(roles)/:role\(suffix)"), method: method) { _, context in
                    try context.caller(.admin)
                    guard
                        try await identity.hasGrant(
                            role: try context.parameter("role"), actor: actor, try context.parameter("actor"), on: type,
                            try targetID(context), inherited: inherited)
                    else { throw UpdraftError.notFound("Could not find role assignment.") }
                    return JSONResponder.empty()
                }
            }
            v3.delete(RouterPath("\(roles)/:role\(suffix)")) { _, context in
                try context.caller(.admin)
                try await identity.revoke(
                    role: try context.parameter("role"), actor: actor, try context.parameter("actor"), on: type,
                    try targetID(context), inherited: inherited)
                return JSONResponder.empty()
            }
        }
    }

    private func roleRef(_ role: Role, _ base: String) -> JSONValue {
        .object([
            "id": .string(role.id), "name": .string(role.name),
            "links": .object(["self": .string("\(base)/v3/roles/\(role.id)")]),
        ])
    }

    private func inference(_ request: Request, _ prior: Role, _ implied: Role, status: HTTPResponse.Status) throws -> Response {
        let base = publicBase(request) + "/identity"
        return try responder(request).respond(
            JSONValue.object([
                "role_inference": .object(["prior_role": roleRef(prior, base), "implies": roleRef(implied, base)]),
                "links": .object(["self": .string(selfURL(request))]),
            ]), status: status)
    }
}
