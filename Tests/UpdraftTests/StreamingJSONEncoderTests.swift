import Foundation
import Testing
import UpdraftCore
import UpdraftNetwork

@Suite("The streaming JSON encoder")
struct StreamingJSONEncoderTests {
    struct Inner: Codable, Equatable {
        var name: String
        var size: Int?
    }

    /// Two requests for the keyed container by one value share one object, as with `JSONEncoder`.
    struct TwoHelpers: Encodable {
        func encode(to encoder: any Encoder) throws {
            var first = encoder.container(keyedBy: Key.self)
            try first.encode("a", forKey: Key(stringValue: "a"))
            var second = encoder.container(keyedBy: Key.self)
            try second.encode(2, forKey: Key(stringValue: "b"))
        }
    }

    /// Nested containers left open by one key and closed by the next.
    struct Nested: Encodable {
        func encode(to encoder: any Encoder) throws {
            var root = encoder.container(keyedBy: Key.self)
            var inner = root.nestedContainer(keyedBy: Key.self, forKey: Key(stringValue: "inner"))
            try inner.encode(true, forKey: Key(stringValue: "deep"))
            var list = root.nestedUnkeyedContainer(forKey: Key(stringValue: "list"))
            try list.encode(1)
            var object = list.nestedContainer(keyedBy: Key.self)
            try object.encodeNil(forKey: Key(stringValue: "none"))
            try list.encode("after")
            try root.encode(UInt8(7), forKey: Key(stringValue: "last"))
        }
    }

    struct Empty: Encodable {}

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    struct Everything: Encodable {
        var text = "quote \" slash / back \\ newline \n tab \t bell \u{7} é 🚀"
        var integers: [Int] = [0, -1, Int.max]
        var doubles: [Double] = [1.5, 2.0, -0.25, 1e20, 3.0e-7]
        var flags = [true, false]
        var missing: String? = nil
        var present: String? = "here"
        var inners = [Inner(name: "x", size: 1), Inner(name: "y", size: nil)]
        var table: [String: [Int]] = ["one": [1], "none": []]
        var date = Date(timeIntervalSince1970: 1_795_000_000.25)
        var data = Data([0, 1, 2, 250, 255])
        var url = URL(string: "http://127.0.0.1:5000/identity/v3")
        var json: JSONValue = .object(["k": .array([.integer(1), .null, .string("v")])])
        var small: Int8 = -8
        var big: UInt64 = 18_000_000_000_000_000_000
        var empty = Empty()
        var two = TwoHelpers()
        var nested = Nested()
    }

    /// Both encoders' output, read back as Foundation objects.
    func both(_ value: some Encodable) throws -> (NSObject, NSObject) {
        let reference = JSONEncoder()
        reference.outputFormatting = [.withoutEscapingSlashes]
        let expected = try JSONSerialization.jsonObject(with: reference.encode(value), options: [.fragmentsAllowed])
        let streamed = try StreamingJSONEncoder().encode(value)
        let actual = try JSONSerialization.jsonObject(with: Data(streamed), options: [.fragmentsAllowed])
        return (try #require(expected as? NSObject), try #require(actual as? NSObject))
    }

    @Test("writes what JSONEncoder writes, for primitives, optionals, nesting, Date, Data and URL")
    func matchesJSONEncoder() throws {
        let (expected, actual) = try both(Everything())
        #expect(expected == actual)
        for value in ["plain", "a\"b"] {
            let (e, a) = try both(value)
            #expect(e == a)
        }
        let (e, a) = try both([Inner(name: "only", size: 3)])
        #expect(e == a)
    }

    @Test("output is compact, keeps the encoding order and leaves slashes alone")
    func compact() throws {
        let bytes = try StreamingJSONEncoder().encode(Inner(name: "a/b", size: 2))
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"name":"a/b","size":2}"#)
        var prefixed = Array("{\"x\":".utf8)
        try StreamingJSONEncoder().encode([1, 2], appendingTo: &prefixed)
        #expect(String(decoding: prefixed, as: UTF8.self) == #"{"x":[1,2]"#)
    }

    @Test("fields keep only the named keys of a top-level array's objects, nested values whole")
    func fields() throws {
        let items = [Everything(), Everything()]
        let picked = try StreamingJSONEncoder(fields: ["text", "inners", "nope"]).encode(items)
        let parsed = try #require(JSONSerialization.jsonObject(with: Data(picked)) as? [[String: Any]])
        #expect(parsed.count == 2)
        #expect(parsed.allSatisfy { Set($0.keys) == ["text", "inners"] })
        #expect((parsed[0]["inners"] as? [[String: Any]])?.first?["name"] as? String == "x")
        // Not an array at the top: nothing is left out.
        let whole = try StreamingJSONEncoder(fields: ["text"]).encode(Inner(name: "a", size: 1))
        #expect(String(decoding: whole, as: UTF8.self) == #"{"name":"a","size":1}"#)
    }

    @Test("a number JSON cannot hold is an error, not output")
    func nonFinite() {
        #expect(throws: EncodingError.self) { try StreamingJSONEncoder().encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try StreamingJSONEncoder().encode(Double.infinity) }
    }

    @Test("a port reads the same through both encoders, binding fields only in the admin view")
    func port() throws {
        let port = Port(
            id: "p1", name: "web", projectID: "proj", networkID: "net", macAddress: "fa:16:3e:00:00:01",
            fixedIPs: [.init(subnetID: "s1", ipAddress: "10.0.0.5")], securityGroups: ["g1"],
            allowedAddressPairs: [.init(ipAddress: "10.0.0.9", macAddress: "fa:16:3e:00:00:02")], hostID: "host",
            tags: ["t"])
        for admin in [true, false] {
            let reference = JSONEncoder()
            reference.userInfo[.neutronAdminView] = admin
            let expected = try JSONSerialization.jsonObject(with: reference.encode(port)) as? NSDictionary
            let streamed = try StreamingJSONEncoder(userInfo: [.neutronAdminView: admin]).encode(port)
            let actual = try JSONSerialization.jsonObject(with: Data(streamed)) as? NSDictionary
            #expect(expected == actual)
            #expect((actual?["binding:host_id"] != nil) == admin)
        }
    }
}
