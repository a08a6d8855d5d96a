import Foundation
import Hummingbird
import UpdraftBlockStorage
import UpdraftCore

/// What Cinder shows administrators of its services: the scheduler, the one volume backend
/// and the backup service, their hosts and pools, and the extensions the API carries.
extension BlockStorageController {
    /// The volume service's host (`host@backend`) and the scheduler's.
    static var volumeHost: String { String(BlockStorageService.backendHost.split(separator: "#")[0]) }
    static let schedulerHost = "updraft"
    static let services = [
        ("cinder-scheduler", schedulerHost), ("cinder-volume", volumeHost), ("cinder-backup", schedulerHost),
    ]

    /// The extensions Cinder lists that Updraft's API carries, by alias.
    static let extensions: [(alias: String, name: String)] = [
        ("os-availability-zone", "AvailabilityZones"), ("os-extended-snapshot-attributes", "ExtendedSnapshotAttributes"),
        ("os-hosts", "Hosts"), ("os-quota-sets", "Quotas"), ("os-services", "Services"),
        ("os-vol-host-attr", "VolumeHostAttribute"), ("os-vol-image-meta", "VolumeImageMetadata"),
        ("os-vol-mig-status-attr", "VolumeMigStatusAttribute"), ("os-vol-tenant-attr", "VolumeTenantAttribute"),
        ("os-volume-actions", "VolumeActions"), ("os-volume-type-access", "VolumeTypeAccess"),
        ("scheduler-stats", "Scheduler_stats"), ("capabilities", "Capabilities"), ("os-types-manage", "TypesManage"),
        ("os-types-extra-specs", "TypesExtraSpecs"), ("backups", "Backups"),
        ("os-backup-project-attr", "BackupProjectAttribute"),
    ]

