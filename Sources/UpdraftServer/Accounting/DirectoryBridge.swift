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
                id: project.id, name: project.name,
                properties: project.extra.compactMapValues { value in
                    if case .string(let text) = value { return text }
                    return value.jsonText
                }, members: (members[project.id] ?? []).sorted())
        }
    }
}
