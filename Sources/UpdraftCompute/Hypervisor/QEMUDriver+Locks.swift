extension QEMUDriver {
    /// Runs `body` while holding instance `id`'s lock. The actor is re-entrant, so without
    /// it a `pause` could interleave with the awaits of a `suspend` on the same instance.
    /// Waiters are served in arrival order; the lock is handed over, never released to a race.
    func withInstanceLock<T>(_ id: String, _ body: () async throws -> T) async throws -> T {
        if lockedInstances.contains(id) {
            await withCheckedContinuation { lockWaiters[id, default: []].append($0) }
        } else {
            lockedInstances.insert(id)
        }
        defer { unlock(id) }
        return try await body()
    }

    /// Whether an operation holds instance `id` right now.
    func isLocked(_ id: String) -> Bool {
        lockedInstances.contains(id)
    }

    private func unlock(_ id: String) {
        guard var waiters = lockWaiters[id], !waiters.isEmpty else {
            lockedInstances.remove(id)
            return
        }
        let next = waiters.removeFirst()
        lockWaiters[id] = waiters.isEmpty ? nil : waiters
        next.resume()
    }
}
