import Foundation
import Hummingbird
import UpdraftBlockStorage
import UpdraftCore

extension BlockStorageController {
    static let volumeSortKeys: Set<String> = [
        "id", "name", "status", "size", "created_at", "updated_at", "availability_zone", "bootable", "volume_type",
        "display_name",
    ]

    /// A volume's value for a sort key, as text that sorts the same way.
    static func sortValue(_ volume: Volume, _ key: String) -> String {
        switch key {
        case "id": volume.id
        case "name", "display_name": volume.name ?? ""
        case "status": volume.status.rawValue
        case "size": CinderQuery.sortable(volume.size)
        case "updated_at": BlockStorageService.timestamp(volume.updatedAt)
        case "availability_zone": volume.availabilityZone
        case "bootable": volume.bootable ? "1" : "0"
        case "volume_type": volume.typeName
        default: BlockStorageService.timestamp(volume.createdAt)
        }
    }

    func registerVolumes(on v3: RouteGroup) {
        route(v3, .get, "volumes", .authenticated) { request, _, call in
            try await self.listVolumes(request, call, detail: false)
        }
        route(v3, .get, "volumes/detail", .authenticated) { request, _, call in
            try await self.listVolumes(request, call, detail: true)
        }
        route(v3, .get, "volumes/summary", .authenticated) { request, _, call in
            try call.require(12)
            let query = try CinderQuery(request, maxLimit: self.storage.configuration.maxLimit, sortable: [])
            var filter = VolumeFilter()
            filter.allProjects = query.allProjects
            let volumes = try await self.storage.volumes(filter, caller: call.caller)
            var summary: [String: JSONValue] = [
                "total_size": .integer(volumes.reduce(0) { $0 + $1.size }), "total_count": .integer(volumes.count),
            ]
            if call.atLeast(36) {
                var metadata: [String: Set<String>] = [:]
                for volume in volumes { for (key, value) in volume.metadata { metadata[key, default: []].insert(value) } }
                summary["metadata"] = .object(metadata.mapValues { .array($0.sorted().map(JSONValue.string)) })
            }
            return call.respond(.object(["volume-summary": .object(summary)]))
        }
        route(v3, .post, "volumes", .member) { request, _, call in
            let body = try await self.body(request, "volume")
            var create = VolumeCreate()
            create.size = try Self.integer(body, "size")
            create.name = try body.string("name") ?? body.string("display_name")
            create.description = try body.string("description") ?? body.string("display_description")
            create.type = try body.string("volume_type")
            create.availabilityZone = try body.string("availability_zone")
            create.metadata = try Self.strings(try body.object("metadata"), field: "metadata")
            create.snapshotID = try body.string("snapshot_id")
            create.sourceVolumeID = try body.string("source_volid")
            create.imageID = try body.string("imageRef") ?? body.string("image_id")
            if call.atLeast(47) { create.backupID = try body.string("backup_id") }
            if try Self.flag(body, "multiattach") == true {
                throw UpdraftError(.badRequest, "Invalid input received: multiattach volumes are not supported.")
            }
            if let name = create.name, name.count > 255 {
                throw UpdraftError.badRequest("Invalid input received: name must be at most 255 characters.")
            }
            let volume = try await self.storage.createVolume(create, caller: call.caller)
            return try call.respond("volume", volume, status: .accepted, extended: false)
        }
        route(v3, .get, "volumes/:id", .authenticated) { _, context, call in
            try call.respond("volume", try await self.storage.volume(try context.parameter("id"), caller: call.caller))
        }
        route(v3, .put, "volumes/:id", .member) { request, context, call in
            let body = try await self.body(request, "volume")
            let (name, description) = try Self.naming(body)
            let metadata = body.has("metadata") ? try Self.strings(try body.object("metadata"), field: "metadata") : nil
            let volume = try await self.storage.updateVolume(
                try context.parameter("id"), name: name, description: description, metadata: metadata, caller: call.caller)
            return try call.respond("volume", volume, extended: false)
        }
        route(v3, .delete, "volumes/:id", .member) { request, context, call in
            let cascade = ["true", "True", "1"].contains(request.uri.queryParameters["cascade"].map(String.init) ?? "")
            let force = ["true", "True", "1"].contains(request.uri.queryParameters["force"].map(String.init) ?? "")
            try await self.storage.deleteVolume(try context.parameter("id"), cascade: cascade, force: force, caller: call.caller)
            return call.empty()
        }
        registerMetadata(on: v3, collection: "volumes") { id, caller, transform in
            try await self.storage.changeMetadata(of: id, caller: caller, transform)
        } read: { id, caller in
            try await self.storage.volume(id, caller: caller).metadata
        }
    }

