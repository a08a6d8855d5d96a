import Foundation
import Hummingbird
import UpdraftCore
import UpdraftIdentity

/// Domains, projects, users, groups, roles, regions, services and endpoints.
extension IdentityController {
    /// Who may read one resource or the list; only an administrator changes them.
    struct Rules: Sendable {
        var list: @Sendable (AuthContext) -> Policy.Rule = { _ in .admin }
        var get: @Sendable (AuthContext, String) -> Policy.Rule = { _, _ in .admin }
    }

    /// Registers list, create, show, update and delete for one resource collection.
    func crud<T: Encodable & Sendable>(
        _ v3: RouteGroup, _ collection: String, _ member: String, rules: Rules = Rules(),
        list: @escaping @Sendable ([String: String]) async throws -> [T],
        get: @escaping @Sendable (String) async throws -> T,
        create: @escaping @Sendable (JSONObject) async throws -> T,
        update: @escaping @Sendable (String, JSONObject) async throws -> T,
        delete: @escaping @Sendable (String) async throws -> Void
    ) {
        v3.add(.get, collection, .authenticated) { request, context in
            let caller = try context.caller()
            try Policy.authorize(caller, rules.list(caller))
            return try responder(request).list(collection, try await list(request.query), selfURL: selfURL(request))
        }
        v3.add(.post, collection, .admin) { request, _ in
            let body = try JSONObject.body(try await request.json(limit: bodyLimit), key: member)
            return try responder(request).respond(Envelope(key: member, value: try await create(body)), status: .created)
        }
        v3.add(.get, "\(collection)/:id", .authenticated) { request, context in
            let caller = try context.caller()
            let id = try context.parameter("id")
            try Policy.authorize(caller, rules.get(caller, id))
            return try responder(request).respond(Envelope(key: member, value: try await get(id)))
        }
        v3.add(.patch, "\(collection)/:id", .admin) { request, context in
            let id = try context.parameter("id")
            let body = try JSONObject.body(try await request.json(limit: bodyLimit), key: member)
            return try responder(request).respond(Envelope(key: member, value: try await update(id, body)))
        }
        v3.add(.delete, "\(collection)/:id", .admin) { _, context in
            try await delete(try context.parameter("id"))
            return Responder.plain.empty()
        }
    }

