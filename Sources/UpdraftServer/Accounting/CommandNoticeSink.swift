import Foundation
import HostProcess
import UpdraftAccounting
import UpdraftCore

/// The operator's notice hook: `updraft serve --notice-command PATH` runs PATH once per notice
/// with the notice as JSON on standard input (`id`, `project_id`, `allocation_id`, `at`,
/// `kind`, `message`, `recipients`: the members' e-mail addresses) and the same fields as
/// `UPDRAFT_NOTICE_*` variables; a script that pipes it to `sendmail` is e-mail. A non-zero exit
/// or 30 s without one leaves the notice to be tried again next round.
struct CommandNoticeSink: NoticeSink {
    let command: String

    func deliver(_ notice: AccountingService.Notice, recipients: [String]) async throws {
        let body = JSONValue.object([
            "id": .integer(notice.id), "project_id": .string(notice.projectID),
            "allocation_id": .string(notice.allocationID), "at": .string(Timestamp.iso8601(notice.at)),
            "kind": .string(notice.kind), "message": .string(notice.message),
            "recipients": .array(recipients.map(JSONValue.string)),
        ])
        var environment = HostProcess.minimalEnvironment
        environment["UPDRAFT_NOTICE_ID"] = String(notice.id)
        environment["UPDRAFT_NOTICE_PROJECT_ID"] = notice.projectID
        environment["UPDRAFT_NOTICE_KIND"] = notice.kind
        environment["UPDRAFT_NOTICE_RECIPIENTS"] = recipients.joined(separator: ",")
        let result = try await HostProcess.run(
            command, [], environment: environment, input: Data(body.serialized()), timeout: .seconds(30))
        guard result.status == .exited(0) else {
            throw UpdraftError.internal("\(command) ended with \(result.status): \(result.errorText)")
        }
    }
}
