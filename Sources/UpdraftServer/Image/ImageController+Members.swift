import Foundation
import Hummingbird
import UpdraftCore
import UpdraftImage

/// Image sharing: `/v2/images/{id}/members`.
extension ImageController {
    func registerMembers(on v2: RouteGroup) {
        v2.add(.get, "images/:id/members", .authenticated) { _, context in
            let members = try await images.members(of: try context.parameter("id"), caller: try context.caller())
            return try Self.responder.respond(MemberListBody(members: members))
        }
        v2.add(.post, "images/:id/members", .member) { request, context in
            let caller = try context.caller()
            let body = try await request.json(limit: bodyLimit)
            guard case .object(let fields) = body, case .string(let member)? = fields["member"] else {
                throw UpdraftError.badRequest("Request body must be {\"member\": \"<project id>\"}.")
            }
            return try Self.responder.respond(try await images.addMember(member, to: try context.parameter("id"), caller: caller))
        }
        v2.add(.get, "images/:id/members/:member", .authenticated) { _, context in
            try Self.responder.respond(
                try await images.member(
                    try context.parameter("member"), of: try context.parameter("id"), caller: try context.caller()))
        }
        v2.add(.put, "images/:id/members/:member", .member) { request, context in
            let caller = try context.caller()
            let body = try await request.json(limit: bodyLimit)
            guard case .object(let fields) = body, case .string(let text)? = fields["status"],
                let status = ImageMember.Status(rawValue: text)
            else {
                throw UpdraftError.badRequest("Request body must be {\"status\": \"pending\" | \"accepted\" | \"rejected\"}.")
            }
            return try Self.responder.respond(
                try await images.updateMember(
                    try context.parameter("member"), of: try context.parameter("id"), status: status, caller: caller))
        }
        v2.add(.delete, "images/:id/members/:member", .member) { _, context in
            try await images.removeMember(
                try context.parameter("member"), from: try context.parameter("id"), caller: try context.caller())
            return Responder.plain.empty()
        }
    }
}

/// The body of `GET /v2/images/{id}/members`.
struct MemberListBody: Encodable {
    var members: [ImageMember]
    var schema = "/v2/schemas/members"
}
