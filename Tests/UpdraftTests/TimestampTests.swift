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

@Test("the direct JSON writer matches what JSONSerialization reads back, escapes included")
func jsonSerialization() throws {
    let value: JSONValue = .object([
        "a": .string("plain"), "b": .string("quote \" backslash \\ newline \n tab \t bell \u{7}"), "c": .number(42),
        "d": .number(1.5), "e": .array([.bool(true), .null]), "f": .object([:]),
    ])
    let parsed = try #require(JSONSerialization.jsonObject(with: Data(value.serialized())) as? [String: Any])
    #expect(parsed["a"] as? String == "plain")
    #expect(parsed["b"] as? String == "quote \" backslash \\ newline \n tab \t bell \u{7}")
    #expect(parsed["c"] as? Int == 42)
    #expect(parsed["d"] as? Double == 1.5)
    #expect((parsed["e"] as? [Any])?.count == 2)
    #expect(Timestamp.iso8601(Date(timeIntervalSince1970: 86400 * 365 + 61)) == "1971-01-01T00:01:01Z")
    #expect(Timestamp.microseconds(Date(timeIntervalSince1970: 0.000042)) == "1970-01-01T00:00:00.000042Z")
}
