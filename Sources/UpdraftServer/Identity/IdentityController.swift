import Foundation
import Hummingbird
import UpdraftCore
import UpdraftIdentity

/// The Keystone v3 API under `/identity`: parses, authorises and maps; the logic is in
/// ``IdentityService``.
struct IdentityController: Sendable {
    typealias Context = UpdraftRequestContext

    let identity: IdentityService
    /// The public base URL (`http://host:port`) for a request.
    let publicBase: @Sendable (Request) -> String
    let bodyLimit: Int

    func responder(_ request: Request) -> Responder {
        Responder(base: publicBase(request) + "/identity")
    }

    /// The caller's whole token, for the calls that act on its roles; the edge has already
    /// authenticated it, so this only fails if it was revoked in between.
    func token(_ request: Request) throws(UpdraftError) -> TokenPayload {
        guard let text = request.headers[.authToken] else { throw .unauthorized() }
        do {
            return try identity.token(text)
        } catch {
            throw .unauthorized()
        }
    }

    func selfURL(_ request: Request) -> String {
        publicBase(request) + request.uri.path
    }

    func register(on routes: Routes) {
        let v3 = routes.group("identity/v3")
        routes.group("identity").add(.get, "", .anyone) { request, _ in self.versions(request) }
        v3.add(.get, "", .anyone) { request, _ in self.version(request) }
        registerAuth(on: v3)
        registerResources(on: v3)
        registerGrants(on: v3)
        registerProjectTags(on: v3)
        registerTrusts(on: v3)
        registerCredentials(on: v3)
    }

    private func versionBody(_ request: Request) -> JSONValue {
        .object([
            "id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": .array([.object(["rel": "self", "href": .string(publicBase(request) + "/identity/v3/")])]),
            "media-types": .array([
                .object(["base": "application/json", "type": "application/vnd.openstack.identity-v3+json"])
            ]),
        ])
    }

    /// Serves `GET /identity`: the version list, 300 Multiple Choices as Keystone answers.
    func versions(_ request: Request) -> Response {
        responder(request).respond(
            JSONValue.object(["versions": .object(["values": .array([versionBody(request)])])]), status: .multipleChoices)
    }

    /// Serves `GET /identity/v3`.
    func version(_ request: Request) -> Response {
        responder(request).respond(JSONValue.object(["version": versionBody(request)]))
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}
