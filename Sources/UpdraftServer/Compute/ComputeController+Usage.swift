import Foundation
import Hummingbird
import UpdraftCompute
import UpdraftCore
/// `os-simple-tenant-usage`: hours, vCPU-hours and memory-hours per project.
extension ComputeController {
    func registerUsage(on v: RouteGroup) {
        let compute = compute
        @Sendable func window(_ request: Request) throws -> (Date, Date) {
            let q = request.query
            let end =
                try q["end"].map { text in
                    guard let d = Timestamp.parse(text) else { throw UpdraftError.badRequest("Invalid end time \(text).") }
                    return d
                } ?? compute.now
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
                            "uptime": .number(Double(Int((ended ?? compute.now).timeIntervalSince(i.createdAt)))),
                        ])
                    })
            }
            return .object(o)
        }
        route(v, .get, "os-simple-tenant-usage", .admin) { request, _, call in
            let (start, end) = try window(request)
            let detailed = ["1", "true", "True"].contains(request.query["detailed"] ?? "")
            let usages = try await compute.usage(projectID: nil, start: start, end: end)
            let projects = Dictionary(grouping: usages, by: \.instance.projectID)
            return call.respond(
                .object([
                    "tenant_usages": .array(
                        projects.keys.sorted().map { report($0, projects[$0] ?? [], start, end, detailed: detailed) })
                ]))
        }
        route(v, .get, "os-simple-tenant-usage/:id", .authenticated) { request, context, call in
            let project = try context.parameter("id")
            if project != call.caller.projectID { try call.authorize(.admin) }
            let (start, end) = try window(request)
            let usages = try await compute.usage(projectID: project, start: start, end: end)
            return call.respond(
                .object(["tenant_usage": usages.isEmpty ? .object([:]) : report(project, usages, start, end, detailed: true)]))
        }
    }
}
