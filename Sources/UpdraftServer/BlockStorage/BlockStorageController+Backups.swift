import Foundation
import Hummingbird
import UpdraftBlockStorage
import UpdraftCore

/// Cinder's backups API: `/backups`, restores, and the records administrators export and import.
extension BlockStorageController {
    static func backupSortValue(_ backup: VolumeBackup, _ key: String) -> String {
        switch key {
        case "id": backup.id
        case "name", "display_name": backup.name ?? ""
        case "status": backup.status.rawValue
        case "size": CinderQuery.sortable(backup.size)
        case "volume_id": backup.volumeID
        case "updated_at": BlockStorageService.timestamp(backup.updatedAt)
        case "data_timestamp": BlockStorageService.timestamp(backup.dataTimestamp)
        default: BlockStorageService.timestamp(backup.createdAt)
        }
    }

    func registerBackups(on v3: RouteGroup) {
        registerList(
            on: v3, "backups",
            sortable: ["id", "name", "status", "size", "created_at", "updated_at", "volume_id", "data_timestamp"],
            fields: { ($0.id, $0.name, $0.status.rawValue, $0.volumeID) }, value: Self.backupSortValue
        ) { allProjects, caller in
            try await self.storage.backups(allProjects: allProjects, caller: caller)
        }
        route(v3, .post, "backups", .member) { request, _, call in
            let body = try await self.body(request, "backup")
            guard let volumeID = try body.string("volume_id") else {
                throw UpdraftError.badRequest("Invalid input received: volume_id is required.")
            }
            var create = BackupCreate(volumeID: volumeID)
            create.snapshotID = try body.string("snapshot_id")
            create.name = try body.string("name")
            create.description = try body.string("description")
            create.container = try body.string("container")
            create.incremental = try Self.flag(body, "incremental") ?? false
            create.force = try Self.flag(body, "force") ?? false
            if call.atLeast(43) { create.metadata = try Self.strings(try body.object("metadata"), field: "metadata") }
            if call.atLeast(51) { create.availabilityZone = try body.string("availability_zone") }
            if let name = create.name, name.count > 255 {
                throw UpdraftError.badRequest("Invalid input received: name must be at most 255 characters.")
            }
            let backup = try await self.storage.createBackup(create, caller: call.caller)
            return try call.respond("backup", backup, status: .accepted, extended: false)
        }
        route(v3, .get, "backups/:id", .authenticated) { _, context, call in
            try call.respond("backup", try await self.storage.backup(try context.parameter("id"), caller: call.caller))
        }
        route(v3, .put, "backups/:id", .member) { request, context, call in
            try call.require(9)
            let body = try await self.body(request, "backup")
            let (name, description) = try Self.naming(body)
            var metadata: [String: String]?
            if call.atLeast(43), body.has("metadata") {
                metadata = try Self.strings(try body.object("metadata"), field: "metadata")
            }
            let backup = try await self.storage.updateBackup(
                try context.parameter("id"), name: name, description: description, metadata: metadata,
                caller: call.caller)
            return try call.respond("backup", backup, extended: false)
        }
        route(v3, .delete, "backups/:id", .member) { _, context, call in
            try await self.storage.deleteBackup(try context.parameter("id"), force: false, caller: call.caller)
            return call.empty()
        }
        route(v3, .post, "backups/:id/restore", .member) { request, context, call in
            let body = try await self.body(request)
            guard body.has("restore") else {
                throw UpdraftError.badRequest("Missing required element 'restore' in request body.")
            }
            let restore = try body.object("restore") ?? JSONObject([:], path: "restore")
            let result = try await self.storage.restoreBackup(
                try context.parameter("id"), volumeID: try restore.string("volume_id"), name: try restore.string("name"),
                caller: call.caller)
            return try call.respond("restore", result, status: .accepted)
        }
        route(v3, .post, "backups/:id/action", .member) { request, context, call in
            let id = try context.parameter("id")
            let body = try await self.body(request)
            if let reset = try body.object("os-reset_status") {
                guard let text = try reset.string("status"), let status = BackupStatus(rawValue: text) else {
                    throw UpdraftError.badRequest("Invalid input received: status must be a backup status.")
                }
                try await self.storage.resetBackupStatus(id, status: status, caller: call.caller)
            } else if body.has("os-force_delete") {
                try await self.storage.deleteBackup(id, force: true, caller: call.caller)
            } else {
                throw UpdraftError.badRequest("Invalid input received: unknown backup action.")
            }
            return call.empty()
        }
        route(v3, .get, "backups/:id/export_record", .admin) { _, context, call in
            let (service, url) = try await self.storage.exportBackupRecord(try context.parameter("id"), caller: call.caller)
            return call.respond(
                .object(["backup-record": .object(["backup_service": .string(service), "backup_url": .string(url)])]))
        }
        route(v3, .post, "backups/import_record", .admin) { request, _, call in
            let body = try await self.body(request, "backup-record")
            guard let service = try body.string("backup_service"), let url = try body.string("backup_url") else {
                throw UpdraftError.badRequest("Invalid input received: backup_service and backup_url are required.")
            }
            let backup = try await self.storage.importBackupRecord(service: service, url: url, caller: call.caller)
            return try call.respond("backup", backup, status: .created, extended: false)
        }
    }
}
