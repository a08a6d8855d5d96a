import UpdraftAccounting
import UpdraftCore
import UpdraftIdentity

/// Identity's projects for the funder's report: their properties and who holds a role on them.
struct DirectoryBridge: ProjectDirectory {
    let identity: IdentityService

    func projects() async throws -> [ProjectFacts] {
        var members: [String: Set<String>] = [:]
        for assignment in try await identity.assignments(query: ["effective": ""])
        where assignment.targetType == .project && assignment.actorType == .user {
            members[assignment.target.id, default: []].insert(assignment.actor.id)
        }
        return try await identity.listProjects(query: [:]).map { project in
            ProjectFacts(
                id: project.id, name: project.name, properties: Self.properties(project),
                members: (members[project.id] ?? []).sorted())
        }
    }

    func projectProperties() async throws -> [String: [String: String]] {
        Dictionary(
            try await identity.listProjects(query: [:]).map { ($0.id, Self.properties($0)) },
            uniquingKeysWith: { first, _ in first })
    }

    func memberEmails(projectID: String) async throws -> [String] {
        var emails: Set<String> = []
        for assignment in try await identity.assignments(query: ["effective": "", "scope.project.id": projectID])
        where assignment.targetType == .project && assignment.actorType == .user {
            if case .string(let email)? = try await identity.user(id: assignment.actor.id).extra["email"], !email.isEmpty {
                emails.insert(email)
            }
        }
        return emails.sorted()
    }

    /// A project's own properties as text.
    static func properties(_ project: Project) -> [String: String] {
        project.extra.mapValues { value in
            if case .string(let text) = value { return text }
            return value.jsonText
        }
    }
}
