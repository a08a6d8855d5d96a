import Foundation
import Logging
import SQLKit
import Testing
import UpdraftCore

@testable import UpdraftDatabase

/// Group commit on SQLite: concurrent transactions share commits, and each still commits or
/// fails alone.
@Suite("Group commit")
struct GroupCommitTests {
    @Test("concurrent transactions all commit, a failing one rolls back alone, and results reach their callers")
    func concurrent() async throws {
        let directory = NSTemporaryDirectory() + "updraft-group-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try await Database.open(.sqlite(path: directory + "/db.sqlite"), logger: Logger(label: "test"))
        try await database.write { db in try await db.raw("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)").run() }
        let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<200 {
                group.addTask {
                    do {
                        let echoed = try await database.write { db -> Int in
                            try await db.raw("INSERT INTO t (id, v) VALUES (\(bind: index), 'x')").run()
                            // Every seventh fails after its insert: the insert must not stay.
                            if index % 7 == 0 { throw UpdraftError.conflict("no \(index)") }
                            return index
                        }
                        #expect(echoed == index)
                        return (index, true)
                    } catch {
                        #expect((error as? UpdraftError)?.message == "no \(index)")
                        return (index, false)
                    }
                }
            }
            var all: [Int: Bool] = [:]
            for try await (index, ok) in group { all[index] = ok }
            return all
        }
        let stored = try await database.read { db in
            try await db.raw("SELECT id FROM t ORDER BY id").all().map { try $0.decode(column: "id", as: Int.self) }
        }
        #expect(stored == (0..<200).filter { $0 % 7 != 0 })
        #expect(outcomes.filter(\.value).keys.sorted() == stored)
        await database.close()
    }
}
