import SQLKit
import UpdraftCore
import Synchronization

/// Group commit for SQLite's one connection: transactions that arrive while one runs wait,
/// then run together in the next transaction, each in a savepoint of its own, and share its
/// one `COMMIT` (one `fsync` of the WAL instead of one each). A transaction that throws
/// rolls back to its savepoint and fails alone; a failed `COMMIT` fails the whole group.
/// Each caller returns once the commit that holds its writes is durable, as before.
///
/// The caller that finds no group running leads: it runs the waiting transactions with its
/// own, answers them, and hands the lead to the first that arrived meanwhile.
final class GroupCommit: Sendable {
    typealias Body = @Sendable (any SQLDatabase) async throws -> any Sendable

    enum Turn: Sendable {
        case done(Result<any Sendable, any Error>)
        case lead
    }

    struct Waiter: Sendable {
        let body: Body
        let continuation: CheckedContinuation<Turn, Never>
    }

    struct State {
        var leading = false
        var queue: [Waiter] = []
    }

    /// At most this many transactions share one commit.
    static let maximumGroup = 64

    let state = Mutex(State())

    /// Runs `body` in a transaction on a connection `run` provides, grouped with others.
    func transaction<R: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> R,
        on run: @Sendable (@Sendable (any SQLDatabase) async throws -> Void) async throws -> Void
    ) async throws -> R {
        let erased: Body = { try await body($0) }
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let lead = state.withLock { state -> Bool in
                guard state.leading else {
                    state.leading = true
                    return true
                }
                state.queue.append(Waiter(body: erased, continuation: continuation))
                return false
            }
            if lead { continuation.resume(returning: .lead) }
        }
        let result: Result<any Sendable, any Error>
        switch turn {
        case .done(let outcome):
            result = outcome
        case .lead:
            result = await lead(first: erased, on: run)
        }
        // Only `body` made the value, so it has `body`'s type.
        guard let value = try result.get() as? R else { throw UpdraftError.internal("a grouped transaction lost its result") }
        return value
    }

    /// Runs `first` and the waiting transactions as one group, answers the others, and passes
    /// the lead on. Returns `first`'s result.
    func lead(
        first: @escaping Body, on run: @Sendable (@Sendable (any SQLDatabase) async throws -> Void) async throws -> Void
    ) async -> Result<any Sendable, any Error> {
        let others = state.withLock { state in
            let taken = Array(state.queue.prefix(Self.maximumGroup - 1))
            state.queue.removeFirst(taken.count)
            return taken
        }
        let bodies = [first] + others.map(\.body)
        let results = Mutex<[Result<any Sendable, any Error>]>([])
        do {
            try await run { db in
                try await db.raw("BEGIN IMMEDIATE").run()
                do {
                    // One transaction alone needs no savepoint: its failure rolls back the whole.
                    guard bodies.count > 1 else {
                        let value = try await first(db)
                        try await db.raw("COMMIT").run()
                        results.withLock { $0 = [.success(value)] }
                        return
                    }
                    for body in bodies {
                        try await db.raw("SAVEPOINT grouped").run()
                        do {
                            let value = try await body(db)
                            try await db.raw("RELEASE grouped").run()
                            results.withLock { $0.append(.success(value)) }
                        } catch {
                            try await db.raw("ROLLBACK TO grouped").run()
                            try await db.raw("RELEASE grouped").run()
                            results.withLock { $0.append(.failure(error)) }
                        }
                    }
                    try await db.raw("COMMIT").run()
                } catch {
                    try? await db.raw("ROLLBACK").run()
                    throw error
                }
            }
        } catch {
            results.withLock { $0 = Array(repeating: .failure(error), count: bodies.count) }
        }
        let outcomes = results.withLock { $0 }
        for (waiter, outcome) in zip(others, outcomes.dropFirst()) {
            waiter.continuation.resume(returning: .done(outcome))
        }
        let next = state.withLock { state -> Waiter? in
            guard !state.queue.isEmpty else {
                state.leading = false
                return nil
            }
            return state.queue.removeFirst()
        }
        next?.continuation.resume(returning: .lead)
        return outcomes[0]
    }
}
