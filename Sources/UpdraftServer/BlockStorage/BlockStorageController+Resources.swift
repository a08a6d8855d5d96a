import Foundation
import Hummingbird
import UpdraftBlockStorage
import UpdraftCore

extension BlockStorageController {
    // MARK: Snapshots

    static func snapshotSortValue(_ snapshot: VolumeSnapshot, _ key: String) -> String {
        switch key {
        case "id": snapshot.id
        case "name", "display_name": snapshot.name ?? ""
        case "status": snapshot.status.rawValue
        case "size": CinderQuery.sortable(snapshot.size)
        case "volume_id": snapshot.volumeID
        case "updated_at": BlockStorageService.timestamp(snapshot.updatedAt)
        default: BlockStorageService.timestamp(snapshot.createdAt)
        }
    }

    /// Registers `GET /<collection>` and `/<collection>/detail` for a volume's resources
    /// (snapshots, backups): filtered by `name`, `status` and `volume_id`, sorted and paged.
    /// The list without details leaves out the extensions' attributes, as Cinder's index does.
    func registerList<T: Encodable & Sendable>(
        on v3: RouteGroup, _ collection: String, sortable: Set<String>,
        fields: @escaping @Sendable (T) -> (id: String, name: String?, status: String, volumeID: String),
        value: @escaping @Sendable (T, String) -> String,
        load: @escaping @Sendable (_ allProjects: Bool, AuthContext) async throws -> [T]
    ) {
        for path in [collection, collection + "/detail"] {
            route(v3, .get, path, .authenticated) { request, _, call in
                let query = try CinderQuery(request, maxLimit: self.storage.configuration.maxLimit, sortable: sortable)
                var items = try await load(query.allProjects, call.caller)
                if let name = query.filters["name"] ?? query.filters["display_name"] {
                    items.removeAll { fields($0).name != name }
                }
                if let status = query.filters["status"] { items.removeAll { fields($0).status != status } }
                if let volume = query.filters["volume_id"] { items.removeAll { fields($0).volumeID != volume } }
                var listing = call
                listing.view.extended = path.hasSuffix("detail")
                return try self.list(request, listing, collection, items, query: query, id: { fields($0).id }, value: value)
            }
        }
    }

    func registerSnapshots(on v3: RouteGroup) {
        registerList(
            on: v3, "snapshots",
            sortable: ["id", "name", "status", "size", "created_at", "updated_at", "volume_id", "display_name"],
            fields: { ($0.id, $0.name, $0.status.rawValue, $0.volumeID) }, value: Self.snapshotSortValue
        ) { allProjects, caller in
            try await self.storage.snapshots(allProjects: allProjects, caller: caller)
        }
        route(v3, .post, "snapshots", .member) { request, _, call in
            let body = try await self.body(request, "snapshot")
            // Cinder looks the missing volume up and answers 404.
            guard let volumeID = try body.string("volume_id") else {
                throw UpdraftError(.notFound, "Volume None could not be found.")
            }
            let force = try Self.flag(body, "force")
            if call.atLeast(66) && force == false {
                throw UpdraftError.badRequest(
                    "Invalid input received: force flag is invalid for this microversion; it may only be true or omitted.")
            }
            let snapshot = try await self.storage.createSnapshot(
                volumeID: volumeID, name: try body.string("name") ?? body.string("display_name"),
                description: try body.string("description") ?? body.string("display_description"),
                metadata: try Self.strings(try body.object("metadata"), field: "metadata"),
                attachedNeedsForce: !call.atLeast(66) && force == false, caller: call.caller)
            return try call.respond("snapshot", snapshot, status: .accepted, extended: false)
        }
        route(v3, .get, "snapshots/:id", .authenticated) { _, context, call in
            try call.respond("snapshot", try await self.storage.snapshot(try context.parameter("id"), caller: call.caller))
        }
        route(v3, .put, "snapshots/:id", .member) { request, context, call in
            let body = try await self.body(request, "snapshot")
            let (name, description) = try Self.naming(body)
            let snapshot = try await self.storage.updateSnapshot(
                try context.parameter("id"), name: name, description: description, caller: call.caller)
            return try call.respond("snapshot", snapshot, extended: false)
        }
        route(v3, .delete, "snapshots/:id", .member) { _, context, call in
            try await self.storage.deleteSnapshot(try context.parameter("id"), force: false, caller: call.caller)
            return call.empty()
        }
        route(v3, .post, "snapshots/:id/action", .member) { request, context, call in
            let id = try context.parameter("id")
            let body = try await self.body(request)
            if let reset = try body.object("os-reset_status") {
                guard let text = try reset.string("status"), let status = SnapshotStatus(rawValue: text) else {
                    throw UpdraftError.badRequest("Invalid input received: status must be a snapshot status.")
                }
                try await self.storage.resetSnapshotStatus(id, status: status, caller: call.caller)
            } else if let update = try body.object("os-update_snapshot_status") {
                guard let text = try update.string("status"), let status = SnapshotStatus(rawValue: text),
                    [.available, .error].contains(status)
                else {
                    throw UpdraftError.badRequest("Invalid input received: status must be available or error.")
                }
                let progress = try update.string("progress")
                if let progress, !progress.hasSuffix("%") || Int(progress.dropLast()).map({ !(0...100).contains($0) }) ?? true {
                    throw UpdraftError.badRequest("Invalid input received: progress must be a percentage such as 80%.")
                }
                try await self.storage.updateSnapshotStatus(id, status: status, progress: progress, caller: call.caller)
            } else if body.has("os-force_delete") {
                try await self.storage.deleteSnapshot(id, force: true, caller: call.caller)
            } else {
                throw UpdraftError.badRequest("Invalid input received: unknown snapshot action.")
            }
            return call.empty()
        }
        registerMetadata(on: v3, collection: "snapshots") { id, caller, transform in
            try await self.storage.changeSnapshotMetadata(of: id, caller: caller, transform)
        } read: { id, caller in
            try await self.storage.snapshot(id, caller: caller).metadata
        }
    }

