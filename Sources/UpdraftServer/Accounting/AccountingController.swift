import Foundation
import Hummingbird
import UpdraftAccounting
import UpdraftCore

/// The accounting API: parses, authorises and renders; the figures come from
/// ``AccountingService``. Members and readers see their own project's allocations; only a
/// cloud administrator creates, supplements, extends, transfers or deletes.
struct AccountingController: Sendable {
    typealias Context = UpdraftRequestContext

    let accounting: AccountingService
    /// Set only when the cloud runs on a test clock: then `/test-clock` moves it.
    let testClock: TestWallClock?
    let publicBase: @Sendable (Request) -> String
    let bodyLimit: Int

    func register(on routes: Routes) {
        let root = routes.group("accounting")
        root.add(.get, "", .anyone) { request, _ in self.respond(self.versions(request)) }
        root.add(.get, "v1", .anyone) { request, _ in self.respond(.object(["version": self.version(request)])) }
        let v1 = routes.group("accounting/v1")
        v1.add(.get, "allocations", .authenticated) { request, context in
            let caller = try context.caller()
            let projectID = try self.project(request, caller)
            let statements = try await self.accounting.statements(projectID: projectID)
            return self.respond(.object(["allocations": .array(statements.map(Self.render))]))
        }
        v1.add(.post, "allocations", .admin) { request, context in
            let body = try JSONObject.body(try await request.json(limit: self.bodyLimit), key: "allocation")
            let new = AccountingService.NewAllocation(
                name: try body.requiredString("name"), projectID: try body.requiredString("project_id"),
                resource: try Self.resource(body), award: try Self.sus(body, "award", allowZero: true),
                start: try Self.date(body, "start"), end: try Self.date(body, "end"), tier: try body.string("tier"),
                description: try body.string("description"), flavors: try body.strings("flavors"))
            let statement = try await self.accounting.create(new, userID: try context.caller().userID)
            return self.respond(.object(["allocation": Self.render(statement)]), status: .created)
        }
        v1.add(.get, "allocations/:id", .authenticated) { request, context in
            let statement = try await self.readable(try context.parameter("id"), context)
            return self.respond(.object(["allocation": Self.render(statement)]))
        }
        v1.add(.patch, "allocations/:id", .admin) { request, context in
            let body = try JSONObject.body(try await request.json(limit: self.bodyLimit), key: "allocation")
            let statement = try await self.accounting.update(
                try context.parameter("id"), name: body.has("name") ? try body.requiredString("name") : nil,
                tier: body.has("tier") ? .some(try body.string("tier")) : nil,
                description: body.has("description") ? .some(try body.string("description")) : nil,
                flavors: body.has("flavors") ? .some(try body.strings("flavors")) : nil)
            return self.respond(.object(["allocation": Self.render(statement)]))
        }
        v1.add(.delete, "allocations/:id", .admin) { _, context in
            try await self.accounting.delete(try context.parameter("id"), userID: try context.caller().userID)
            return Responder.plain.empty()
        }
        v1.add(.post, "allocations/:id/supplement", .admin) { request, context in
            let body = try JSONObject.body(try await request.json(limit: self.bodyLimit), key: "supplement")
            let statement = try await self.accounting.supplement(
                try context.parameter("id"), sus: try Self.sus(body, "sus"), note: try body.string("note"),
                userID: try context.caller().userID)
            return self.respond(.object(["allocation": Self.render(statement)]))
        }
        v1.add(.post, "allocations/:id/extend", .admin) { request, context in
            let body = try JSONObject.body(try await request.json(limit: self.bodyLimit), key: "extension")
            let statement = try await self.accounting.extend(
                try context.parameter("id"), to: try Self.date(body, "end"), note: try body.string("note"),
                userID: try context.caller().userID)
            return self.respond(.object(["allocation": Self.render(statement)]))
        }
        v1.add(.post, "allocations/:id/transfer", .admin) { request, context in
            let body = try JSONObject.body(try await request.json(limit: self.bodyLimit), key: "transfer")
            let statement = try await self.accounting.transfer(
                try context.parameter("id"), to: try body.requiredString("to"), sus: try Self.sus(body, "sus"),
                note: try body.string("note"), userID: try context.caller().userID)
            return self.respond(.object(["allocation": Self.render(statement)]))
        }
        v1.add(.get, "allocations/:id/entries", .authenticated) { _, context in
            let statement = try await self.readable(try context.parameter("id"), context)
            let entries = try await self.accounting.entries(statement.allocation.id)
            return self.respond(.object(["entries": .array(entries.map(Self.render))]))
        }
        v1.add(.get, "allocations/:id/usage", .authenticated) { request, context in
            let statement = try await self.readable(try context.parameter("id"), context)
            let allocation = statement.allocation
            return try await self.usage(
                request, projectID: allocation.projectID, resource: allocation.resource, defaultWindow: allocation.window)
        }
        v1.add(.get, "usage", .authenticated) { request, context in
            let caller = try context.caller()
            guard let projectID = try self.project(request, caller) else {
                throw UpdraftError.badRequest("Usage is shown for one project: name it with project_id.")
            }
            return try await self.usage(
                request, projectID: projectID, resource: nil,
                defaultWindow: DateInterval(start: Date(timeIntervalSince1970: 0), end: self.accounting.clock.now))
        }
        v1.add(.get, "notices", .authenticated) { request, context in
            let notices = try await self.accounting.notices(projectID: try self.project(request, try context.caller()))
            return self.respond(
                .object([
                    "notices": .array(
                        notices.map { n in
                            .object([
                                "id": .integer(n.id), "project_id": .string(n.projectID),
                                "allocation_id": .string(n.allocationID), "at": .string(Timestamp.microseconds(n.at)),
                                "kind": .string(n.kind), "message": .string(n.message),
                            ])
                        })
                ]))
        }
        // What a facility reports to its funder for a period.
        v1.add(.get, "report", .admin) { request, _ in
            let query = request.query
            let until = try query["until"].map { try Self.parseDate($0, field: "until") } ?? self.accounting.clock.now
            let since =
                try query["since"].map { try Self.parseDate($0, field: "since") } ?? until.addingTimeInterval(-30 * 86_400)
            guard since <= until else { throw UpdraftError.badRequest("Invalid since: it is after until.") }
            let report = try await self.accounting.report(since: since, until: until)
            return self.respond(.object(["report": Self.render(report)]))
        }
        // The dry run: what the expiry lifecycle will do next, to whom and when.
        v1.add(.get, "lifecycle", .admin) { _, _ in
            let steps = try await self.accounting.lifecyclePlan()
            return self.respond(
                .object([
                    "steps": .array(
                        steps.map { step in
                            .object([
                                "action": .string(step.action.rawValue), "allocation_id": .string(step.allocation.id),
                                "allocation": .string(step.allocation.name), "project_id": .string(step.allocation.projectID),
                                "status": .string(step.status.rawValue), "since": .string(Timestamp.iso8601(step.since)),
                                "at": .string(Timestamp.iso8601(step.at)),
                                "instances": .array(step.holdings.instances.map(JSONValue.string)),
                                "volumes": .array(step.holdings.volumes.map(JSONValue.string)),
                                "images": .array(step.holdings.images.map(JSONValue.string)),
                                "containers": .array(step.holdings.containers.map(JSONValue.string)),
                            ])
                        })
                ]))
        }
        if let testClock {
            v1.add(.get, "test-clock", .admin) { _, _ in
                self.respond(.object(["now": .string(Timestamp.microseconds(testClock.now))]))
            }
            v1.add(.post, "test-clock", .admin) { request, _ in
                let body = try JSONObject(try await request.json(limit: self.bodyLimit))
                guard let seconds = try body.number("advance_seconds") else {
                    throw UpdraftError.badRequest("Invalid input for field 'advance_seconds': a number of seconds is required.")
                }
                let now = try testClock.advance(by: seconds)
                // What is due at the new time happens before the answer, so a test sees it.
                try await self.accounting.enforceLifecycle()
                return self.respond(.object(["now": .string(Timestamp.microseconds(now))]))
            }
        }
    }

