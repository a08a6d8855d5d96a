import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The time the cloud stamps on what accounting counts: instance state changes, launches,
/// terminations, ledger entries and allocation dates. The system's by default; a test moves
/// a ``TestWallClock`` by hand to run months of cloud time in a minute. Tokens, timeouts and
/// periodic loops keep real time whatever this says.
public protocol WallClock: Sendable {
    var now: Date { get }
}

/// The system's time.
public struct SystemWallClock: WallClock {
    public init() {}
    public var now: Date { Date.now }
}

/// A clock that stands still until ``advance(by:)`` moves it, kept in a file so that a
/// restart, even after kill -9, resumes at the time the cloud last showed. For end-to-end
/// tests only: `updraft serve` refuses it unless the environment enables it.
public final class TestWallClock: WallClock {
    private let file: String
    private let time: Mutex<Date>

    /// Resumes the time in `file`, or starts at `start` when there is none.
    public init(file: String, start: Date) throws(UpdraftError) {
        self.file = file
        var resumed = start
        if let text = try? String(contentsOfFile: file, encoding: .utf8),
            let seconds = Double(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            resumed = Date(timeIntervalSince1970: seconds)
        }
        time = Mutex(resumed)
        try save(resumed)
    }

    public var now: Date { time.withLock { $0 } }

    /// Moves the clock forward by `seconds` (never back) and returns the new time, written
    /// to disk before it is shown.
    @discardableResult
    public func advance(by seconds: TimeInterval) throws(UpdraftError) -> Date {
        guard seconds >= 0, seconds.isFinite else { throw .badRequest("The test clock only moves forward.") }
        return try time.withLock { (date: inout Date) throws(UpdraftError) -> Date in
            let next = date.addingTimeInterval(seconds)
            try save(next)
            date = next
            return next
        }
    }

    private func save(_ date: Date) throws(UpdraftError) {
        let temporary = file + ".new"
        unlink(temporary)
        var out = try DurableFile(temporaryPath: temporary)
        let bytes = Array(String(format: "%.6f\n", date.timeIntervalSince1970).utf8)
        let written: Result<Void, UpdraftError> = bytes.withUnsafeBytes { raw in
            Result { () throws(UpdraftError) in try out.write(raw) }
        }
        try written.get()
        try out.rename(to: file)
    }
}