    // MARK: Types

    func registerTypes(on v3: RouteGroup) {
        route(v3, .get, "types", .authenticated) { request, _, call in
            let text = request.uri.queryParameters["is_public"].map { String($0).lowercased() }
            let isPublic: Bool? =
                switch text {
                case "none": nil
                case "false", "0": false
                default: Policy.isAdmin(call.caller) ? (text == nil ? nil : true) : nil
                }
            return try call.respond("volume_types", try await self.storage.volumeTypes(isPublic: isPublic, caller: call.caller))
        }
        route(v3, .get, "types/:id", .authenticated) { _, context, call in
            try call.respond("volume_type", try await self.storage.volumeType(try context.parameter("id"), caller: call.caller))
        }
        route(v3, .post, "types", .admin) { request, _, call in
            let body = try await self.body(request, "volume_type")
            let type = try await self.storage.createVolumeType(
                name: try body.requiredString("name"), description: try body.string("description"),
                isPublic: try Self.flag(body, "os-volume-type-access:is_public") ?? Self.flag(body, "is_public") ?? true,
                extraSpecs: try Self.strings(try body.object("extra_specs"), field: "extra_specs"), caller: call.caller)
            return try call.respond("volume_type", type)
        }
        route(v3, .put, "types/:id", .admin) { request, context, call in
            let body = try await self.body(request, "volume_type")
            let description: String?? = body.has("description") ? .some(try body.string("description")) : nil
            let type = try await self.storage.updateVolumeType(
                try context.parameter("id"), name: try body.string("name"), description: description,
                isPublic: try Self.flag(body, "is_public"), caller: call.caller)
            return try call.respond("volume_type", type, extended: false)
        }
        route(v3, .delete, "types/:id", .admin) { _, context, call in
            try await self.storage.deleteVolumeType(try context.parameter("id"), caller: call.caller)
            return call.empty()
        }
        route(v3, .get, "types/:id/extra_specs", .authenticated) { _, context, call in
            let type = try await self.storage.volumeType(try context.parameter("id"), caller: call.caller)
            return call.respond(.object(["extra_specs": Self.json(call.view.admin ? type.extraSpecs : [:])]))
        }
        route(v3, .post, "types/:id/extra_specs", .admin) { request, context, call in
            guard let object = try await self.body(request).object("extra_specs") else {
                throw UpdraftError.badRequest("Invalid input received: extra_specs is required.")
            }
            let given = try Self.strings(object, field: "extra_specs")
            _ = try await self.storage.changeExtraSpecs(of: try context.parameter("id"), caller: call.caller) { current in
                current.merging(given) { _, new in new }
            }
            return call.respond(.object(["extra_specs": Self.json(given)]))
        }
        route(v3, .get, "types/:id/extra_specs/:key", .admin) { _, context, call in
            let key = try context.parameter("key")
            let type = try await self.storage.volumeType(try context.parameter("id"), caller: call.caller)
            guard let value = type.extraSpecs[key] else {
                throw UpdraftError(.notFound, "Volume Type \(type.id) has no extra specs with key \(key).")
            }
            return call.respond(.object([key: .string(value)]))
        }
        route(v3, .put, "types/:id/extra_specs/:key", .admin) { request, context, call in
            let key = try context.parameter("key")
            let given = try Self.strings(try await self.body(request), field: "extra_specs")
            guard given.count == 1, let value = given[key] else {
                throw UpdraftError.badRequest("Request body and URI mismatch")
            }
            _ = try await self.storage.changeExtraSpecs(of: try context.parameter("id"), caller: call.caller) { current in
                current.merging([key: value]) { _, new in new }
            }
            return call.respond(.object([key: .string(value)]))
        }
        route(v3, .delete, "types/:id/extra_specs/:key", .admin) { _, context, call in
            let key = try context.parameter("key")
            _ = try await self.storage.changeExtraSpecs(of: try context.parameter("id"), caller: call.caller) {
                current throws(UpdraftError) in
                guard current[key] != nil else {
                    throw UpdraftError(.notFound, "Volume type has no extra specs with key \(key).")
                }
                var updated = current
                updated[key] = nil
                return updated
            }
            return call.empty()
        }
        route(v3, .get, "types/:id/os-volume-type-access", .admin) { _, context, call in
            let id = try context.parameter("id")
            let projects = try await self.storage.typeAccess(id, caller: call.caller)
            return call.respond(
                .object([
                    "volume_type_access": .array(
                        projects.map { .object(["volume_type_id": .string(id), "project_id": .string($0)]) })
                ]))
        }
        route(v3, .post, "types/:id/action", .admin) { request, context, call in
            let body = try await self.body(request)
            let id = try context.parameter("id")
            if let add = try body.object("addProjectAccess") {
                try await self.storage.setTypeAccess(
                    id, project: try add.requiredString("project"), granted: true, caller: call.caller)
            } else if let remove = try body.object("removeProjectAccess") {
                try await self.storage.setTypeAccess(
                    id, project: try remove.requiredString("project"), granted: false, caller: call.caller)
            } else {
                throw UpdraftError.badRequest("Invalid input received: unknown volume type action.")
            }
            return call.empty()
        }
    }

