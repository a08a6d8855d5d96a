/// One lock per key: serialises multi-step work on one instance across `await`s, which an
/// actor's re-entrancy alone would not.
actor KeyedLocks {
    private var held: Set<String> = []
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// Whether someone holds `key` now.
    func isHeld(_ key: String) -> Bool {
        held.contains(key)
    }

    func withLock<R: Sendable>(_ key: String, _ body: @Sendable () async throws -> R) async throws -> R {
        await acquire(key)
        do {
            let result = try await body()
            release(key)
            return result
        } catch {
            release(key)
            throw error
        }
    }

    /// Waits until `key` is free and takes it; waiters are served in arrival order.
    func acquire(_ key: String) async {
        if !held.contains(key) {
            held.insert(key)
            return
        }
        await withCheckedContinuation { waiters[key, default: []].append($0) }
    }

    /// Hands `key` to the next waiter, or frees it.
    func release(_ key: String) {
        if var queue = waiters[key], !queue.isEmpty {
            let next = queue.removeFirst()
            waiters[key] = queue.isEmpty ? nil : queue
            next.resume()  // ownership passes to the next waiter
        } else {
            held.remove(key)
        }
    }
}
