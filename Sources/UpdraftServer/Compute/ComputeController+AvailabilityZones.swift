import Foundation
import Hummingbird
import UpdraftCompute
import UpdraftCore

/// `os-availability-zone`: one zone, with its hosts for administrators.
extension ComputeController {
    func registerAvailabilityZones(on v: RouteGroup) {
        let compute = compute
        route(v, .get, "os-availability-zone", .authenticated) { _, _, call in
            call.respond(
                .object([
                    "availabilityZoneInfo": .array([
                        .object([
                            "zoneName": .string(compute.configuration.availabilityZone),
                            "zoneState": .object(["available": true]), "hosts": .null,
                        ])
                    ])
                ]))
        }
        route(v, .get, "os-availability-zone/detail", .admin) { _, _, call in
            var hosts: [String: JSONValue] = [:]
            for h in try await compute.hosts() {
                hosts[h.host.hostname] = .object([
                    "nova-compute": .object([
                        "available": .bool(!h.disabled), "active": true, "updated_at": h.updatedAt.novaUsage,
                    ])
                ])
            }
            return call.respond(
                .object([
                    "availabilityZoneInfo": .array([
                        .object([
                            "zoneName": .string(compute.configuration.availabilityZone),
                            "zoneState": .object(["available": true]), "hosts": .object(hosts),
                        ])
                    ])
                ]))
        }
    }
}
