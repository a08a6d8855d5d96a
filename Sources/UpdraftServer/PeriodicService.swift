import Logging
import ServiceLifecycle

/// A loop that runs `work` every `interval` on `clock` until graceful shutdown: the token
/// key reload, the revocation sync on shared PostgreSQL, and later the power-state sync and
/// the SU ledger ticker. A failed round is logged and the loop goes on.
struct PeriodicService<C: Clock>: Service where C.Duration == Duration {
    let name: String
    let interval: Duration
    let clock: C
    let logger: Logger
    let work: @Sendable () async throws -> Void

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await clock.sleep(for: interval) }
            } catch {
                return
            }
            do {
                try await work()
            } catch {
                logger.error("periodic task failed", metadata: ["task": "\(name)", "error": "\(error)"])
            }
        }
    }
}
