import Foundation
import Hummingbird
import UpdraftCompute
import UpdraftCore

/// `POST /servers/{id}/action` and the remote console.
extension ComputeController {
    /// The action keys Nova accepts and the state-checked action each means.
    static let actions: [String: ServerAction] = [
        "os-stop": .stop, "os-start": .start, "pause": .pause, "unpause": .unpause, "suspend": .suspend,
        "resume": .resume, "shelve": .shelve, "shelveOffload": .shelveOffload, "unshelve": .unshelve,
        "createImage": .createImage, "rebuild": .rebuild, "resize": .resize, "confirmResize": .confirmResize,
        "revertResize": .revertResize,
    ]

    func registerServerActions(on v: RouteGroup) {
        let compute = compute
        route(v, .post, "servers/:id/action", .member) { request, context, call in
            let id = try context.parameter("id")
            let body = try JSONObject(try await request.json(limit: self.bodyLimit))
            guard body.fields.count == 1, let (key, value) = body.fields.first else {
                throw UpdraftError.badRequest("Malformed request body: one action is expected.")
            }
            _ = try await self.serverToChange(id, call)
            let argument = JSONObject(value.objectFields ?? [:], path: key)
            switch key {
            case "reboot":
                let type = try argument.string("type")?.uppercased()
                guard type == "SOFT" || type == "HARD" else {
                    throw UpdraftError.badRequest("Invalid input for field/attribute type. Value: \(type ?? "null").")
                }
                try await compute.perform(
                    type == "HARD" ? .hardReboot : .softReboot, on: id, caller: call.caller, requestID: call.requestID)
                return call.empty()
            case "lock", "unlock":
                try await compute.setLocked(
                    id, locked: key == "lock", reason: try argument.string("locked_reason"), caller: call.caller,
                    requestID: call.requestID)
                return call.empty()
            case "os-getConsoleOutput":
                let length = try argument.novaInteger("length")
                if let length, length < -1 { throw UpdraftError.badRequest("Invalid input for field/attribute length.") }
                let output = try await compute.consoleOutput(
                    id, lines: length.flatMap { $0 < 0 ? nil : $0 }, caller: call.caller)
                return call.respond(.object(["output": .string(output)]))
            case "os-getVNCConsole":
                let type = try argument.string("type") ?? ""
                guard type == "novnc" || type == "xvpvnc" else {
                    throw UpdraftError.badRequest("Invalid console type \(type)")
                }
                let endpoint = try await compute.vncConsole(id, caller: call.caller)
                return call.respond(
                    .object(["console": .object(["type": .string(type), "url": .string(Self.url(endpoint))])]))
            case "createImage":
                let name = try argument.requiredString("name", maxLength: 255)
                let result = try await compute.perform(
                    .createImage, on: id, caller: call.caller, requestID: call.requestID, name: name,
                    metadata: try argument.stringMap("metadata"))
                return try Self.imageCreated(result.imageID ?? "", call)
            case "createBackup":
                let name = try argument.requiredString("name", maxLength: 255)
                let type = try argument.requiredString("backup_type")
                guard let rotation = try argument.novaInteger("rotation"), rotation >= 0 else {
                    throw UpdraftError.badRequest("Invalid input for field/attribute rotation.")
                }
                var metadata = try argument.stringMap("metadata") ?? [:]
                metadata["image_type"] = "backup"
                metadata["backup_type"] = type
                let result = try await compute.perform(
                    .createImage, on: id, caller: call.caller, requestID: call.requestID, name: name, metadata: metadata)
                try await compute.rotateBackups(of: id, type: type, keep: rotation, caller: call.caller)
                return try Self.imageCreated(result.imageID ?? "", call)
            case "rebuild":
                guard let imageRef = try argument.string("imageRef") else {
                    throw UpdraftError.badRequest("Invalid input for field/attribute imageRef.")
                }
                let result = try await compute.perform(
                    .rebuild, on: id, caller: call.caller, requestID: call.requestID,
                    imageID: String(imageRef.split(separator: "/").last ?? ""), name: try argument.string("name"),
                    metadata: try argument.stringMap("metadata"), adminPass: try argument.string("adminPass"))
                let server = try await compute.server(id, caller: call.caller)
                var fields = ServerView.trimmed(server, call, networking: try await compute.networking(of: [server])[id])
                fields["adminPass"] = .string(result.adminPass ?? "")
                return call.respond(.object(["server": .object(fields)]), status: .accepted)
            case "addSecurityGroup", "removeSecurityGroup":
                guard let name = try argument.string("name"), !name.isEmpty else {
                    throw UpdraftError.badRequest("Security group name cannot be empty")
                }
                try await compute.changeSecurityGroup(id, group: name, add: key == "addSecurityGroup", caller: call.caller)
                return call.empty()
            case "resize":
                guard let flavorRef = try argument.reference("flavorRef") else {
                    throw UpdraftError.badRequest("Resize requests require 'flavorRef' attribute.")
                }
                try await compute.perform(
                    .resize, on: id, caller: call.caller, requestID: call.requestID,
                    flavorID: String(flavorRef.split(separator: "/").last ?? ""))
                return call.empty()
            default:
                guard let action = Self.actions[key] else {
                    throw UpdraftError.badRequest("There is no such action: \(key)")
                }
                try await compute.perform(action, on: id, caller: call.caller, requestID: call.requestID)
                return call.empty(action == .confirmResize ? .noContent : .accepted)
            }
        }
        route(v, .post, "servers/:id/remote-consoles", .member) { request, context, call in
            guard call.version.atLeast(6) else { throw UpdraftError.notFound("The resource could not be found.") }
            let id = try context.parameter("id")
            // A console hands out the guest's keyboard and screen: members only, as in Nova.
            _ = try await self.serverToChange(id, call)
            let body = try await self.body(request, "remote_console")
            let proto = try body.string("protocol") ?? ""
            let type = try body.string("type") ?? ""
            guard proto == "vnc", type == "novnc" else {
                throw UpdraftError(.badRequest, "Unsupported console \(proto)/\(type): only vnc/novnc is available.")
            }
            let endpoint = try await compute.vncConsole(id, caller: call.caller)
            return call.respond(
                .object([
                    "remote_console": .object(["protocol": "vnc", "type": "novnc", "url": .string(Self.url(endpoint))])
                ]))
        }
    }

    /// The answer to `createImage` and `createBackup`: the image id in the body from 2.45,
    /// in a `Location` header before.
    static func imageCreated(_ imageID: String, _ call: Call) throws -> Response {
        if call.version.atLeast(45) {
            return call.respond(.object(["image_id": .string(imageID)]), status: .accepted)
        }
        let images = call.base.replacingOccurrences(of: "/compute/v2.1", with: "/image/v2")
        return call.empty(headers: [.location: "\(images)/images/\(imageID)"])
    }

    /// The websocket VNC address QEMU serves for one instance.
    static func url(_ endpoint: VNCEndpoint) -> String {
        "ws://\(endpoint.host):\(endpoint.port)/"
    }
}

extension JSONValue {
    /// The fields of an object; nil for `null` and other values.
    var objectFields: [String: JSONValue]? {
        if case .object(let fields) = self { return fields }
        return nil
    }
}