    func registerResources(on v3: RouteGroup) {
        let identity = identity
        crud(
            v3, "domains", "domain",
            rules: Rules(get: { caller, id in
                caller.userDomainID == id || caller.projectDomainID == id || caller.domainID == id ? .authenticated : .admin
            }),
            list: { try await identity.listDomains(query: $0) }, get: { try await identity.domain(id: $0) },
            create: { try await identity.createDomain($0) }, update: { try await identity.updateDomain(id: $0, $1) },
            delete: { try await identity.deleteDomain(id: $0) })
        crud(
            v3, "projects", "project", rules: Rules(get: { _, id in .projectReader(id) }),
            list: { try await identity.listProjects(query: $0) }, get: { try await identity.project(id: $0) },
            create: { try await identity.createProject($0) }, update: { try await identity.updateProject(id: $0, $1) },
            delete: { try await identity.deleteProject(id: $0) })
        crud(
            v3, "users", "user", rules: Rules(get: { _, id in .user(id) }),
            list: { try await identity.listUsers(query: $0) }, get: { try await identity.user(id: $0) },
            create: { try await identity.createUser($0) }, update: { try await identity.updateUser(id: $0, $1) },
            delete: { try await identity.deleteUser(id: $0) })
        crud(
            v3, "groups", "group",
            list: { try await identity.listGroups(query: $0) }, get: { try await identity.group(id: $0) },
            create: { try await identity.createGroup($0) }, update: { try await identity.updateGroup(id: $0, $1) },
            delete: { try await identity.deleteGroup(id: $0) })
        crud(
            v3, "roles", "role",
            list: { try await identity.listRoles(query: $0) }, get: { try await identity.role(id: $0) },
            create: { try await identity.createRole($0) }, update: { try await identity.updateRole(id: $0, $1) },
            delete: { try await identity.deleteRole(id: $0) })
        let anyone = Rules(list: { _ in .authenticated }, get: { _, _ in .authenticated })
        crud(
            v3, "regions", "region", rules: anyone,
            list: { try await identity.listRegions(query: $0) }, get: { try await identity.region(id: $0) },
            create: { try await identity.createRegion($0) }, update: { try await identity.updateRegion(id: $0, $1) },
            delete: { try await identity.deleteRegion(id: $0) })
        crud(
            v3, "services", "service", rules: anyone,
            list: { try await identity.listServices(query: $0) }, get: { try await identity.service(id: $0) },
            create: { try await identity.createService($0) }, update: { try await identity.updateService(id: $0, $1) },
            delete: { try await identity.deleteService(id: $0) })
        crud(
            v3, "endpoints", "endpoint", rules: anyone,
            list: { try await identity.listEndpoints(query: $0) }, get: { try await identity.endpoint(id: $0) },
            create: { try await identity.createEndpoint($0) }, update: { try await identity.updateEndpoint(id: $0, $1) },
            delete: { try await identity.deleteEndpoint(id: $0) })
        crud(
            v3, "policies", "policy",
            list: { try await identity.listPolicies(query: $0) }, get: { try await identity.policy(id: $0) },
            create: { try await identity.createPolicy($0) }, update: { try await identity.updatePolicy(id: $0, $1) },
            delete: { try await identity.deletePolicy(id: $0) })

        // Regions may be created with a chosen id.
        v3.add(.put, "regions/:id", .admin) { request, context in
            let body = try JSONObject.body(try await request.json(limit: bodyLimit), key: "region")
            let region = try await identity.createRegion(body, id: try context.parameter("id"))
            return try responder(request).respond(Envelope(key: "region", value: region), status: .created)
        }

        // Users: password, groups, projects.
        v3.add(.post, "users/:id/password", .anyone) { request, context in
            let id = try context.parameter("id")
            let body = try JSONObject.body(try await request.json(limit: bodyLimit), key: "user")
            let original = try body.requiredString("original_password", maxLength: 4096)
            let new = try body.requiredString("password", maxLength: 4096)
            try await identity.changePassword(userID: id, original: original, new: new)
            return Responder.plain.empty()
        }
        v3.add(.get, "users/:id/groups", .authenticated) { request, context in
            let id = try context.parameter("id")
            try context.caller(.user(id))
            return try responder(request).list("groups", try await identity.groups(ofUser: id), selfURL: selfURL(request))
        }
        v3.add(.get, "users/:id/projects", .authenticated) { request, context in
            let id = try context.parameter("id")
            try context.caller(.user(id))
            return try responder(request).list("projects", try await identity.projects(ofUser: id), selfURL: selfURL(request))
        }

        // Group membership.
        v3.add(.get, "groups/:id/users", .admin) { request, context in
            return try responder(request).list(
                "users", try await identity.groupMembers(groupID: try context.parameter("id")), selfURL: selfURL(request))
        }
        v3.add(.put, "groups/:id/users/:user", .admin) { _, context in
            try await identity.addGroupMember(groupID: try context.parameter("id"), userID: try context.parameter("user"))
            return Responder.plain.empty()
        }
        for method in [HTTPRequest.Method.head, .get] {
            v3.add(method, "groups/:id/users/:user", .admin) { _, context in
                guard
                    try await identity.isGroupMember(groupID: try context.parameter("id"), userID: try context.parameter("user"))
                else { throw UpdraftError.notFound("The user is not a member of the group.") }
                return Responder.plain.empty()
            }
        }
        v3.add(.delete, "groups/:id/users/:user", .admin) { _, context in
            try await identity.removeGroupMember(groupID: try context.parameter("id"), userID: try context.parameter("user"))
            return Responder.plain.empty()
        }

        // Project tags.
        v3.add(.get, "projects/:id/tags", .authenticated) { request, context in
            let id = try context.parameter("id")
            try context.caller(.projectReader(id))
            return try responder(request).respond(["tags": try await identity.project(id: id).tags])
        }
        v3.add(.put, "projects/:id/tags", .admin) { request, context in
            let body = try await request.json(limit: bodyLimit)
            guard case .object(let root) = body else { throw UpdraftError.badRequest("Expected {\"tags\": [...]}.") }
            let tags = try JSONObject(root, path: "").strings("tags") ?? []
            return try responder(request).respond([
                "tags": try await identity.updateProjectTags(id: try context.parameter("id")) { _ in tags }
            ])
        }
    }
}

/// `{"<member>": value}`.
struct Envelope<T: Encodable>: Encodable {
    let key: String
    let value: T

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: EnvelopeKey.self)
        try c.encode(value, forKey: EnvelopeKey(stringValue: key))
    }
}

struct EnvelopeKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Single project tags: `/v3/projects/{id}/tags/{tag}`.
extension IdentityController {
    func registerProjectTags(on v3: RouteGroup) {
        let identity = identity
        v3.add(.delete, "projects/:id/tags", .admin) { _, context in
            _ = try await identity.updateProjectTags(id: try context.parameter("id")) { _ in [] }
            return Responder.plain.empty()
        }
        v3.add(.put, "projects/:id/tags/:tag", .admin) { _, context in
            let id = try context.parameter("id")
            let tag = try context.parameter("tag")
            _ = try await identity.updateProjectTags(id: id) { $0.contains(tag) ? $0 : $0 + [tag] }
            return Responder.plain.empty(.created)
        }
        for method in [HTTPRequest.Method.get, .head] {
            v3.add(method, "projects/:id/tags/:tag", .authenticated) { _, context in
                let id = try context.parameter("id")
                try context.caller(.projectReader(id))
                guard try await identity.project(id: id).tags.contains(try context.parameter("tag")) else {
                    throw UpdraftError.notFound("Tag not found.")
                }
                return Responder.plain.empty()
            }
        }
        v3.add(.delete, "projects/:id/tags/:tag", .admin) { _, context in
            let id = try context.parameter("id")
            let tag = try context.parameter("tag")
            _ = try await identity.updateProjectTags(id: id) { tags in
                guard tags.contains(tag) else { throw UpdraftError.notFound("Tag not found.") }
                return tags.filter { $0 != tag }
            }
            return Responder.plain.empty()
        }
    }
}
