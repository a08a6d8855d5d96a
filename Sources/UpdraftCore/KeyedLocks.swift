import Synchronization

/// One lock per key: serialises multi-step work on one resource (an instance, a base image,
/// a network) across `await`s, which an actor's re-entrancy alone would not. A busy key is
/// handed to its waiters in the order they arrived.
///
/// The body runs in the caller's isolation, so an actor can lock one of its resources and
/// keep using its own state inside without hopping.
public final class KeyedLocks<Key: Hashable & Sendable>: Sendable {
    private struct State {
        var held: Set<Key> = []
        var waiters: [Key: [CheckedContinuation<Void, Never>]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Whether someone holds `key` now.
    public func isHeld(_ key: Key) -> Bool {
        state.withLock { $0.held.contains(key) }
    }

    /// How many wait for `key`; for tests that need waiters queued in a known order.
    func waiting(for key: Key) -> Int {
        state.withLock { $0.waiters[key]?.count ?? 0 }
    }

    /// Runs `body` while holding `key`, waiting first for earlier holders and waiters. The
    /// lock is released however `body` ends. Waiting is not cancellable: a waiter that
    /// arrived keeps its place.
    public func withLock<Result>(
        _ key: Key, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> Result
    ) async throws -> Result {
        await acquire(key)
        defer { release(key) }
        return try await body()
    }

    /// Takes `key` at once when it is free, else queues and waits for it to be handed over.
    private func acquire(_ key: Key) async {
        if state.withLock({ $0.held.insert(key).inserted }) { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let free = state.withLock { state in
                if state.held.insert(key).inserted { return true }
                state.waiters[key, default: []].append(continuation)
                return false
            }
            if free { continuation.resume() }
        }
    }

    /// Hands `key` to the next waiter, or frees it.
    private func release(_ key: Key) {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard var queue = state.waiters[key], !queue.isEmpty else {
                state.held.remove(key)
                return nil
            }
            let next = queue.removeFirst()
            state.waiters[key] = queue.isEmpty ? nil : queue
            return next
        }
        next?.resume()  // ownership passes to the next waiter
    }
}