    // MARK: Reading requests

    /// The project a list or usage call is about: the caller's own, or for an administrator
    /// `project_id`, or every project (nil) with `all_projects`.
    func project(_ request: Request, _ caller: AuthContext) throws -> String? {
        let query = request.query
        let all = ["1", "true", "True", "yes"].contains(query["all_projects"] ?? "")
        if let projectID = query["project_id"] {
            if projectID != caller.projectID { try Policy.authorize(caller, .admin) }
            return projectID
        }
        if all {
            try Policy.authorize(caller, .admin)
            return nil
        }
        guard let own = caller.projectID else {
            throw UpdraftError.badRequest("The token is not scoped to a project: name one with project_id.")
        }
        return own
    }

    /// The allocation's figures, for a reader of its project or an administrator; a 404 for
    /// anyone else, as for any resource of another project.
    func readable(_ reference: String, _ context: Context) async throws -> Statement {
        let caller = try context.caller()
        let statement = try await accounting.statement(reference)
        guard Policy.allows(caller, .projectReader(statement.allocation.projectID)) else {
            throw UpdraftError.notFound("Allocation \(reference) could not be found.")
        }
        return statement
    }

    func usage(_ request: Request, projectID: String, resource: ResourceClass?, defaultWindow: DateInterval)
        async throws -> Response
    {
        let query = request.query
        let by = query["by"] ?? "instance"
        guard let grouping = AccountingService.Grouping(rawValue: by) else {
            throw UpdraftError.badRequest(
                "Invalid by \(by): use \(AccountingService.Grouping.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        let start = try query["start"].map { try Self.parseDate($0, field: "start") } ?? defaultWindow.start
        let end = try query["end"].map { try Self.parseDate($0, field: "end") } ?? defaultWindow.end
        guard start <= end else { throw UpdraftError.badRequest("Invalid start: it is after the end.") }
        let lines = try await accounting.usage(
            projectID: projectID, resource: resource, window: DateInterval(start: start, end: end), by: grouping)
        return respond(
            .object([
                "by": .string(grouping.rawValue), "project_id": .string(projectID),
                "start": .string(Timestamp.iso8601(start)), "end": .string(Timestamp.iso8601(min(end, accounting.clock.now))),
                "total_sus": .number(lines.map(\.sus).reduce(0, +)),
                "total_vcpu_hours": .number(lines.map(\.vcpuHours).reduce(0, +)),
                "usage": .array(
                    lines.map { line in
                        .object([
                            "key": .string(line.key), "name": line.name.map(JSONValue.string) ?? .null,
                            "resource": .string(line.resource.rawValue), "sus": .number(line.sus),
                            "vcpu_hours": .number(line.vcpuHours),
                        ])
                    }),
            ]))
    }

    static func resource(_ body: JSONObject) throws -> ResourceClass {
        let text = try body.requiredString("resource")
        guard let resource = ResourceClass(rawValue: text) else {
            throw UpdraftError.badRequest(
                "Invalid input for field 'allocation.resource': \(text) is not one of \(ResourceClass.allCases.map(\.rawValue).joined(separator: ", "))."
            )
        }
        return resource
    }

    static func sus(_ body: JSONObject, _ key: String, allowZero: Bool = false) throws -> Double {
        guard let value = try body.number(key) else {
            throw UpdraftError.badRequest("Invalid input for field '\(body.path).\(key)': a number is required.")
        }
        guard allowZero ? value >= 0 : value > 0, value <= 1e12 else {
            throw UpdraftError.badRequest(
                "Invalid input for field '\(body.path).\(key)': it must be \(allowZero ? "at least 0" : "more than 0") "
                    + "and at most 1,000,000,000,000.")
        }
        return value
    }

    static func date(_ body: JSONObject, _ key: String) throws -> Date {
        try parseDate(try body.requiredString(key), field: "\(body.path).\(key)")
    }

    /// ISO 8601 with or without a time (`2027-01-31` is its midnight UTC).
    static func parseDate(_ text: String, field: String) throws -> Date {
        let full = text.count == 10 ? text + "T00:00:00Z" : text
        guard let date = Timestamp.parse(full) else {
            throw UpdraftError.badRequest("Invalid input for field '\(field)': \(text) is not an ISO 8601 date.")
        }
        return date
    }

    // MARK: Answers

    static func render(_ statement: Statement) -> JSONValue {
        let a = statement.allocation
        return .object([
            "id": .string(a.id), "name": .string(a.name), "project_id": .string(a.projectID),
            "resource": .string(a.resource.rawValue), "tier": a.tier.map(JSONValue.string) ?? .null,
            "description": a.description.map(JSONValue.string) ?? .null, "unit": .string(a.unit),
            "flavors": a.flavors.map { .array($0.map(JSONValue.string)) } ?? .null,
            "award": .number(a.award), "used": .number(statement.used), "balance": .number(statement.balance),
            "start": .string(Timestamp.iso8601(a.start)), "end": .string(Timestamp.iso8601(a.end)),
            "status": .string(statement.status.rawValue), "burn_rate": .number(statement.burnRate),
            "run_out_at": statement.runOut.map { .string(Timestamp.iso8601($0)) } ?? .null,
            "exhausted_at": statement.exhaustedAt.map { .string(Timestamp.iso8601($0)) } ?? .null,
            "created_at": .string(Timestamp.iso8601(a.createdAt)), "updated_at": .string(Timestamp.iso8601(a.updatedAt)),
        ])
    }

    static func render(_ report: AccountingService.Report) -> JSONValue {
        func byClass(_ figures: [ResourceClass: Double]) -> JSONValue {
            .object(Dictionary(uniqueKeysWithValues: figures.map { ($0.key.rawValue, JSONValue.number($0.value)) }))
        }
        return .object([
            "since": .string(Timestamp.iso8601(report.since)), "until": .string(Timestamp.iso8601(report.until)),
            "projects": .integer(report.projects), "active_projects": .integer(report.activeProjects),
            "active_users": .integer(report.activeUsers),
            "fields_of_science": .object(report.fieldsOfScience.mapValues { .integer($0) }),
            "institutions": .object(report.institutions.mapValues { .integer($0) }),
            "mean_active_vms": .number(report.meanActiveVMs), "peak_active_vms": .integer(report.peakActiveVMs),
            "cpu_hours_by_class": byClass(report.cpuHoursByClass), "sus_by_class": byClass(report.susByClass),
            "sus_by_tier": .object(report.susByTier.mapValues { .number($0) }),
            "education_projects": .array(
                report.educationProjects.map {
                    .object(["id": .string($0.id), "name": .string($0.name), "students": .integer($0.students)])
                }),
        ])
    }

    static func render(_ entry: AllocationEntry) -> JSONValue {
        .object([
            "id": entry.id.map { .integer($0) } ?? .null, "allocation_id": .string(entry.allocationID),
            "project_id": .string(entry.projectID), "at": .string(Timestamp.microseconds(entry.at)),
            "kind": .string(entry.kind.rawValue), "sus": entry.sus.map(JSONValue.number) ?? .null,
            "end": entry.end.map { .string(Timestamp.iso8601($0)) } ?? .null,
            "user_id": entry.userID.map(JSONValue.string) ?? .null, "note": entry.note.map(JSONValue.string) ?? .null,
        ])
    }

    func versions(_ request: Request) -> JSONValue {
        .object(["versions": .array([version(request)])])
    }

    func version(_ request: Request) -> JSONValue {
        .object([
            "id": .string("v1"), "status": .string("CURRENT"), "updated": .string("2026-11-30T00:00:00Z"),
            "links": .array([.object(["rel": .string("self"), "href": .string(publicBase(request) + "/accounting/v1/")])]),
        ])
    }

    func respond(_ body: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Responder(base: "").respond(body, status: status)
    }
}
