/// Where notices go beyond the API and the dashboard: the operator's hook (e-mail, chat).
/// Each notice is handed over once, in order, after it is recorded; the composition root
/// bridges it to the command `updraft serve --notice-command` names.
public protocol NoticeSink: Sendable {
    /// `recipients` are the e-mail addresses of the project's members that have one.
    func deliver(_ notice: AccountingService.Notice, recipients: [String]) async throws
}
