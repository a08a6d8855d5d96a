import Logging
import Testing
import UpdraftCore

@Suite("Undo steps")
struct UndoStepsTests {
    struct Failed: Error, Equatable {
        var step: String
    }

    static let logger = Logger(label: "test")

    /// Registers the undos of three steps (the one of `failingUndo` throws), fails the fourth
    /// step, checks that its error is what comes out, and returns what was undone.
    static func undoneAfterFailedLaunch(failingUndo: String?) async -> [String] {
        var undone: [String] = []
        await #expect(throws: Failed(step: "launch")) {
            try await withUndoSteps(logger: Self.logger) { undo in
                for step in ["directory", "disk", "process"] {
                    undo.add("remove \(step)") {
                        undone.append(step)
                        if step == failingUndo { throw Failed(step: "remove \(step)") }
                    }
                }
                throw Failed(step: "launch")
            }
        }
        return undone
    }

    @Test("a failed step undoes the earlier steps newest first and rethrows its error")
    func reverseOrder() async {
        #expect(await Self.undoneAfterFailedLaunch(failingUndo: nil) == ["process", "disk", "directory"])
    }

    @Test("nothing is undone when every step succeeds")
    func noUndoOnSuccess() async throws {
        var undone: [String] = []
        let result = try await withUndoSteps(logger: Self.logger) { undo in
            undo.add("directory") { undone.append("directory") }
            undo.add("disk") { undone.append("disk") }
            return 42
        }
        #expect(result == 42)
        #expect(undone.isEmpty)
    }

    @Test("an undo that fails hides neither the original error nor the older undos")
    func failingUndo() async {
        #expect(await Self.undoneAfterFailedLaunch(failingUndo: "disk") == ["process", "disk", "directory"])
    }

    @Test("undo() runs each undo once, newest first, and returns the ones that failed")
    func collectedFailures() async {
        var steps = UndoSteps()
        var undone: [String] = []
        steps.add("tap") { undone.append("tap") }
        steps.add("netns") { throw Failed(step: "netns") }
        let failures = await steps.undo()
        #expect(failures.map(\.step) == ["netns"])
        #expect(failures.first?.error as? Failed == Failed(step: "netns"))
        #expect(undone == ["tap"])
        #expect(steps.isEmpty)
        #expect(await steps.undo().isEmpty)
        #expect(undone == ["tap"])
    }

    /// Keeps what it made in its own state; its undos touch that state without hopping.
    actor Builder {
        var made: [String] = []

        func build(failingAt failure: String?) async throws {
            try await withUndoSteps(logger: UndoStepsTests.logger) { undo in
                for step in ["directory", "disk", "process"] {
                    if step == failure { throw Failed(step: step) }
                    made.append(step)
                    undo.add("remove \(step)") { self.made.removeAll { $0 == step } }
                }
            }
        }
    }

    @Test("an actor's undos run on the actor and leave only what a success made")
    func onAnActor() async throws {
        let failing = Builder()
        await #expect(throws: Failed(step: "process")) { try await failing.build(failingAt: "process") }
        #expect(await failing.made.isEmpty)
        let succeeding = Builder()
        try await succeeding.build(failingAt: nil)
        #expect(await succeeding.made == ["directory", "disk", "process"])
    }
}
