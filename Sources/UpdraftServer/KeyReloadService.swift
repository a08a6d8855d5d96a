import Logging
import ServiceLifecycle
import UpdraftIdentity

/// Rereads the token key repository on an interval, so a rotation done with
/// `updraft admin rotate-keys` (or by another controller sharing the directory) takes
/// effect in a running server.
struct KeyReloadService<C: Clock>: Service where C.Duration == Duration {
    let tokens: TokenProvider
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
                if try tokens.reloadKeys() { logger.notice("token keys reloaded after a rotation") }
            } catch {
                logger.error("cannot reload token keys", metadata: ["error": "\(error)"])
            }
        }
    }
}
