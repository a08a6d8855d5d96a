import Foundation
import Hummingbird
import UpdraftCompute
import UpdraftCore

/// Limits, quota sets, hypervisors, services, availability zones and usage.
extension ComputeController {
    func registerAdministration(on v: RouterGroup<Context>) {
        let compute = compute
        route(v, .get, "limits") { request, _, call in
            var project = call.caller.projectID ?? ""
            if let tenant = request.query["tenant_id"], tenant != project {
                try call.authorize(.admin)
                project = tenant
            }
            let limits = try await compute.quotaLimits(project)
            let used = try await compute.usage(project)
            func n(_ v: Int?) -> JSONValue { .number(Double(v ?? -1)) }
            var absolute: [String: JSONValue] = [
                "maxTotalInstances": n(limits["instances"]), "maxTotalCores": n(limits["cores"]),
                "maxTotalRAMSize": n(limits["ram"]), "maxTotalKeypairs": n(limits["key_pairs"]),
                "maxServerMeta": n(limits["metadata_items"]), "maxPersonality": n(limits["injected_files"]),
                "maxPersonalitySize": n(limits["injected_file_content_bytes"]),
                "maxServerGroups": n(limits["server_groups"]), "maxServerGroupMembers": n(limits["server_group_members"]),
                "totalInstancesUsed": n(used.instances), "totalCoresUsed": n(used.cores), "totalRAMUsed": n(used.ram),
                "totalServerGroupsUsed": 0,
            ]
            if !call.version.atLeast(36) {
                for (k, v) in [
                    ("maxImageMeta", 128), ("maxSecurityGroups", 10), ("maxSecurityGroupRules", 20),
                    ("maxTotalFloatingIps", 10), ("totalFloatingIpsUsed", 0), ("totalSecurityGroupsUsed", 0),
                ] {
                    absolute[k] = .number(Double(v))
                }
            }
            return try call.respond(.object(["limits": .object(["rate": .array([]), "absolute": .object(absolute)])]))
        }
        registerQuotaSets(on: v)
        registerHypervisors(on: v)
    }

    /// The quota resources shown at a microversion: before 2.36 Nova still lists the network ones.
    func quotaFields(_ limits: [String: Int], _ call: Call) -> [String: Int] {
        var fields = limits
        if !call.version.atLeast(36) {
            fields["fixed_ips"] = -1
            fields["floating_ips"] = 10
            fields["security_groups"] = 10
            fields["security_group_rules"] = 20
        }
        return fields
    }

    func registerQuotaSets(on v: RouterGroup<Context>) {
        let compute = compute
        @Sendable func readable(_ project: String, _ call: Call) throws {
            if project != call.caller.projectID { try call.authorize(.admin) }
        }
        route(v, .get, "os-quota-sets/:id") { _, context, call in
            let project = try context.parameter("id")
            try readable(project, call)
            var body = self.quotaFields(try await compute.quotaLimits(project), call).mapValues { JSONValue.number(Double($0)) }
            body["id"] = .string(project)
            return try call.respond(.object(["quota_set": .object(body)]))
        }
        route(v, .get, "os-quota-sets/:id/detail") { _, context, call in
            let project = try context.parameter("id")
            try readable(project, call)
            let used = try await compute.usage(project)
            let inUse = ["instances": used.instances, "cores": used.cores, "ram": used.ram]
            var body: [String: JSONValue] = ["id": .string(project)]
            for (k, limit) in self.quotaFields(try await compute.quotaLimits(project), call) {
                body[k] = .object([
                    "limit": .number(Double(limit)), "in_use": .number(Double(inUse[k] ?? 0)), "reserved": 0,
                ])
            }
            return try call.respond(.object(["quota_set": .object(body)]))
        }
        route(v, .get, "os-quota-sets/:id/defaults") { _, context, call in
            let project = try context.parameter("id")
            var body = self.quotaFields(compute.configuration.defaultQuotas, call).mapValues { JSONValue.number(Double($0)) }
            body["id"] = .string(project)
            return try call.respond(.object(["quota_set": .object(body)]))
        }
        route(v, .put, "os-quota-sets/:id") { request, context, call in
            try call.authorize(.admin)
            let project = try context.parameter("id")
            let body = try await self.body(request, "quota_set")
            var values: [String: Int] = [:]
            for key in body.fields.keys where key != "force" && key != "id" {
                guard let n = try body.novaInteger(key) else { continue }
                values[key] = n
            }
            let limits = try await compute.setQuotas(project, values)
            return try call.respond(
                .object(["quota_set": .object(self.quotaFields(limits, call).mapValues { JSONValue.number(Double($0)) })]))
        }
        route(v, .delete, "os-quota-sets/:id") { _, context, call in
            try call.authorize(.admin)
            try await compute.resetQuotas(try context.parameter("id"))
            return call.empty()
        }
    }

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

