import Hummingbird
import Logging
import UpdraftCore
import UpdraftDatabase

/// Records every mutating call (who, through which API, what, which project, result) in the
/// ``AuditLog`` before the answer is sent, so an acknowledged change is always audited.
struct AuditMiddleware: RouterMiddleware {
    typealias Context = UpdraftRequestContext

    let log: AuditLog
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard [.post, .put, .patch, .delete].contains(request.method) else { return try await next(request, context) }
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as UpdraftError {
            await record(request, context, status: context.api.faults.status(for: error.code))
            throw error
        } catch let error as HTTPError {
            await record(request, context, status: error.status.code)
            throw error
        } catch {
            await record(request, context, status: 500)
            throw error
        }
        await record(request, context, status: response.status.code)
        return response
    }

    private func record(_ request: Request, _ context: Context, status: Int) async {
        let caller = context.authentication.caller
        let event = AuditLog.Event(
            requestID: context.requestID, userID: caller?.userID, projectID: caller?.projectID, api: context.api.name,
            method: request.method.rawValue, path: request.uri.path, status: status)
        do {
            try await log.record(event)
        } catch {
            logger.error("audit write failed", metadata: ["request_id": "\(context.requestID)", "error": "\(error)"])
        }
    }
}
