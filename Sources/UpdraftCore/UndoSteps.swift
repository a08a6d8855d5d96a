import Logging

/// How to take back the steps of a multi-step create, as Incus's `revert`: each step that
/// succeeds registers its undo; when a later step fails, the undos run newest first.
///
/// Usually reached through ``withUndoSteps(isolation:logger:_:)``:
///
/// ```swift
/// try await withUndoSteps(logger: logger) { undo in
///     try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
///     undo.add("remove \(path)") { try FileManager.default.removeItem(atPath: path) }
///     try await createDisk(in: path)  // a failure here removes the directory
/// }
/// ```
///
/// The undos are not `Sendable`: they run in the isolation they were registered in, so an
/// actor's undo may use the actor's state.
public struct UndoSteps {
    /// An undo that threw, named by the step it was registered for.
    public struct Failure {
        public var step: String
        public var error: any Error
    }

    private var steps: [(step: String, undo: () async throws -> Void)] = []

    public init() {}

    /// Whether no undo is registered.
    public var isEmpty: Bool {
        steps.isEmpty
    }

    /// Registers how to take back `step`, which has succeeded (or may have half happened, as
    /// a launch that started a process and then timed out).
    public mutating func add(_ step: String, _ undo: @escaping () async throws -> Void) {
        steps.append((step, undo))
    }

    /// Runs every registered undo once, newest first, and forgets them. An undo that throws
    /// does not stop the older ones; what each failure was is returned.
    public mutating func undo(isolation: isolated (any Actor)? = #isolation) async -> [Failure] {
        var failures: [Failure] = []
        while let (step, undo) = steps.popLast() {
            do {
                try await undo()
            } catch {
                failures.append(Failure(step: step, error: error))
            }
        }
        return failures
    }
}

/// Runs `body` with fresh ``UndoSteps``. When `body` throws, the undos it registered run
/// newest first, an undo that fails is logged to `logger` (the others still run), and the
/// error `body` threw is rethrown unchanged. When `body` returns, nothing is undone.
public func withUndoSteps<Result>(
    isolation: isolated (any Actor)? = #isolation, logger: Logger, _ body: (inout UndoSteps) async throws -> Result
) async throws -> Result {
    var steps = UndoSteps()
    do {
        return try await body(&steps)
    } catch {
        for failure in await steps.undo() {
            logger.error(
                "undo after a failed step failed too",
                metadata: ["step": "\(failure.step)", "error": "\(failure.error)", "cause": "\(error)"])
        }
        throw error
    }
}