    /// `uptime`'s line for this machine, as libvirt reports it to Nova.
    static func uptime() -> String {
        let seconds =
            (try? String(contentsOfFile: "/proc/uptime", encoding: .utf8))?.split(separator: " ").first
            .flatMap { Double($0) } ?? 0
        let load =
            (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
            .joined(separator: ", ") ?? "0.00, 0.00, 0.00"
        let minutes = Int(seconds) / 60
        return String(
            format: " %@ up %d days, %02d:%02d, load average: %@", Timestamp.iso8601(Date.now), minutes / 1440,
            minutes / 60 % 24, minutes % 60, load)
    }

    func registerHypervisors(on v: RouterGroup<Context>) {
        let compute = compute
        for (path, detail) in [("os-hypervisors", false), ("os-hypervisors/detail", true)] {
            route(v, .get, path) { _, _, call in
                try call.authorize(.admin)
                let hosts = try await compute.hosts()
                return try call.respond(
                    .object(["hypervisors": .array(hosts.map { self.hypervisorView($0, detail: detail, call) })]))
            }
        }
        route(v, .get, "os-hypervisors/statistics") { _, _, call in
            try call.authorize(.admin)
            let hosts = try await compute.hosts()
            func sum(_ f: (ComputeService.HostRecord) -> Int) -> JSONValue { .number(Double(hosts.map(f).reduce(0, +))) }
            return try call.respond(
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
        route(v, .get, "os-hypervisors/:id") { _, context, call in
            try call.authorize(.admin)
            let host = try await compute.host(try context.parameter("id"))
            return try call.respond(.object(["hypervisor": self.hypervisorView(host, detail: true, call)]))
        }
        route(v, .get, "os-hypervisors/:id/uptime") { _, context, call in
            try call.authorize(.admin)
            let host = try await compute.host(try context.parameter("id"))
            guard case .object(var view) = self.hypervisorView(host, detail: false, call) else {
                throw UpdraftError.internal("hypervisor view is not an object")
            }
            view["uptime"] = .string(Self.uptime())
            return try call.respond(.object(["hypervisor": .object(view)]))
        }
        route(v, .get, "os-hypervisors/:id/search") { _, context, call in
            try call.authorize(.admin)
            let pattern = try context.parameter("id")
            let hosts = try await compute.hosts().filter { $0.host.hostname.contains(pattern) }
            guard !hosts.isEmpty else { throw UpdraftError.notFound("No hypervisor matching '\(pattern)' could be found.") }
            return try call.respond(.object(["hypervisors": .array(hosts.map { self.hypervisorView($0, detail: false, call) })]))
        }
        route(v, .get, "os-services") { request, _, call in
            try call.authorize(.admin)
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
            return try call.respond(.object(["services": .array(services)]))
        }
        for (path, disabled) in [
            ("os-services/disable", true), ("os-services/enable", false), ("os-services/disable-log-reason", true),
        ] {
            route(v, .put, path) { request, _, call in
                try call.authorize(.admin)
                let body = try JSONObject(try await request.json(limit: self.bodyLimit))
                let host = try body.requiredString("host")
                let reason = try body.string("disabled_reason")
                try await compute.setHostDisabled(host, disabled: disabled, reason: reason)
                var service: [String: JSONValue] = [
                    "host": .string(host), "binary": .string(try body.string("binary") ?? "nova-compute"),
                    "status": .string(disabled ? "disabled" : "enabled"),
                ]
                if let reason { service["disabled_reason"] = .string(reason) }
                return try call.respond(.object(["service": .object(service)]))
            }
        }
        route(v, .get, "os-availability-zone") { _, _, call in
            try call.respond(
                .object([
                    "availabilityZoneInfo": .array([
                        .object([
                            "zoneName": .string(compute.configuration.availabilityZone),
                            "zoneState": .object(["available": true]), "hosts": .null,
                        ])
                    ])
                ]))
        }
        route(v, .get, "os-availability-zone/detail") { _, _, call in
            try call.authorize(.admin)
            var hosts: [String: JSONValue] = [:]
            for h in try await compute.hosts() {
                hosts[h.host.hostname] = .object([
                    "nova-compute": .object([
                        "available": .bool(!h.disabled), "active": true, "updated_at": h.updatedAt.novaUsage,
                    ])
                ])
            }
            return try call.respond(
                .object([
                    "availabilityZoneInfo": .array([
                        .object([
                            "zoneName": .string(compute.configuration.availabilityZone),
                            "zoneState": .object(["available": true]), "hosts": .object(hosts),
                        ])
                    ])
                ]))
        }
        route(v, .get, "os-aggregates") { _, _, call in
            try call.authorize(.admin)
            return try call.respond(.object(["aggregates": .array([])]))
        }
        registerUsage(on: v)
    }
}

extension JSONValue: ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
}

extension ComputeController {
    func registerUsage(on v: RouterGroup<Context>) {
        let compute = compute
        @Sendable func window(_ request: Request) throws -> (Date, Date) {
            let q = request.query
            let end =
                try q["end"].map { text in
                    guard let d = Timestamp.parse(text) else { throw UpdraftError.badRequest("Invalid end time \(text).") }
                    return d
                } ?? Date.now
            let start =
                try q["start"].map { text in
                    guard let d = Timestamp.parse(text) else { throw UpdraftError.badRequest("Invalid start time \(text).") }
                    return d
                } ?? end.addingTimeInterval(-86400)
            guard start <= end else { throw UpdraftError.badRequest("Invalid start time: it is after the end time.") }
            return (start, end)
        }
        @Sendable func report(
            _ project: String, _ usages: [ComputeService.ServerUsage], _ start: Date, _ end: Date, detailed: Bool
        )
            -> JSONValue
        {
            var o: [String: JSONValue] = [
                "tenant_id": .string(project), "start": start.novaUsage, "stop": end.novaUsage,
                "total_hours": .number(usages.map(\.hours).reduce(0, +)),
                "total_vcpus_usage": .number(usages.map { $0.hours * Double($0.instance.flavor.vcpus) }.reduce(0, +)),
                "total_memory_mb_usage": .number(usages.map { $0.hours * Double($0.instance.flavor.ram) }.reduce(0, +)),
                "total_local_gb_usage": .number(usages.map { $0.hours * Double($0.instance.flavor.disk) }.reduce(0, +)),
            ]
            if detailed {
                o["server_usages"] = .array(
                    usages.map { u in
                        let i = u.instance
                        let ended = i.terminatedAt
                        return .object([
                            "instance_id": .string(i.id), "name": .string(i.name), "tenant_id": .string(i.projectID),
                            "hours": .number(u.hours), "vcpus": .number(Double(i.flavor.vcpus)),
                            "memory_mb": .number(Double(i.flavor.ram)), "local_gb": .number(Double(i.flavor.disk)),
                            "flavor": .string(i.flavor.name),
                            "state": .string(i.vmState == .deleted ? "terminated" : i.vmState.rawValue),
                            "started_at": i.createdAt.novaUsage, "ended_at": ended?.novaUsage ?? .null,
                            "uptime": .number(Double(Int((ended ?? Date.now).timeIntervalSince(i.createdAt)))),
                        ])
                    })
            }
            return .object(o)
        }
        route(v, .get, "os-simple-tenant-usage") { request, _, call in
            try call.authorize(.admin)
            let (start, end) = try window(request)
            let detailed = ["1", "true", "True"].contains(request.query["detailed"] ?? "")
            let usages = try await compute.usage(projectID: nil, start: start, end: end)
            let projects = Dictionary(grouping: usages, by: \.instance.projectID)
            return try call.respond(
                .object([
                    "tenant_usages": .array(
                        projects.keys.sorted().map { report($0, projects[$0] ?? [], start, end, detailed: detailed) })
                ]))
        }
        route(v, .get, "os-simple-tenant-usage/:id") { request, context, call in
            let project = try context.parameter("id")
            if project != call.caller.projectID { try call.authorize(.admin) }
            let (start, end) = try window(request)
            let usages = try await compute.usage(projectID: project, start: start, end: end)
            return try call.respond(
                .object(["tenant_usage": usages.isEmpty ? .object([:]) : report(project, usages, start, end, detailed: true)]))
        }
    }
}
