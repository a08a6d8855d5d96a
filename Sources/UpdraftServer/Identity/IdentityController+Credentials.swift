import Foundation
import Hummingbird
import UpdraftCore
import UpdraftIdentity

/// Application credentials, EC2 credentials and `/v3/credentials`.
extension IdentityController {
    func registerCredentials(on v3: RouteGroup) {
        let identity = identity
        v3.add(.post, "users/:id/application_credentials", .authenticated) { request, context in
            let user = try context.parameter("id")
            try context.caller(.user(user))
            let body = try JSONObject.body(try await request.json(limit: bodyLimit), key: "application_credential")
            let credential = try await identity.createApplicationCredential(userID: user, caller: try token(request), body)
            return try responder(request).respond(Envelope(key: "application_credential", value: credential), status: .created)
        }
        v3.add(.get, "users/:id/application_credentials", .authenticated) { request, context in
            let user = try context.parameter("id")
            try context.caller(.user(user))
            return try responder(request).list(
                "application_credentials", try await identity.listApplicationCredentials(userID: user, query: request.query),
                selfURL: selfURL(request))
        }
        v3.add(.get, "users/:id/application_credentials/:cred", .authenticated) { request, context in
            let user = try context.parameter("id")
            try context.caller(.user(user))
            let credential = try await identity.applicationCredential(userID: user, id: try context.parameter("cred"))
            return try responder(request).respond(Envelope(key: "application_credential", value: credential))
        }
        v3.add(.delete, "users/:id/application_credentials/:cred", .authenticated) { _, context in
            let user = try context.parameter("id")
            try context.caller(.user(user))
            try await identity.deleteApplicationCredential(userID: user, id: try context.parameter("cred"))
            return Responder.plain.empty()
        }

        // Access rules of the user's application credentials.
        v3.add(.get, "users/:id/access_rules", .authenticated) { request, context in
            let user = try context.parameter("id")
            try context.caller(.user(user))
            return try responder(request).list(
                "access_rules", try await identity.listAccessRules(userID: user), selfURL: selfURL(request))
        }
        v3.add(.get, "users/:id/access_rules/:rule", .authenticated) { request, context in
            let user = try context.parameter("id")
            try context.caller(.user(user))
            let rule = try await identity.accessRule(userID: user, id: try context.parameter("rule"))
            return try responder(request).respond(Envelope(key: "access_rule", value: rule))
        }
        v3.add(.delete, "users/:id/access_rules/:rule", .authenticated) { _, context in
            let user = try context.parameter("id")
            try context.caller(.user(user))
            try await identity.deleteAccessRule(userID: user, id: try context.parameter("rule"))
            return Responder.plain.empty()
        }

        // EC2 credentials, as keystoneclient's `ec2` manager calls them.
        v3.add(.post, "users/:id/credentials/OS-EC2", .authenticated) { request, context in
            let user = try context.parameter("id")
            let caller = try context.caller(.user(user))
            let body = try JSONObject(try await request.json(limit: bodyLimit))
            guard let project = try body.string("tenant_id") ?? caller.projectID else {
                throw UpdraftError.badRequest("Invalid input for field 'tenant_id': a project is required.")
            }
            if !Policy.isAdmin(caller) && caller.projectID != project {
                throw UpdraftError.forbidden("EC2 credentials can be created only for the project of your token.")
            }
            let credential = try await identity.createEC2Credential(userID: user, projectID: project)
            return try responder(request).respond(Envelope(key: "credential", value: credential), status: .created)
        }
        v3.add(.get, "users/:id/credentials/OS-EC2", .authenticated) { request, context in
            let user = try context.parameter("id")
            try context.caller(.user(user))
            let credentials = try await identity.listCredentials(query: ["user_id": user, "type": "ec2"]).compactMap(\.ec2)
            return try responder(request).list("credentials", credentials, selfURL: selfURL(request))
        }
        v3.add(.get, "users/:id/credentials/OS-EC2/:access", .authenticated) { request, context in
            let user = try context.parameter("id")
            try context.caller(.user(user))
            let credential = try await identity.ec2Credential(access: try context.parameter("access"))
            guard credential.userID == user else { throw UpdraftError.notFound("Could not find credential.") }
            return try responder(request).respond(Envelope(key: "credential", value: credential))
        }
        v3.add(.delete, "users/:id/credentials/OS-EC2/:access", .authenticated) { _, context in
            let user = try context.parameter("id")
            try context.caller(.user(user))
            let credential = try await identity.ec2Credential(access: try context.parameter("access"))
            guard credential.userID == user else { throw UpdraftError.notFound("Could not find credential.") }
            try await identity.deleteCredential(id: SHA256Hex.digest(credential.access))
            return Responder.plain.empty()
        }

        // Generic credentials: owners see their own, admins all.
        v3.add(.get, "credentials", .authenticated) { request, context in
            let caller = try context.caller()
            var query = request.query
            if !Policy.isAdmin(caller) { query["user_id"] = caller.userID }
            return try responder(request).list(
                "credentials", try await identity.listCredentials(query: query), selfURL: selfURL(request))
        }
        v3.add(.post, "credentials", .authenticated) { request, context in
            let caller = try context.caller()
            let body = try JSONObject.body(try await request.json(limit: bodyLimit), key: "credential")
            let user = try body.requiredString("user_id")
            try Policy.authorize(caller, .user(user))
            let credential = try await identity.createCredential(
                userID: user, projectID: try body.string("project_id"), type: try body.requiredString("type"),
                blob: try body.requiredString("blob", maxLength: 65536))
            return try responder(request).respond(Envelope(key: "credential", value: credential), status: .created)
        }
        v3.add(.get, "credentials/:id", .authenticated) { request, context in
            let caller = try context.caller()
            let credential = try await identity.credential(id: try context.parameter("id"))
            try Policy.authorize(caller, .user(credential.userID))
            return try responder(request).respond(Envelope(key: "credential", value: credential))
        }
        v3.add(.patch, "credentials/:id", .authenticated) { request, context in
            let caller = try context.caller()
            let id = try context.parameter("id")
            try Policy.authorize(caller, .user(try await identity.credential(id: id).userID))
            let body = try JSONObject.body(try await request.json(limit: bodyLimit), key: "credential")
            return try responder(request).respond(
                Envelope(key: "credential", value: try await identity.updateCredential(id: id, body)))
        }
        v3.add(.delete, "credentials/:id", .authenticated) { _, context in
            let caller = try context.caller()
            let id = try context.parameter("id")
            try Policy.authorize(caller, .user(try await identity.credential(id: id).userID))
            try await identity.deleteCredential(id: id)
            return Responder.plain.empty()
        }
    }
}
