import Logging
import ServiceLifecycle
import UpdraftIdentity

/// On a shared PostgreSQL store, pulls the revocation events other controllers wrote, so a
/// token revoked on one host is refused on all of them within one interval.
struct RevocationSyncService<C: Clock>: Service where C.Duration == Duration {
    let revocations: RevocationList
    let interval: Duration
    let clock: C
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await clock.sleep(for: interval) }
            } catch {
                return
            }
            do {
                try await revocations.refresh()
            } catch {
                logger.error("cannot read revocation events", metadata: ["error": "\(error)"])
            }
        }
    }
}
