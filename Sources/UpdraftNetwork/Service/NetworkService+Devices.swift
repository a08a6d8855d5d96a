import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// What compute reads about the ports of its servers, in one query each, and how it waits
/// for the dataplane to wire them.
extension NetworkService {
    /// The ports of some devices with what a server body names: network names, floating IPs
    /// and security group names.
    public struct DevicePorts: Sendable {
        /// Every port of the devices, oldest first.
        public var ports: [Port]
        /// Network id → name.
        public var networkNames: [String: String]
        /// Port id → the floating IPs associated with it.
        public var floatingIPs: [String: [FloatingIP]]
        /// Security group id → name.
        public var groupNames: [String: String]
    }

    /// The ports whose `device_id` is one of `deviceIDs`, for any project.
    public func devicePorts(_ deviceIDs: [String]) async throws -> DevicePorts {
        guard !deviceIDs.isEmpty else { return DevicePorts(ports: [], networkNames: [:], floatingIPs: [:], groupNames: [:]) }
        return try await database.read { db in
            let ports = try await Self.complete(
                try await db.raw(
                    "SELECT * FROM ports WHERE device_id IN (\(binds: deviceIDs)) ORDER BY created_at, id"
                ).all().map(Self.port), db)
            guard !ports.isEmpty else { return DevicePorts(ports: [], networkNames: [:], floatingIPs: [:], groupNames: [:]) }
            var names: [String: String] = [:]
            for row in try await db.raw(
                "SELECT id, name FROM networks WHERE id IN (\(binds: Array(Set(ports.map(\.networkID)))))"
            ).all() {
                names[try row.string("id")] = try row.string("name")
            }
            var floating: [String: [FloatingIP]] = [:]
            for ip in try await db.raw("SELECT * FROM floating_ips WHERE port_id IN (\(binds: ports.map(\.id)))").all().map(
                Self.floatingIP)
            {
                if let port = ip.portID { floating[port, default: []].append(ip) }
            }
            var groups: [String: String] = [:]
            let groupIDs = Array(Set(ports.flatMap(\.securityGroups)))
            if !groupIDs.isEmpty {
                for row in try await db.raw("SELECT id, name FROM security_groups WHERE id IN (\(binds: groupIDs))").all() {
                    groups[try row.string("id")] = try row.string("name")
                }
            }
            return DevicePorts(ports: ports, networkNames: names, floatingIPs: floating, groupNames: groups)
        }
    }

    /// Returns once every port in `ids` is ACTIVE (wired by the dataplane); a timeout error
    /// naming the ports still down after `timeout`.
    public func waitUntilActive(_ ids: [String], timeout: Duration) async throws {
        guard !ids.isEmpty else { return }
        await changed()
        let deadline = ContinuousClock.now + timeout
        while true {
            let down = try await database.read { db in
                try await db.raw("SELECT id FROM ports WHERE id IN (\(binds: ids)) AND status <> 'ACTIVE'").all().map {
                    try $0.string("id")
                }
            }
            if down.isEmpty { return }
            guard ContinuousClock.now < deadline else {
                throw UpdraftError(.timeout, "Ports \(down.joined(separator: ", ")) were not wired within \(timeout).")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The device (a server) whose compute port on `networkID` holds fixed address `address`:
    /// how the metadata service knows who asks, as the dataplane lets no VM send from an
    /// address that is not its own.
    public func device(onNetwork networkID: String, address: String) async throws -> String? {
        try await database.read { db in
            try await db.raw(
                """
                SELECT p.device_id FROM ports p JOIN ip_allocations a ON a.port_id = p.id
                WHERE p.network_id = \(bind: networkID) AND a.ip_address = \(bind: address) AND p.device_owner LIKE 'compute:%'
                """
            ).first()?.string("device_id")
        }
    }
}
