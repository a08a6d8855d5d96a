import Foundation
import Testing
import UpdraftCore

@Suite("JSON numbers from clients")
struct JSONNumberTests {
    static func field(_ text: String) throws -> JSONValue {
        guard case .object(let fields) = try JSONValue.parse(Data(#"{"n": \#(text)}"#.utf8)), let value = fields["n"] else {
            throw UpdraftError.badRequest("no field")
        }
        return value
    }

    @Test("integers stay exact; numbers Int cannot hold exactly are not integers, and nothing traps")
    func exactIntegers() throws {
        #expect(try Self.field("42") == .integer(42))
        #expect(try Self.field("-7").exactInteger == -7)
        #expect(try Self.field("9223372036854775807").exactInteger == Int.max)
        for text in ["9223372036854775808", "1e300", "-1e300", "1.5", "12345678901234567890123", "\"5\"", "true", "[]"] {
            #expect(try Self.field(text).exactInteger == nil, "\(text)")
        }
        #expect(try Self.field("2.0").exactInteger == 2)
        // Integers are written back as they came.
        #expect(String(decoding: JSONValue.integer(Int.max).serialized(), as: UTF8.self) == "9223372036854775807")
        #expect(JSONValue.integer(-3).jsonText == "-3")
    }

    @Test("a field read as an integer in a range is a 400 naming the field for anything else")
    func rangedIntegers() throws {
        let body = JSONObject(
            [
                "ok": .integer(5), "huge": .number(1e300), "negative": .integer(-1), "fraction": .number(0.5),
                "text": .string("5"),
            ],
            path: "trust")
        #expect(try body.integer("ok", in: 1...10) == 5)
        #expect(try body.integer("missing", in: 1...10) == nil)
        for key in ["huge", "negative", "fraction", "text"] {
            do {
                _ = try body.integer(key, in: 1...10)
                Issue.record("\(key) was accepted")
            } catch {
                #expect(error.code == .badRequest)
                #expect(error.message.contains("trust.\(key)"))
            }
        }
    }
}
