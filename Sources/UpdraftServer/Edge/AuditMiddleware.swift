import Foundation
import Hummingbird
import Logging
import UpdraftCore
import UpdraftDatabase

/// Writes every mutating call (who, what, which project, result) to the `audit_events` table.
struct AuditMiddleware: RouterMiddleware {
    typealias Context = UpdraftRequestContext

    let database: Database
    let logger: Logger

    static let migrations = [
        Migration(
            "audit-1",
            [
                """
                CREATE TABLE audit_events (id TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL, request_id TEXT NOT NULL,
                  user_id TEXT, project_id TEXT, method TEXT NOT NULL, path TEXT NOT NULL, status BIGINT NOT NULL)
                """,
                "CREATE INDEX audit_events_at ON audit_events (at)",
            ])
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard [.post, .put, .patch, .delete].contains(request.method) else { return try await next(request, context) }
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as UpdraftError {
            await record(request, context, status: error.code.httpStatus)
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

    /// Written before the answer is sent, so an acknowledged change is always audited.
    private func record(_ request: Request, _ context: Context, status: Int) async {
        let id = Identifier.make()
        let at = Date.now.timeIntervalSince1970
        let requestID = context.requestID
        let user = context.token?.userID
        let project = context.token?.projectID
        let method = request.method.rawValue
        let path = request.uri.path
        do {
            try await database.withConnection { db in
                try await db.raw(
                    """
                    INSERT INTO audit_events (id, at, request_id, user_id, project_id, method, path, status)
                    VALUES (\(bind: id), \(bind: at), \(bind: requestID), \(bind: user), \(bind: project), \(bind: method),
                    \(bind: path), \(bind: status))
                    """
                ).run()
            }
        } catch {
            logger.error("audit write failed", metadata: ["request_id": "\(requestID)", "error": "\(error)"])
        }
    }
}
