import Foundation
import Testing
import UpdraftCore

@Suite("Timestamps")
struct TimestampTests {
    @Test("Keystone's microsecond form round-trips")
    func microseconds() throws {
        let date = Date(timeIntervalSince1970: 1_795_000_000.25)
        let text = Timestamp.microseconds(date)
        #expect(text == "2026-11-18T11:06:40.250000Z")
        let parsed = try #require(Timestamp.parse(text))
        #expect(abs(parsed.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_01)
    }

    @Test("zone offsets and missing fractions parse")
    func offsets() throws {
        #expect(Timestamp.parse("2026-11-18T11:06:40Z")?.timeIntervalSince1970 == 1_795_000_000)
        #expect(Timestamp.parse("2026-11-18T12:06:40+01:00")?.timeIntervalSince1970 == 1_795_000_000)
        #expect(Timestamp.parse("not a time") == nil)
    }
}
