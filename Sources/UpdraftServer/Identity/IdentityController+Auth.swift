import Foundation
import Hummingbird
import UpdraftCore
import UpdraftIdentity

/// `/v3/auth/...`: tokens, and what a token may see and scope to.
extension IdentityController {
    func registerAuth(on v3: RouteGroup) {
        v3.add(.post, "auth/tokens", .anyone) { request, _ in
            let body = try await request.json(limit: bodyLimit)
            let auth = try JSONObject.body(body, key: "auth")
            let issued = try await identity.authenticate(auth, includeCatalog: request.query["nocatalog"] == nil)
            return try responder(request).respond(
                TokenEnvelope(token: issued.body), status: .created,
                headers: [.subjectToken: issued.token])
        }
        v3.add(.get, "auth/tokens", .authenticated) { request, context in
            try await validate(request, context)
        }
        v3.add(.head, "auth/tokens", .authenticated) { request, context in
            var response = try await validate(request, context)
            response.body = .init()
            response.status = .ok
            return response
        }
        v3.add(.delete, "auth/tokens", .authenticated) { request, context in
            try context.caller()
            guard let subject = request.headers[.subjectToken] else {
                throw UpdraftError.badRequest("X-Subject-Token header is required.")
            }
            try await identity.revokeToken(subject)
            return Responder.plain.empty()
        }
        v3.add(.get, "auth/catalog", .authenticated) { request, context in
            let caller = try context.caller()
            return try responder(request).respond(
                CatalogEnvelope(
                    catalog: try await identity.catalog(projectID: caller.projectID), links: ["self": selfURL(request)]))
        }
        v3.add(.get, "auth/projects", .authenticated) { request, context in
            let caller = try context.caller()
            return try responder(request).list(
                "projects", try await identity.scopableProjects(userID: caller.userID), selfURL: selfURL(request))
        }
        v3.add(.get, "auth/domains", .authenticated) { request, context in
            let caller = try context.caller()
            return try responder(request).list(
                "domains", try await identity.scopableDomains(userID: caller.userID), selfURL: selfURL(request))
        }
        v3.add(.get, "auth/system", .authenticated) { request, context in
            let caller = try context.caller()
            let system: [JSONValue] =
                try await identity.hasSystemAccess(userID: caller.userID) ? [.object(["all": .bool(true)])] : []
            return responder(request).respond(
                JSONValue.object(["system": .array(system), "links": .object(["self": .string(selfURL(request))])]))
        }
    }

    /// Serves `GET /v3/auth/tokens`: as Keystone's `identity:validate_token`, an admin, a
    /// service user, or the token's own user may validate it.
    private func validate(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try context.caller()
        guard let subject = request.headers[.subjectToken] else {
            throw UpdraftError.badRequest("X-Subject-Token header is required.")
        }
        let validated = try await identity.validate(
            subjectToken: subject, includeCatalog: request.query["nocatalog"] == nil)
        guard
            Policy.isAdmin(caller) || caller.userID == validated.payload.userID || caller.roles.contains("service")
        else { throw UpdraftError.forbidden() }
        return responder(request).respond(encoded: Array(validated.json), headers: [.subjectToken: subject])
    }
}

private struct TokenEnvelope: Encodable {
    let token: TokenBody
}

private struct CatalogEnvelope: Encodable {
    let catalog: [CatalogEntry]
    let links: [String: String]
}
