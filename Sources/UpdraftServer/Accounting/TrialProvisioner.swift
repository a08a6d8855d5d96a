import Foundation
import Logging
import UpdraftAccounting
import UpdraftBlockStorage
import UpdraftCompute
import UpdraftCore
import UpdraftIdentity
import UpdraftNetwork

/// On a cloud that offers trials, a user's first password login makes their personal project
/// `trial-<name>`: member role, the trial allocation (its flavors only) and small quotas that
/// only an administrator can change. A user who holds any role already, or has had a trial,
/// gets nothing.
struct TrialProvisioner: LoginObserver {
    let trial: AccountingService.Trial
    let identity: IdentityService
    let accounting: AccountingService
    let compute: ComputeService
    let volumes: BlockStorageService?
    let network: NetworkService?
    let logger: Logger
    /// One first login per user at a time.
    let locks = KeyedLocks<String>()

    func passwordLogin(userID: String) async throws {
        try await locks.withLock(userID) {
            guard try await !accounting.hasHadTrial(userID: userID),
                try await identity.assignments(query: ["user.id": userID, "effective": ""]).isEmpty
            else { return }
            let user = try await identity.user(id: userID)
            let name = "trial-" + user.name
            let project = try await identity.createProject(
                JSONObject(
                    [
                        "name": .string(String(name.prefix(64))), "domain_id": .string(user.domainID),
                        "description": .string("Trial project of \(user.name)"),
                    ], path: "project"))
            guard let member = try await identity.listRoles(query: ["name": "member"]).first else {
                throw UpdraftError.internal("the member role is missing")
            }
            try await identity.grant(role: member.id, actor: .user, userID, on: .project, project.id)
            _ = try await compute.setQuotas(project.id, trial.computeQuotas)
            _ = try await volumes?.updateQuotaSet(project.id, trial.volumeQuotas, caller: .system)
            _ = try await network?.setQuotas(project.id, trial.networkQuotas)
            let statement = try await accounting.startTrial(
                userID: userID, projectID: project.id, name: project.name, trial: trial)
            logger.notice(
                "trial project made at first login",
                metadata: ["user_id": "\(userID)", "project_id": "\(project.id)", "allocation": "\(statement.allocation.name)"])
        }
    }
}
