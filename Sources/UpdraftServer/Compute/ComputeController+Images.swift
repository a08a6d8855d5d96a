import Foundation
import Hummingbird
import UpdraftCompute
import UpdraftCore

/// The compute API's image proxy (`/images`), which Nova keeps before microversion 2.36:
/// the image service's images in Nova's shape, and their metadata.
extension ComputeController {
    static func status(of image: ComputeImage) -> (String, Int) {
        switch image.status {
        case "active": ("ACTIVE", 100)
        case "queued": ("SAVING", 25)
        case "saving", "uploading", "importing": ("SAVING", 50)
        case "killed": ("ERROR", 0)
        case "deleted", "pending_delete": ("DELETED", 0)
        default: ("UNKNOWN", 0)
        }
    }

    func imageView(_ i: ComputeImage, detail: Bool, _ call: Call) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(i.id), "name": .string(i.name), "links": ServerView.links(call, "images", i.id),
        ]
        guard detail else { return .object(o) }
        let (status, progress) = Self.status(of: i)
        o["status"] = .string(status)
        o["progress"] = .number(Double(progress))
        o["minDisk"] = .number(Double(i.minDisk))
        o["minRam"] = .number(Double(i.minRam))
        o["created"] = i.createdAt.nova
        o["updated"] = i.updatedAt.nova
        o["metadata"] = .object(i.properties.mapValues(JSONValue.string))
        o["OS-EXT-IMG-SIZE:size"] = .number(Double(i.size))
        if let server = i.properties["instance_uuid"] {
            o["server"] = .object(["id": .string(server), "links": ServerView.links(call, "servers", server)])
        }
        return .object(o)
    }

    func registerImages(on v: RouteGroup) {
        let compute = compute
        let images = compute.images
        @Sendable func proxy(_ call: Call) throws {
            guard !call.version.atLeast(36) else { throw UpdraftError.notFound("The resource could not be found.") }
        }
        for (path, detail) in [("images", false), ("images/detail", true)] {
            route(v, .get, path, .authenticated) { request, _, call in
                try proxy(call)
                let q = request.query
                var list = try await images.listImages(caller: call.caller).sorted { $0.createdAt > $1.createdAt }
                if let name = q["name"] { list = list.filter { $0.name == name } }
                if let status = q["status"] { list = list.filter { Self.status(of: $0).0 == status.uppercased() } }
                if let server = q["server"] {
                    let id = String(server.split(separator: "/").last ?? "")
                    list = list.filter { $0.properties["instance_uuid"] == id }
                }
                if let type = q["type"] {
                    list = list.filter {
                        ($0.properties["image_type"] ?? "base") == (type == "BASE" ? "base" : type.lowercased())
                    }
                }
                if let since = q["changes-since"].flatMap(Timestamp.parse) { list = list.filter { $0.updatedAt >= since } }
                if let minDisk = q["minDisk"].flatMap(Int.init) { list = list.filter { $0.minDisk >= minDisk } }
                if let minRam = q["minRam"].flatMap(Int.init) { list = list.filter { $0.minRam >= minRam } }
                if let marker = q["marker"] {
                    guard let index = list.firstIndex(where: { $0.id == marker }) else {
                        throw UpdraftError.badRequest("marker [\(marker)] not found")
                    }
                    list = Array(list[(index + 1)...])
                }
                if let limit = try self.limit(request) { list = Array(list.prefix(limit)) }
                return call.respond(.object(["images": .array(list.map { self.imageView($0, detail: detail, call) })]))
            }
        }
        route(v, .get, "images/:id", .authenticated) { _, context, call in
            try proxy(call)
            let image = try await self.proxied { try await images.image(try context.parameter("id"), caller: call.caller) }
            return call.respond(.object(["image": self.imageView(image, detail: true, call)]))
        }
        route(v, .delete, "images/:id", .member) { _, context, call in
            try proxy(call)
            try await self.proxied { try await images.deleteImage(try context.parameter("id"), caller: call.caller) }
            return call.empty(.noContent)
        }
        @Sendable func metadata(_ image: ComputeImage) -> JSONValue {
            .object(["metadata": .object(image.properties.mapValues(JSONValue.string))])
        }
        route(v, .get, "images/:id/metadata", .authenticated) { _, context, call in
            try proxy(call)
            return call.respond(
                metadata(try await self.proxied { try await images.image(try context.parameter("id"), caller: call.caller) }))
        }
        for method in [HTTPRequest.Method.post, .put] {
            route(v, method, "images/:id/metadata", .member) { request, context, call in
                try proxy(call)
                let id = try context.parameter("id")
                guard let values = try JSONObject(try await request.json(limit: self.bodyLimit)).stringMap("metadata") else {
                    throw UpdraftError.badRequest("Malformed request body: metadata is required.")
                }
                let image = try await self.proxied {
                    let current = try await images.image(id, caller: call.caller)
                    let remove = method == .put ? current.properties.keys.filter { values[$0] == nil } : []
                    return try await images.updateProperties(id, set: values, remove: remove, caller: call.caller)
                }
                return call.respond(metadata(image))
            }
        }
        route(v, .get, "images/:id/metadata/:key", .authenticated) { _, context, call in
            try proxy(call)
            let key = try context.parameter("key")
            let image = try await self.proxied { try await images.image(try context.parameter("id"), caller: call.caller) }
            guard let value = image.properties[key] else { throw UpdraftError.notFound("Metadata item was not found") }
            return call.respond(.object(["meta": .object([key: .string(value)])]))
        }
        route(v, .put, "images/:id/metadata/:key", .member) { request, context, call in
            try proxy(call)
            let key = try context.parameter("key")
            guard let meta = try JSONObject(try await request.json(limit: self.bodyLimit)).stringMap("meta"), meta.count == 1,
                meta[key] != nil
            else { throw UpdraftError.badRequest("Request body and URI mismatch") }
            _ = try await self.proxied {
                try await images.updateProperties(try context.parameter("id"), set: meta, remove: [], caller: call.caller)
            }
            return call.respond(.object(["meta": .object(meta.mapValues(JSONValue.string))]))
        }
        route(v, .delete, "images/:id/metadata/:key", .member) { _, context, call in
            try proxy(call)
            _ = try await self.proxied {
                try await images.updateProperties(
                    try context.parameter("id"), set: [:], remove: [try context.parameter("key")], caller: call.caller)
            }
            return call.empty(.noContent)
        }
    }

    /// Runs an image call; Glance's "No image found" reads as Nova's "Image not found."
    func proxied<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as UpdraftError where error.code == .notFound {
            throw UpdraftError.notFound("Image not found.")
        }
    }
}
