import Hummingbird
import UpdraftCore

extension ImageController {
    /// Serves `GET /v2/schemas/image`, `/v2/schemas/images`, `/v2/schemas/member` and `/v2/schemas/members`.
    func registerSchemas(on v2: RouteGroup) throws {
        for (name, schema) in try GlanceSchemas.all() {
            v2.add(.get, "schemas/\(name)", .authenticated) { _, context in
                try context.caller()
                return Self.responder.respond(schema)
            }
        }
    }
}
