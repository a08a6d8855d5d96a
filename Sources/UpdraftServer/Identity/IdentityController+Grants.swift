import Foundation
import Hummingbird
import UpdraftCore
import UpdraftIdentity

/// Role grants, implied roles and `/v3/role_assignments`.
extension IdentityController {
    func registerGrants(on v3: RouteGroup) {
        // Direct grants, and OS-INHERIT grants that apply to the projects below a domain or project.
        for (path, type) in [("projects/:id", RoleAssignment.TargetType.project), ("domains/:id", .domain), ("system", .system)] {
            registerGrantRoutes(on: v3, target: path, type, inherited: false)
        }
        for (path, type) in [("OS-INHERIT/projects/:id", RoleAssignment.TargetType.project), ("OS-INHERIT/domains/:id", .domain)]
        {
            registerGrantRoutes(on: v3, target: path, type, inherited: true)
        }

        v3.add(.get, "role_assignments", .authenticated) { request, context in
            let caller = try context.caller()
            let query = request.query
            if !Policy.isAdmin(caller) {
                guard query["user.id"] == caller.userID else { throw UpdraftError.forbidden() }
            }
            return try responder(request).list(
                "role_assignments", try await identity.assignments(query: query), selfURL: selfURL(request))
        }

        v3.add(.get, "role_inferences", .admin) { request, context in
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
            return responder(request).respond(
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
        v3.add(.get, "roles/:id/implies", .admin) { request, context in
            let prior = try await identity.role(id: try context.parameter("id"))
            let implied = try await identity.roleInferences().filter { $0.prior.id == prior.id }.map(\.implied)
            let base = publicBase(request) + "/identity"
            return responder(request).respond(
                JSONValue.object([
                    "role_inference": .object([
                        "prior_role": roleRef(prior, base), "implies": .array(implied.map { roleRef($0, base) }),
                    ]),
                    "links": .object(["self": .string(selfURL(request))]),
                ]))
        }
        v3.add(.put, "roles/:id/implies/:implied", .admin) { request, context in
            let (prior, implied) = try await identity.addImpliedRole(
                prior: try context.parameter("id"), implied: try context.parameter("implied"))
            return try inference(request, prior, implied, status: .created)
        }
        v3.add(.get, "roles/:id/implies/:implied", .admin) { request, context in
            let (prior, implied) = try await identity.impliedRole(
                prior: try context.parameter("id"), implied: try context.parameter("implied"))
            return try inference(request, prior, implied, status: .ok)
        }
        v3.add(.head, "roles/:id/implies/:implied", .admin) { _, context in
            _ = try await identity.impliedRole(prior: try context.parameter("id"), implied: try context.parameter("implied"))
            return Responder.plain.empty()
        }
        v3.add(.delete, "roles/:id/implies/:implied", .admin) { _, context in
            try await identity.deleteImpliedRole(prior: try context.parameter("id"), implied: try context.parameter("implied"))
            return Responder.plain.empty()
        }
    }

    /// List, grant, check and revoke for users and groups on one kind of target. Inherited
    /// grants put `/inherited_to_projects` after the role, as OS-INHERIT does.
    private func registerGrantRoutes(
        on v3: RouteGroup, target: String, _ type: RoleAssignment.TargetType, inherited: Bool
    ) {
        let identity = identity
        let suffix = inherited ? "/inherited_to_projects" : ""
        @Sendable func targetID(_ context: Context) throws -> String {
            type == .system ? "all" : try context.parameter("id")
        }
        for actor in [RoleAssignment.ActorType.user, .group] {
            let roles = "\(target)/\(actor.rawValue)s/:actor/roles"
            v3.add(.get, roles + suffix, .admin) { request, context in
                let granted = try await identity.grantedRoles(
                    actor: actor, try context.parameter("actor"), on: type, try targetID(context), inherited: inherited)
                return try responder(request).list("roles", granted, selfURL: selfURL(request))
            }
            v3.add(.put, "\(roles)/:role\(suffix)", .admin) { _, context in
                try await identity.grant(
                    role: try context.parameter("role"), actor: actor, try context.parameter("actor"), on: type,
                    try targetID(context), inherited: inherited)
                return Responder.plain.empty()
            }
            for method in [HTTPRequest.Method.head, .get] {
                v3.add(method, "\(roles)/:role\(suffix)", .admin) { _, context in
                    guard
                        try await identity.hasGrant(
                            role: try context.parameter("role"), actor: actor, try context.parameter("actor"), on: type,
                            try targetID(context), inherited: inherited)
                    else { throw UpdraftError.notFound("Could not find role assignment.") }
                    return Responder.plain.empty()
                }
            }
            v3.add(.delete, "\(roles)/:role\(suffix)", .admin) { _, context in
                try await identity.revoke(
                    role: try context.parameter("role"), actor: actor, try context.parameter("actor"), on: type,
                    try targetID(context), inherited: inherited)
                return Responder.plain.empty()
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
        return responder(request).respond(
            JSONValue.object([
                "role_inference": .object(["prior_role": roleRef(prior, base), "implies": roleRef(implied, base)]),
                "links": .object(["self": .string(selfURL(request))]),
            ]), status: status)
    }
}