    func registerAdmin(on v3: RouteGroup) {
        route(v3, .get, "extensions", .authenticated) { _, _, call in
            call.respond(
                .object([
                    "extensions": .array(
                        Self.extensions.map { alias, name in
                            .object([
                                "alias": .string(alias), "name": .string(name), "description": .string(name),
                                "updated": "2023-01-01T00:00:00+00:00", "links": .array([]),
                            ])
                        })
                ]))
        }
        route(v3, .get, "os-services", .admin) { request, _, call in
            let binary = request.uri.queryParameters["binary"].map(String.init)
            let host = request.uri.queryParameters["host"].map(String.init)
            let now = BlockStorageService.timestamp(Date.now)
            let zone = JSONValue.string(self.storage.configuration.availabilityZone)
            // Cinder matches `host` on the host part of `host@backend` too.
            let listed = Self.services.filter { service in
                (binary == nil || service.0 == binary)
                    && (host == nil || service.1 == host || service.1.split(separator: "@").first.map(String.init) == host)
            }
            return call.respond(
                .object([
                    "services": .array(
                        listed.map { binary, host in
                            .object([
                                "binary": .string(binary), "host": .string(host), "zone": zone, "status": "enabled",
                                "state": "up", "updated_at": .string(now), "disabled_reason": .null,
                            ])
                        })
                ]))
        }
        route(v3, .put, "os-services/:action", .admin) { request, context, call in
            let action = try context.parameter("action")
            let body = try await self.body(request)
            let host = try body.string("host")
            switch action {
            case "freeze", "thaw":
                guard host == Self.volumeHost else {
                    throw UpdraftError.badRequest("Invalid input received: host \(host ?? "") is not a volume host.")
                }
                return call.empty(.ok)
            case "enable", "disable", "disable-log-reason":
                let binary = try body.string("binary")
                guard Self.services.contains(where: { $0.0 == binary && $0.1 == host }) else {
                    throw UpdraftError(.notFound, "Service \(binary ?? "") on host \(host ?? "") could not be found.")
                }
                if action == "disable-log-reason" {
                    guard let reason = try body.string("disabled_reason"), !reason.isEmpty, reason.count <= 255 else {
                        throw UpdraftError.badRequest("Invalid input received: disabled_reason is required.")
                    }
                }
                // Updraft's services cannot be switched off: the answer says what was asked.
                return call.respond(
                    .object([
                        "host": .string(host ?? ""), "binary": .string(binary ?? ""),
                        "status": .string(action == "enable" ? "enabled" : "disabled"),
                    ]))
            default:
                throw UpdraftError(.notFound, "Unknown action \(action).")
            }
        }
        route(v3, .get, "os-hosts", .admin) { _, _, call in
            let now = BlockStorageService.timestamp(Date.now)
            return call.respond(
                .object([
                    "hosts": .array(
                        Self.services.map { binary, host in
                            .object([
                                "service-status": "available", "service": .string(binary),
                                "zone": .string(self.storage.configuration.availabilityZone), "service-state": "enabled",
                                "host_name": .string(host), "last-update": .string(now),
                            ])
                        })
                ]))
        }
        route(v3, .get, "os-hosts/:host", .admin) { _, context, call in
            let host = try context.parameter("host")
            guard host == Self.volumeHost else {
                throw UpdraftError(.notFound, "Host \(host) could not be found.")
            }
            let volumes = try await self.storage.volumes(
                {
                    var filter = VolumeFilter(); filter.allProjects = true; return filter
                }(), caller: call.caller)
            let snapshots = try await self.storage.snapshots(allProjects: true, caller: call.caller)
            var rows: [(String, Int, Int, Int, Int)] = [
                (
                    "(total)", volumes.count, volumes.reduce(0) { $0 + $1.size }, snapshots.count,
                    snapshots.reduce(0) { $0 + $1.size }
                )
            ]
            for project in Set(volumes.map(\.projectID) + snapshots.map(\.projectID)).sorted() {
                let v = volumes.filter { $0.projectID == project }
                let s = snapshots.filter { $0.projectID == project }
                rows.append((project, v.count, v.reduce(0) { $0 + $1.size }, s.count, s.reduce(0) { $0 + $1.size }))
            }
            return call.respond(
                .object([
                    "host": .array(
                        rows.map { project, volumeCount, volumeGB, snapshotCount, snapshotGB in
                            .object([
                                "resource": .object([
                                    "project": .string(project), "host": .string(host),
                                    "volume_count": .string(String(volumeCount)),
                                    "total_volume_gb": .string(String(volumeGB)),
                                    "snapshot_count": .string(String(snapshotCount)),
                                    "total_snapshot_gb": .string(String(snapshotGB)),
                                ])
                            ])
                        })
                ]))
        }
        route(v3, .get, "scheduler-stats/get_pools", .admin) { request, _, call in
            let detail = ["true", "True", "1"].contains(request.uri.queryParameters["detail"].map(String.init) ?? "")
            var pool: [String: JSONValue] = ["name": .string(BlockStorageService.backendHost)]
            if detail { pool["capabilities"] = .object(try self.capabilities()) }
            return call.respond(.object(["pools": .array([.object(pool)])]))
        }
        route(v3, .get, "capabilities/:host", .admin) { _, context, call in
            let host = try context.parameter("host")
            guard host == Self.volumeHost || host == BlockStorageService.backendHost else {
                throw UpdraftError(.notFound, "Host \(host) could not be found.")
            }
            var fields = try self.capabilities()
            fields["namespace"] = .string("OS::Storage::Capabilities::\(host)")
            fields["display_name"] = "Capabilities of Updraft's local volume backend"
            fields["description"] = "qcow2 volumes on the host's disk"
            fields["visibility"] = "pool"
            fields["replication_targets"] = .array([])
            fields["pool_name"] = "local"
            fields["properties"] = .object([
                "thin_provisioning": .object(["title": "Thin Provisioning", "type": "boolean", "description": ""])
            ])
            for key in ["updated", "timestamp", "total_capacity_gb", "free_capacity_gb", "reserved_percentage", "QoS_support"] {
                fields.removeValue(forKey: key)
            }
            return call.respond(.object(fields))
        }
    }

    /// The backend's capabilities, with the disk's real capacity.
    func capabilities() throws -> [String: JSONValue] {
        let attributes = try? FileManager.default.attributesOfFileSystem(forPath: storage.configuration.dataDirectory)
        let total = (attributes?[.systemSize] as? NSNumber)?.int64Value ?? 0
        let free = (attributes?[.systemFreeSize] as? NSNumber)?.int64Value ?? 0
        let now = JSONValue.string(BlockStorageService.timestamp(Date.now))
        return [
            "updated": now, "timestamp": now, "QoS_support": false, "volume_backend_name": "local",
            "total_capacity_gb": .integer(Int(total >> 30)), "free_capacity_gb": .integer(Int(free >> 30)),
            "driver_version": "1.0", "reserved_percentage": 0, "storage_protocol": "file", "vendor_name": "Updraft",
        ]
    }
}
