import Testing

@testable import UpdraftCore

@Suite("Keyed locks")
struct KeyedLocksTests {
    /// What the bodies did, in order.
    actor Journal {
        var entries: [String] = []

        func add(_ entry: String) {
            entries.append(entry)
        }
    }

    /// Waits until `count` tasks are queued for `key`.
    static func waitForWaiters(_ locks: KeyedLocks<String>, _ key: String, count: Int) async throws {
        var tries = 0
        while locks.waiting(for: key) < count, tries < 1000 {
            tries += 1
            try await Task.sleep(for: .milliseconds(1))
        }
        try #require(locks.waiting(for: key) == count)
    }

    @Test("one key is held by one body at a time, and its waiters are served in arrival order")
    func fifo() async throws {
        let locks = KeyedLocks<String>()
        let journal = Journal()
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let holder = Task {
            try await locks.withLock("vm") {
                await journal.add("holder")
                for await _ in gate { break }
            }
        }
        while !locks.isHeld("vm") { await Task.yield() }
        var waiters: [Task<Void, any Error>] = []
        for index in 0..<5 {
            waiters.append(
                Task {
                    try await locks.withLock("vm") {
                        await journal.add("waiter \(index) in")
                        await Task.yield()
                        await journal.add("waiter \(index) out")
                    }
                })
            try await Self.waitForWaiters(locks, "vm", count: index + 1)
        }
        open.yield()
        try await holder.value
        for waiter in waiters { try await waiter.value }
        #expect(await journal.entries == ["holder"] + (0..<5).flatMap { ["waiter \($0) in", "waiter \($0) out"] })
        #expect(!locks.isHeld("vm"))
    }

    @Test("different keys do not wait for each other")
    func independentKeys() async throws {
        let locks = KeyedLocks<String>()
        try await locks.withLock("a") {
            #expect(locks.isHeld("a"))
            let inner = try await locks.withLock("b") { locks.isHeld("b") }
            #expect(inner)
        }
        #expect(!locks.isHeld("a") && !locks.isHeld("b"))
    }

    @Test("a body that throws releases the key")
    func releasedOnThrow() async throws {
        struct Failed: Error {}
        let locks = KeyedLocks<String>()
        await #expect(throws: Failed.self) { try await locks.withLock("vm") { throw Failed() } }
        #expect(!locks.isHeld("vm"))
        #expect(try await locks.withLock("vm") { 7 } == 7)
    }

    /// Locks its own resources and uses its state inside without hopping.
    actor Counter {
        let locks = KeyedLocks<String>()
        var count = 0

        func increment(_ key: String) async throws {
            try await locks.withLock(key) {
                let before = count
                await Task.yield()
                count = before + 1
            }
        }
    }

    @Test("an actor's body runs on the actor, and the lock keeps its read-modify-write whole")
    func onAnActor() async throws {
        let counter = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<50 { group.addTask { try await counter.increment("vm") } }
            try await group.waitForAll()
        }
        #expect(await counter.count == 50)
    }
}
