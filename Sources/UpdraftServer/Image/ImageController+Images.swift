import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import UpdraftCore
import UpdraftImage

/// Image records: list, create, show, patch, delete, tags and (de)activation.
extension ImageController {
    func registerImages(on v2: RouteGroup) {
        v2.add(.get, "images", .authenticated) { request, context in try await self.list(request, context) }
        v2.add(.post, "images", .member) { request, context in try await self.create(request, context) }
        v2.add(.get, "images/:id", .authenticated) { _, context in
            try Self.responder.respond(try await images.image(try context.parameter("id"), caller: try context.caller()))
        }
        v2.add(.patch, "images/:id", .member) { request, context in try await self.update(request, context) }
        // Serves `GET /v2/info/import`: interoperable image import is not offered, so no methods.
        v2.add(.get, "info/import", .authenticated) { _, context in
            _ = try context.caller()
            return Self.responder.respond(
                JSONValue.object([
                    "import-methods": .object([
                        "description": .string("Import methods available."), "type": .string("array"), "value": .array([]),
                    ])
                ]))
        }
        // Serves `GET /v2/images/{id}/tasks`: Updraft runs no import tasks, so the list is empty.
        v2.add(.get, "images/:id/tasks", .authenticated) { _, context in
            _ = try await images.image(try context.parameter("id"), caller: try context.caller())
            return Self.responder.respond(JSONValue.object(["tasks": .array([])]))
        }
        v2.add(.delete, "images/:id", .member) { _, context in
            try await images.delete(try context.parameter("id"), caller: try context.caller())
            return Responder.plain.empty()
        }
        v2.add(.put, "images/:id/tags/:tag", .member) { _, context in
            try await images.addTag(try context.parameter("tag"), to: try context.parameter("id"), caller: try context.caller())
            return Responder.plain.empty()
        }
        v2.add(.delete, "images/:id/tags/:tag", .member) { _, context in
            try await images.removeTag(
                try context.parameter("tag"), from: try context.parameter("id"), caller: try context.caller())
            return Responder.plain.empty()
        }
        v2.add(.post, "images/:id/actions/deactivate", .member) { _, context in
            try await images.deactivate(try context.parameter("id"), caller: try context.caller())
            return Responder.plain.empty()
        }
        v2.add(.post, "images/:id/actions/reactivate", .member) { _, context in
            try await images.reactivate(try context.parameter("id"), caller: try context.caller())
            return Responder.plain.empty()
        }
    }

    /// Serves `GET /v2/images`: `{"images": [...], "first", "schema", "next"?}`.
    func list(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try context.caller()
        // `GET /v2/images/` is a show with an empty id, which Glance answers 404.
        guard !request.uri.path.hasSuffix("/") else { throw UpdraftError.notFound("No image found with ID ''") }
        let pairs = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
        let query = try ImageListQuery(parameters: pairs)
        let page = try await images.list(query, caller: caller)
        var body = ImageListBody(images: page.images, next: nil)
        if let marker = page.nextMarker {
            // Glance's next link keeps the client's filters and replaces the marker.
            var components = URLComponents()
            components.queryItems =
                pairs.filter { $0.0 != "marker" }.map { URLQueryItem(name: $0.0, value: $0.1) }
                + [URLQueryItem(name: "marker", value: marker)]
            body.next = "/v2/images?" + (components.percentEncodedQuery ?? "marker=\(marker)")
        }
        return try Self.responder.respond(body)
    }

    /// Serves `POST /v2/images`: 201 with the queued image.
    func create(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try context.caller()
        guard caller.projectID != nil || Policy.isAdmin(caller) else {
            throw UpdraftError.forbidden("Creating an image needs a project-scoped token.")
        }
        let draft = try ImageDraft(parsing: try await request.json(limit: bodyLimit), isAdmin: Policy.isAdmin(caller))
        let image = try await images.create(draft, caller: caller)
        var response = try Self.responder.respond(image, status: .created)
        response.headers[.location] = publicBase(request) + "/image/v2/images/\(image.id)"
        return response
    }

    /// Serves `PATCH /v2/images/{id}` with `application/openstack-images-v2.1-json-patch`.
    func update(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try context.caller()
        let type = request.headers[.contentType]?.split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard type == ImagePatch.mediaType || type == "application/openstack-images-v2.0-json-patch" else {
            throw HTTPError(
                .unsupportedMediaType,
                message: "Unsupported Content-Type: PATCH needs \(ImagePatch.mediaType).")
        }
        let patch = try ImagePatch(parsing: try await request.json(limit: bodyLimit))
        return try Self.responder.respond(try await images.update(try context.parameter("id"), patch: patch, caller: caller))
    }
}

/// The body of `GET /v2/images`.
struct ImageListBody: Encodable {
    var images: [Image]
    var next: String?

    enum CodingKeys: String, CodingKey {
        case images, first, schema, next
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(images, forKey: .images)
        try c.encode("/v2/images", forKey: .first)
        try c.encode("/v2/schemas/images", forKey: .schema)
        try c.encodeIfPresent(next, forKey: .next)
    }
}
