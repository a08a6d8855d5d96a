import Foundation
import Hummingbird
import UpdraftCompute
import UpdraftCore

/// `os-services`: the compute service of each host, and disabling it.
extension ComputeController {
    func registerServices(on v: RouteGroup) {
        let compute = compute
        route(v, .get, "os-services", .admin) { request, _, call in
            let hosts = try await compute.hosts()
            var services: [JSONValue] = []
            var next = 1
            for h in hosts {
                for binary in ["nova-compute", "nova-scheduler", "nova-conductor"] {
                    if let wanted = request.query["binary"], wanted != binary { continue }
                    if let wanted = request.query["host"], wanted != h.host.hostname { continue }
                    let compute = binary == "nova-compute"
                    services.append(
                        .object([
                            "id": .number(Double(next)), "binary": .string(binary), "host": .string(h.host.hostname),
                            "zone": .string(compute ? "nova" : "internal"),
                            "status": .string(compute && h.disabled ? "disabled" : "enabled"), "state": "up",
                            "updated_at": Date.now.novaUsage,
                            "disabled_reason": compute ? h.disabledReason.map(JSONValue.string) ?? .null : .null,
                            "forced_down": .bool(false),
                        ]))
                    next += 1
                }
            }
            return call.respond(.object(["services": .array(services)]))
        }
        for (path, disabled) in [
            ("os-services/disable", true), ("os-services/enable", false), ("os-services/disable-log-reason", true),
        ] {
            route(v, .put, path, .admin) { request, _, call in
                let body = try JSONObject(try await request.json(limit: self.bodyLimit))
                let host = try body.requiredString("host")
                let reason = try body.string("disabled_reason")
                try await compute.setHostDisabled(host, disabled: disabled, reason: reason)
                var service: [String: JSONValue] = [
                    "host": .string(host), "binary": .string(try body.string("binary") ?? "nova-compute"),
                    "status": .string(disabled ? "disabled" : "enabled"),
                ]
                if let reason { service["disabled_reason"] = .string(reason) }
                return call.respond(.object(["service": .object(service)]))
            }
        }
    }
}
