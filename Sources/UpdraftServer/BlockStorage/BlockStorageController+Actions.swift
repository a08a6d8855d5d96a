import Foundation
import Hummingbird
import UpdraftBlockStorage
import UpdraftCore

extension BlockStorageController {
    /// `POST /volumes/{id}/action`: one action named by the body's only key.
    func registerVolumeActions(on v3: RouteGroup) {
        route(v3, .post, "volumes/:id/action", .member) { request, context, call in
            let id = try context.parameter("id")
            let body = try await self.body(request)
            guard body.fields.count == 1, let (action, value) = body.fields.first else {
                throw UpdraftError.badRequest("Invalid input received: the body must name exactly one action.")
            }
            let arguments: JSONObject
            switch value {
            case .object(let fields): arguments = JSONObject(fields, path: action)
            case .null: arguments = JSONObject([:], path: action)
            default: throw UpdraftError.badRequest("Invalid input received: \(action) takes an object.")
            }
            return try await self.volumeAction(action, arguments, volume: id, call)
        }
    }

    func volumeAction(_ action: String, _ body: JSONObject, volume id: String, _ call: Call) async throws -> Response {
        let caller = call.caller
        switch action {
        case "os-extend":
            guard let size = try Self.integer(body, "new_size") else {
                throw UpdraftError.badRequest("Invalid input received: new_size is required.")
            }
            try await storage.extendVolume(id, newSize: size, attachedAllowed: call.atLeast(42), caller: caller)
            return call.empty()
        case "os-reset_status":
            try Policy.authorize(caller, .admin)
            guard let text = try body.string("status"), let status = VolumeStatus(rawValue: text) else {
                throw UpdraftError.badRequest("Invalid input received: status must be a volume status.")
            }
            try await storage.resetStatus(id, status: status, caller: caller)
            return call.empty()
        case "os-force_delete":
            try await storage.deleteVolume(id, cascade: false, force: true, caller: caller)
            return call.empty()
        case "os-set_bootable":
            guard let bootable = try Self.flag(body, "bootable") else {
                throw UpdraftError.badRequest("Invalid input received: bootable is required.")
            }
            try await storage.setBootable(id, bootable, caller: caller)
            return call.empty(.ok)
        case "os-update_readonly_flag":
            guard let readOnly = try Self.flag(body, "readonly") else {
                throw UpdraftError.badRequest("Invalid input received: readonly is required.")
            }
            try await storage.setReadOnly(id, readOnly, caller: caller)
            return call.empty()
        case "os-set_image_metadata":
            let given = try Self.strings(try body.object("metadata"), field: "metadata")
            let updated = try await storage.changeImageMetadata(of: id, caller: caller) { current in
                current.merging(given) { _, new in new }
            }
            return call.respond(.object(["metadata": Self.json(updated)]))
        case "os-unset_image_metadata":
            guard let key = try body.string("key") else {
                throw UpdraftError.badRequest("Invalid input received: key is required.")
            }
            _ = try await storage.changeImageMetadata(of: id, caller: caller) { current throws(UpdraftError) in
                guard current[key] != nil else { throw UpdraftError(.notFound, "Metadata item was not found") }
                var updated = current
                updated[key] = nil
                return updated
            }
            return call.empty(.ok)
        case "os-show_image_metadata":
            return call.respond(.object(["metadata": Self.json(try await storage.volume(id, caller: caller).imageMetadata)]))
        case "os-retype":
            guard let type = try body.string("new_type") else {
                throw UpdraftError.badRequest("Invalid input received: new_type is required.")
            }
            if let policy = try body.string("migration_policy"), !["never", "on-demand"].contains(policy) {
                throw UpdraftError.badRequest("Invalid input received: migration_policy must be never or on-demand.")
            }
            try await storage.retype(id, to: type, caller: caller)
            return call.empty()
        case "os-reserve":
            try await storage.legacyReserve(id, caller: caller)
            return call.empty()
        case "os-unreserve":
            try await storage.legacyUnreserve(id, caller: caller)
            return call.empty()
        case "os-begin_detaching":
            try await storage.beginDetaching(volumeID: id, caller: caller)
            return call.empty()
        case "os-roll_detaching":
            try await storage.rollDetaching(volumeID: id, caller: caller)
            return call.empty()
        case "os-attach":
            let instance = try body.string("instance_uuid")
            let host = try body.string("host_name")
            guard instance != nil || host != nil else {
                throw UpdraftError.badRequest("Invalid input received: instance_uuid or host_name is required.")
            }
            try await storage.legacyAttach(
                id, instance: instance, host: host, mountpoint: try body.string("mountpoint"),
                mode: try body.string("mode") ?? "rw", caller: caller)
            return call.empty()
        case "os-detach":
            try await storage.legacyDetach(id, attachmentID: try body.string("attachment_id"), caller: caller)
            return call.empty()
        case "os-force_detach":
            try Policy.authorize(caller, .admin)
            try await storage.legacyDetach(id, attachmentID: try body.string("attachment_id"), caller: caller)
            return call.empty()
        case "os-volume_upload_image":
            guard let name = try body.string("image_name") else {
                throw UpdraftError.badRequest("Invalid input received: image_name is required.")
            }
            var request = VolumeUploadRequest(imageName: name)
            request.diskFormat = try body.string("disk_format") ?? request.diskFormat
            request.containerFormat = try body.string("container_format") ?? request.containerFormat
            request.force = try Self.flag(body, "force") ?? false
            if call.atLeast(1) {
                request.visibility = try body.string("visibility") ?? request.visibility
                request.protected = try Self.flag(body, "protected") ?? false
            }
            let upload = try await storage.uploadToImage(id, request, caller: caller)
            return try call.respond("os-volume_upload_image", upload, status: .accepted)
        case "os-initialize_connection":
            _ = try await storage.volumeToShow(id, caller: caller)
            return call.respond(
                .object([
                    "connection_info": .object([
                        "driver_volume_type": "file",
                        "data": .object([
                            "name": .string("volume-" + id), "volume_id": .string(id), "access_mode": "rw",
                            "discard": false,
                        ]),
                    ])
                ]), status: .ok)
        case "os-terminate_connection":
            _ = try await storage.volumeToShow(id, caller: caller)
            return call.empty()
        default:
            throw UpdraftError.badRequest("Invalid input received: there is no volume action \(action).")
        }
    }
}