    // MARK: Attachments (3.27+)

    func registerAttachments(on v3: RouteGroup) {
        for path in ["attachments", "attachments/detail"] {
            route(v3, .get, path, .authenticated) { request, _, call in
                try call.require(27)
                let query = try CinderQuery(
                    request, maxLimit: self.storage.configuration.maxLimit, sortable: ["id", "created_at"])
                let attachments = try await self.storage.attachments(
                    instance: query.filters["instance_id"], volume: query.filters["volume_id"],
                    allProjects: query.allProjects, caller: call.caller)
                return try call.respond("attachments", attachments)
            }
        }
        route(v3, .post, "attachments", .member) { request, _, call in
            try call.require(27)
            let body = try await self.body(request, "attachment")
            guard let volumeID = try body.string("volume_uuid") else {
                throw UpdraftError.badRequest("Invalid input received: volume_uuid is required.")
            }
            var attachment = try await self.storage.reserve(
                volumeID: volumeID, instance: try body.string("instance_uuid"), caller: call.caller)
            if let connector = try body.object("connector") {
                _ = try await self.storage.connect(
                    attachmentID: attachment.id, host: try connector.string("host") ?? "", caller: call.caller)
                attachment = try await self.storage.attachment(attachment.id, caller: call.caller)
            }
            return try call.respond("attachment", attachment)
        }
        route(v3, .get, "attachments/:id", .authenticated) { _, context, call in
            try call.require(27)
            return try call.respond(
                "attachment", try await self.storage.attachment(try context.parameter("id"), caller: call.caller))
        }
        route(v3, .put, "attachments/:id", .member) { request, context, call in
            try call.require(27)
            let id = try context.parameter("id")
            let body = try await self.body(request, "attachment")
            guard let connector = try body.object("connector") else {
                throw UpdraftError.badRequest("Invalid input received: connector is required.")
            }
            _ = try await self.storage.connect(attachmentID: id, host: try connector.string("host") ?? "", caller: call.caller)
            return try call.respond("attachment", try await self.storage.attachment(id, caller: call.caller))
        }
        route(v3, .delete, "attachments/:id", .member) { _, context, call in
            try call.require(27)
            try await self.storage.release(attachmentID: try context.parameter("id"), caller: call.caller)
            return call.respond(.object(["attachments": .array([])]), status: .ok)
        }
        route(v3, .post, "attachments/:id/action", .member) { request, context, call in
            try call.require(44)
            let body = try await self.body(request)
            guard body.has("os-complete") else {
                throw UpdraftError.badRequest("Invalid input received: unknown attachment action.")
            }
            try await self.storage.complete(attachmentID: try context.parameter("id"), device: nil, caller: call.caller)
            return call.empty(.noContent)
        }
    }

