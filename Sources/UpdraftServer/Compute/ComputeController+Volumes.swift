import Foundation
import Hummingbird
import UpdraftCompute
import UpdraftCore

extension ComputeController {
    /// Nova's `volumeAttachment` body at the call's microversion.
    static func volumeAttachmentView(_ mapping: BlockDeviceMapping, _ call: Call) -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(mapping.volumeID ?? ""), "volumeId": .string(mapping.volumeID ?? ""),
            "serverId": .string(mapping.instanceID), "device": .string(mapping.device),
        ]
        if call.version.atLeast(70) { fields["tag"] = mapping.tag.map(JSONValue.string) ?? .null }
        if call.version.atLeast(79) { fields["delete_on_termination"] = .bool(mapping.deleteOnTermination) }
        return .object(fields)
    }

    /// `os-volume_attachments`: block-storage volumes on a server, hot-plugged while it runs.
    func registerVolumeAttachments(on v: RouteGroup) {
        let compute = compute
        route(v, .get, "servers/:id/os-volume_attachments", .authenticated) { _, context, call in
            let mappings = try await compute.volumeAttachments(try context.parameter("id"), caller: call.caller)
                .filter { $0.volumeID != nil }
            return call.respond(.object(["volumeAttachments": .array(mappings.map { Self.volumeAttachmentView($0, call) })]))
        }
        route(v, .get, "servers/:id/os-volume_attachments/:volume", .authenticated) { _, context, call in
            let volume = try context.parameter("volume")
            let mappings = try await compute.volumeAttachments(try context.parameter("id"), caller: call.caller)
            guard let found = mappings.first(where: { $0.volumeID == volume }) else {
                throw UpdraftError.notFound("Volume \(volume) is not attached to the server.")
            }
            return call.respond(.object(["volumeAttachment": Self.volumeAttachmentView(found, call)]))
        }
        route(v, .post, "servers/:id/os-volume_attachments", .member) { request, context, call in
            let id = try context.parameter("id")
            let body = try await self.body(request, "volumeAttachment")
            let volumeID = try body.requiredString("volumeId")
            guard UUID(uuidString: volumeID) != nil else {
                throw UpdraftError.badRequest("Invalid input for field/attribute volumeId. Value: \(volumeID). It is not a UUID.")
            }
            let tag = try body.string("tag")
            if tag != nil && !call.version.atLeast(49) {
                throw UpdraftError.badRequest("Additional properties are not allowed ('tag' was unexpected)")
            }
            if let tag, tag.count > 60 || tag.contains("/") || tag.contains(",") {
                throw UpdraftError.badRequest("Invalid input for field/attribute tag. Value: \(tag).")
            }
            let deleteOnTermination = try body.bool("delete_on_termination")
            if deleteOnTermination != nil && !call.version.atLeast(79) {
                throw UpdraftError.badRequest("Additional properties are not allowed ('delete_on_termination' was unexpected)")
            }
            let mapping = try await compute.attachVolume(
                id, volumeID: volumeID, device: try body.string("device"), tag: tag,
                deleteOnTermination: deleteOnTermination ?? false, caller: call.caller, requestID: call.requestID)
            return call.respond(.object(["volumeAttachment": Self.volumeAttachmentView(mapping, call)]))
        }
        route(v, .delete, "servers/:id/os-volume_attachments/:volume", .member) { _, context, call in
            try await compute.detachVolume(
                try context.parameter("id"), volumeID: try context.parameter("volume"), caller: call.caller,
                requestID: call.requestID)
            return call.empty()
        }
    }
}
