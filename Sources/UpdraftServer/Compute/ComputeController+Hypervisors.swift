import Foundation
import Hummingbird
import UpdraftCompute
import UpdraftCore

/// `os-hypervisors`: the hosts, their capacity and use.
extension ComputeController {
    func hypervisorView(_ h: ComputeService.HostRecord, detail: Bool, _ call: Call) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .number(Double(h.id)), "hypervisor_hostname": .string(h.host.hostname), "state": "up",
            "status": .string(h.disabled ? "disabled" : "enabled"),
        ]
        guard detail else { return .object(o) }
        let cpuInfo: JSONValue = .object([
            "arch": "x86_64", "accelerator": .string(h.host.accelerator),
            "accelerator_note": h.host.acceleratorNote.map(JSONValue.string) ?? .null,
        ])
        for (k, v) in [
            ("vcpus", h.host.vcpus), ("memory_mb", h.host.memoryMB), ("local_gb", h.host.diskGB),
            ("vcpus_used", h.usedVCPUs), ("memory_mb_used", h.usedMemoryMB), ("local_gb_used", h.usedDiskGB),
            ("free_ram_mb", h.host.memoryMB - h.usedMemoryMB), ("free_disk_gb", h.host.diskGB - h.usedDiskGB),
            ("current_workload", 0), ("running_vms", h.runningVMs), ("disk_available_least", h.host.diskGB - h.usedDiskGB),
            ("hypervisor_version", h.host.hypervisorVersion),
        ] {
            o[k] = .number(Double(v))
        }
        o["hypervisor_type"] = .string(h.host.hypervisorType)
        o["host_ip"] = .string(h.host.hostIP)
        // 2.28 made cpu_info an object.
        o["cpu_info"] = call.version.atLeast(28) ? cpuInfo : .string(cpuInfo.jsonText)
        o["service"] = .object([
            "host": .string(h.host.hostname), "id": .number(Double(h.id)),
            "disabled_reason": h.disabledReason.map(JSONValue.string) ?? .null,
        ])
        return .object(o)
    }

    func registerHypervisors(on v: RouteGroup) {
        let compute = compute
        for (path, detail) in [("os-hypervisors", false), ("os-hypervisors/detail", true)] {
            route(v, .get, path, .admin) { _, _, call in
                let hosts = try await compute.hosts()
                return call.respond(
                    .object(["hypervisors": .array(hosts.map { self.hypervisorView($0, detail: detail, call) })]))
            }
        }
        route(v, .get, "os-hypervisors/statistics", .admin) { _, _, call in
            let hosts = try await compute.hosts()
            func sum(_ f: (ComputeService.HostRecord) -> Int) -> JSONValue { .number(Double(hosts.map(f).reduce(0, +))) }
            return call.respond(
                .object([
                    "hypervisor_statistics": .object([
                        "count": .number(Double(hosts.count)), "vcpus": sum { $0.host.vcpus },
                        "memory_mb": sum { $0.host.memoryMB }, "local_gb": sum { $0.host.diskGB },
                        "vcpus_used": sum { $0.usedVCPUs }, "memory_mb_used": sum { $0.usedMemoryMB },
                        "local_gb_used": sum { $0.usedDiskGB }, "free_ram_mb": sum { $0.host.memoryMB - $0.usedMemoryMB },
                        "free_disk_gb": sum { $0.host.diskGB - $0.usedDiskGB }, "current_workload": 0,
                        "running_vms": sum { $0.runningVMs }, "disk_available_least": sum { $0.host.diskGB - $0.usedDiskGB },
                    ])
                ]))
        }
        route(v, .get, "os-hypervisors/:id", .admin) { _, context, call in
            let host = try await compute.host(try context.parameter("id"))
            return call.respond(.object(["hypervisor": self.hypervisorView(host, detail: true, call)]))
        }
        route(v, .get, "os-hypervisors/:id/uptime", .admin) { _, context, call in
            let host = try await compute.host(try context.parameter("id"))
            guard case .object(var view) = self.hypervisorView(host, detail: false, call) else {
                throw UpdraftError.internal("hypervisor view is not an object")
            }
            view["uptime"] = .string(try await compute.hypervisorUptime(host))
            return call.respond(.object(["hypervisor": .object(view)]))
        }
        route(v, .get, "os-hypervisors/:id/search", .admin) { _, context, call in
            let pattern = try context.parameter("id")
            let hosts = try await compute.hosts().filter { $0.host.hostname.contains(pattern) }
            guard !hosts.isEmpty else { throw UpdraftError.notFound("No hypervisor matching '\(pattern)' could be found.") }
            return call.respond(.object(["hypervisors": .array(hosts.map { self.hypervisorView($0, detail: false, call) })]))
        }
    }
}