    func listVolumes(_ request: Request, _ call: Call, detail: Bool) async throws -> Response {
        // `GET /volumes/` is a show without an id in Cinder's router: 404.
        if request.uri.path.hasSuffix("/") { throw UpdraftError(.notFound, "Volume could not be found.") }
        let query = try CinderQuery(request, maxLimit: storage.configuration.maxLimit, sortable: Self.volumeSortKeys)
        var filter = VolumeFilter()
        filter.allProjects = query.allProjects
        filter.projectID = query.filters["project_id"]
        for (key, value) in query.filters where !["all_tenants", "project_id", "metadata"].contains(key) {
            filter.attributes[key == "display_name" ? "name" : key] = value
        }
        if let metadata = query.filters["metadata"] {
            // Clients send Python's `str(dict)`, form-encoded (a space as `+`).
            let text = metadata.replacingOccurrences(of: "+", with: " ").replacingOccurrences(of: "'", with: "\"")
            guard case .object(let fields) = try? JSONValue.parse(Data(text.utf8)) else {
                throw UpdraftError.badRequest("Invalid input received: metadata filter must be a JSON object.")
            }
            for (key, value) in fields {
                if case .string(let text) = value { filter.metadata[key] = text }
            }
        }
        // Pages in SQL when it can (every list but a metadata filter's): at most the largest
        // page, as Cinder's `osapi_max_limit` caps a list that names no limit.
        let page = VolumePage(
            sort: query.sort, marker: query.marker, offset: query.offset,
            limit: query.limit ?? storage.configuration.maxLimit)
        if let (volumes, full) = try await storage.volumes(filter, page: page, caller: call.caller) {
            if detail { return try respond(request, call, "volumes", page: volumes, full: full, query: query, id: \.id) }
            return try respond(
                request, call, "volumes", page: volumes.map(VolumeSummary.init), full: full, query: query, id: \.volume.id)
        }
        let volumes = try await storage.volumes(filter, caller: call.caller)
        if detail {
            return try list(request, call, "volumes", volumes, query: query, id: \.id, value: Self.sortValue)
        }
        let summaries = volumes.map { VolumeSummary(volume: $0) }
        return try list(
            request, call, "volumes", summaries, query: query, id: \.volume.id, value: { Self.sortValue($0.volume, $1) })
    }

    /// Registers `GET/POST/PUT {collection}/{id}/metadata` and `GET/PUT/DELETE .../metadata/{key}`.
    func registerMetadata(
        on v3: RouteGroup, collection: String,
        change:
            @escaping @Sendable (
                String, AuthContext, @escaping @Sendable ([String: String]) throws(UpdraftError) -> [String: String]
            ) async throws -> [String: String],
        read: @escaping @Sendable (String, AuthContext) async throws -> [String: String]
    ) {
        route(v3, .get, "\(collection)/:id/metadata", .authenticated) { _, context, call in
            call.respond(.object(["metadata": Self.json(try await read(try context.parameter("id"), call.caller))]))
        }
        route(v3, .post, "\(collection)/:id/metadata", .member) { request, context, call in
            let given = try Self.strings(try await self.body(request).object("metadata"), field: "metadata")
            let updated = try await change(try context.parameter("id"), call.caller) { current in
                current.merging(given) { _, new in new }
            }
            return call.respond(.object(["metadata": Self.json(updated)]))
        }
        route(v3, .put, "\(collection)/:id/metadata", .member) { request, context, call in
            let given = try Self.strings(try await self.body(request).object("metadata"), field: "metadata")
            let updated = try await change(try context.parameter("id"), call.caller) { _ in given }
            return call.respond(.object(["metadata": Self.json(updated)]))
        }
        route(v3, .get, "\(collection)/:id/metadata/:key", .authenticated) { _, context, call in
            let key = try context.parameter("key")
            guard let value = try await read(try context.parameter("id"), call.caller)[key] else {
                throw UpdraftError(.notFound, "Metadata item was not found")
            }
            return call.respond(.object(["meta": .object([key: .string(value)])]))
        }
        route(v3, .put, "\(collection)/:id/metadata/:key", .member) { request, context, call in
            let key = try context.parameter("key")
            let given = try Self.strings(try await self.body(request).object("meta"), field: "meta")
            guard given.count == 1, let value = given[key] else {
                throw UpdraftError.badRequest("Request body and URI mismatch")
            }
            _ = try await change(try context.parameter("id"), call.caller) { current in
                current.merging([key: value]) { _, new in new }
            }
            return call.respond(.object(["meta": .object([key: .string(value)])]))
        }
        route(v3, .delete, "\(collection)/:id/metadata/:key", .member) { _, context, call in
            let key = try context.parameter("key")
            _ = try await change(try context.parameter("id"), call.caller) { current throws(UpdraftError) in
                guard current[key] != nil else { throw UpdraftError(.notFound, "Metadata item was not found") }
                var updated = current
                updated[key] = nil
                return updated
            }
            return call.empty(.ok)
        }
    }

    static func json(_ map: [String: String]) -> JSONValue {
        .object(map.mapValues(JSONValue.string))
    }
}

/// A volume as the list without details shows it: id, name and links.
struct VolumeSummary: Encodable {
    let volume: Volume

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: FieldKey.self)
        try c.put("id", volume.id)
        try c.put("name", volume.name)
        let view = encoder.userInfo[.volumeView] as? VolumeView
        let base = view?.base ?? ""
        try c.put(
            "links",
            [
                ["rel": "self", "href": "\(base)/v3/\(volume.projectID)/volumes/\(volume.id)"],
                ["rel": "bookmark", "href": "\(base)/\(volume.projectID)/volumes/\(volume.id)"],
            ])
    }
}
