extension QEMUDriver {
    /// Runs `body` while holding instance `id`'s lock. The actor is re-entrant, so without
    /// it a `pause` could interleave with the awaits of a `suspend` on the same instance.
    func withInstanceLock<T>(_ id: String, _ body: () async throws -> T) async throws -> T {
        await locks.acquire(id)
        do {
            let result = try await body()
            await locks.release(id)
            return result
        } catch {
            await locks.release(id)
            throw error
        }
    }

    /// Whether an operation holds instance `id` right now.
    func isLocked(_ id: String) async -> Bool {
        await locks.isHeld(id)
    }
}
