import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import UpdraftCore
import UpdraftImage

/// The Glance v2 API under `/image`: parses, authorises and maps; the logic is in
/// ``ImageService``.
struct ImageController: Sendable {
    typealias Context = UpdraftRequestContext

    let images: ImageService
    /// The public base URL (`http://host:port`) for a request.
    let publicBase: @Sendable (Request) -> String
    /// The largest JSON body; image data (`PUT .../file`) streams and is not limited.
    let bodyLimit: Int

    /// Glance's answers: JSON with its charset; its bodies carry their own links.
    static let responder = Responder(base: "", contentType: "application/json; charset=UTF-8")

    func register(on routes: Routes) throws {
        let root = routes.group("image")
        root.add(.get, "", .anyone) { request, _ in self.versions(request, status: .multipleChoices) }
        root.add(.get, "versions", .anyone) { request, _ in self.versions(request, status: .ok) }
        let v2 = routes.group("image/v2")
        registerImages(on: v2)
        registerData(on: v2)
        registerMembers(on: v2)
        try registerSchemas(on: v2)
    }

    /// Glance's versions still served, newest first; v2.9 is the level Updraft implements.
    static let versionIDs = ["v2.9", "v2.8", "v2.7", "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0"]

    /// Serves `GET /image` (300 Multiple Choices, as Glance answers) and `GET /image/versions`.
    func versions(_ request: Request, status: HTTPResponse.Status) -> Response {
        let href = publicBase(request) + "/image/v2/"
        let values: [JSONValue] = Self.versionIDs.enumerated().map { index, id in
            .object([
                "id": .string(id), "status": .string(index == 0 ? "CURRENT" : "SUPPORTED"),
                "links": .array([.object(["rel": "self", "href": .string(href)])]),
            ])
        }
        return Self.responder.respond(JSONValue.object(["versions": .array(values)]), status: status)
    }

}
