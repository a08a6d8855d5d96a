import Foundation
import Hummingbird
import UpdraftCompute
import UpdraftCore

/// `/limits` and `os-quota-sets`.
extension ComputeController {
    func registerQuotas(on v: RouteGroup) {
        let compute = compute
        route(v, .get, "limits", .authenticated) { request, _, call in
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
            return call.respond(.object(["limits": .object(["rate": .array([]), "absolute": .object(absolute)])]))
        }
        registerQuotaSets(on: v)
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

    func registerQuotaSets(on v: RouteGroup) {
        let compute = compute
        @Sendable func readable(_ project: String, _ call: Call) throws {
            if project != call.caller.projectID { try call.authorize(.admin) }
        }
        route(v, .get, "os-quota-sets/:id", .authenticated) { _, context, call in
            let project = try context.parameter("id")
            try readable(project, call)
            var body = self.quotaFields(try await compute.quotaLimits(project), call).mapValues { JSONValue.number(Double($0)) }
            body["id"] = .string(project)
            return call.respond(.object(["quota_set": .object(body)]))
        }
        route(v, .get, "os-quota-sets/:id/detail", .authenticated) { _, context, call in
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
            return call.respond(.object(["quota_set": .object(body)]))
        }
        route(v, .get, "os-quota-sets/:id/defaults", .authenticated) { _, context, call in
            let project = try context.parameter("id")
            var body = self.quotaFields(compute.configuration.defaultQuotas, call).mapValues { JSONValue.number(Double($0)) }
            body["id"] = .string(project)
            return call.respond(.object(["quota_set": .object(body)]))
        }
        route(v, .put, "os-quota-sets/:id", .admin) { request, context, call in
            let project = try context.parameter("id")
            let body = try await self.body(request, "quota_set")
            var values: [String: Int] = [:]
            for key in body.fields.keys where key != "force" && key != "id" {
                guard let n = try body.novaInteger(key) else { continue }
                values[key] = n
            }
            let limits = try await compute.setQuotas(project, values)
            return call.respond(
                .object(["quota_set": .object(self.quotaFields(limits, call).mapValues { JSONValue.number(Double($0)) })]))
        }
        route(v, .delete, "os-quota-sets/:id", .admin) { _, context, call in
            try await compute.resetQuotas(try context.parameter("id"))
            return call.empty()
        }
    }
}