    // MARK: Quotas, limits, zones, services

    func registerQuotas(on v3: RouteGroup) {
        route(v3, .get, "os-quota-sets/:target", .authenticated) { request, context, call in
            let target = try context.parameter("target")
            let (limits, usage) = try await self.storage.quotaSet(target, caller: call.caller)
            let withUsage = ["true", "True", "1"].contains(request.uri.queryParameters["usage"].map(String.init) ?? "")
            var set: [String: JSONValue] = ["id": .string(target)]
            for (resource, limit) in limits {
                set[resource] =
                    withUsage
                    ? .object([
                        "limit": .integer(limit), "in_use": .integer(usage[resource] ?? 0), "reserved": .integer(0),
                        "allocated": .integer(0),
                    ]) : .integer(limit)
            }
            return call.respond(.object(["quota_set": .object(set)]))
        }
        route(v3, .get, "os-quota-sets/:target/defaults", .authenticated) { _, context, call in
            var set = try await self.storage.defaultQuotaSet().mapValues(JSONValue.integer)
            set["id"] = .string(try context.parameter("target"))
            return call.respond(.object(["quota_set": .object(set)]))
        }
        route(v3, .put, "os-quota-sets/:target", .admin) { request, context, call in
            let body = try await self.body(request, "quota_set")
            var values: [String: Int] = [:]
            for key in body.fields.keys where key != "tenant_id" && key != "id" {
                guard let value = try Self.integer(body, key) else { continue }
                values[key] = value
            }
            let limits = try await self.storage.updateQuotaSet(
                try context.parameter("target"), values, caller: call.caller)
            return call.respond(.object(["quota_set": .object(limits.mapValues(JSONValue.integer))]))
        }
        route(v3, .delete, "os-quota-sets/:target", .admin) { _, context, call in
            try await self.storage.resetQuotaSet(try context.parameter("target"), caller: call.caller)
            return call.empty(.ok)
        }
        route(v3, .get, "os-quota-class-sets/:class", .admin) { _, context, call in
            let name = try context.parameter("class")
            var set = try await self.storage.quotaClass(name, caller: call.caller).mapValues(JSONValue.integer)
            set["id"] = .string(name)
            return call.respond(.object(["quota_class_set": .object(set)]))
        }
        route(v3, .put, "os-quota-class-sets/:class", .admin) { request, context, call in
            let body = try await self.body(request, "quota_class_set")
            var values: [String: Int] = [:]
            for key in body.fields.keys where key != "id" && key != "class_name" {
                guard let value = try Self.integer(body, key) else { continue }
                values[key] = value
            }
            let limits = try await self.storage.updateQuotaClass(
                try context.parameter("class"), values, caller: call.caller)
            return call.respond(.object(["quota_class_set": .object(limits.mapValues(JSONValue.integer))]))
        }
        route(v3, .get, "limits", .authenticated) { _, _, call in
            let (limits, usage) = try await self.storage.quotaSet(call.project, caller: call.caller)
            let absolute: [String: JSONValue] = [
                "maxTotalVolumes": .integer(limits["volumes"] ?? -1),
                "maxTotalSnapshots": .integer(limits["snapshots"] ?? -1),
                "maxTotalVolumeGigabytes": .integer(limits["gigabytes"] ?? -1),
                "maxTotalBackups": .integer(limits["backups"] ?? -1),
                "maxTotalBackupGigabytes": .integer(limits["backup_gigabytes"] ?? -1),
                "totalVolumesUsed": .integer(usage["volumes"] ?? 0),
                "totalSnapshotsUsed": .integer(usage["snapshots"] ?? 0),
                "totalGigabytesUsed": .integer(usage["gigabytes"] ?? 0),
                "totalBackupsUsed": .integer(usage["backups"] ?? 0),
                "totalBackupGigabytesUsed": .integer(usage["backup_gigabytes"] ?? 0),
            ]
            return call.respond(.object(["limits": .object(["rate": .array([]), "absolute": .object(absolute)])]))
        }
        route(v3, .get, "os-availability-zone", .authenticated) { _, _, call in
            call.respond(
                .object([
                    "availabilityZoneInfo": .array([
                        .object([
                            "zoneName": .string(self.storage.configuration.availabilityZone),
                            "zoneState": .object(["available": true]),
                        ])
                    ])
                ]))
        }
    }
}
