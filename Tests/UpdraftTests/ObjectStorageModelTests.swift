import Foundation
import Testing
import UpdraftCore

@testable import UpdraftObjectStorage

@Suite("Object storage model")
struct ObjectStorageModelTests {
    @Test("Range headers: single, suffix, open-ended, several, past the end, malformed")
    func ranges() {
        #expect(ByteRanges(header: nil, size: 10) == .whole)
        #expect(ByteRanges(header: "bytes=0-3", size: 10) == .partial([0...3]))
        #expect(ByteRanges(header: "bytes=-3", size: 10) == .partial([7...9]))
        #expect(ByteRanges(header: "bytes=-30", size: 10) == .partial([0...9]))
        #expect(ByteRanges(header: "bytes=4-", size: 10) == .partial([4...9]))
        #expect(ByteRanges(header: "bytes=8-20", size: 10) == .partial([8...9]))
        #expect(ByteRanges(header: "bytes=0-1,5-6", size: 10) == .partial([0...1, 5...6]))
        #expect(ByteRanges(header: "bytes=10-20", size: 10) == .unsatisfiable)
        #expect(ByteRanges(header: "bytes=0-0", size: 0) == .unsatisfiable)
        #expect(ByteRanges(header: "bytes=5-2", size: 10) == .whole)
        #expect(ByteRanges(header: "items=0-3", size: 10) == .whole)
        #expect(ByteRanges(header: "bytes=a-b", size: 10) == .whole)
    }

    @Test("conditional headers in RFC 9110's order, with HTTP dates' whole seconds")
    func preconditions() {
        let etag = "abc"
        let modified = 1000.4
        #expect(Preconditions(ifMatch: "\"abc\"").evaluate(etag: etag, modified: modified, isRead: true) == .proceed)
        #expect(Preconditions(ifMatch: "\"x\", \"y\"").evaluate(etag: etag, modified: modified, isRead: true) == .failed)
        #expect(Preconditions(ifMatch: "*").evaluate(etag: etag, modified: modified, isRead: true) == .proceed)
        #expect(Preconditions(ifNoneMatch: "abc").evaluate(etag: etag, modified: modified, isRead: true) == .notModified)
        #expect(Preconditions(ifNoneMatch: "abc").evaluate(etag: etag, modified: modified, isRead: false) == .failed)
        #expect(Preconditions(ifModifiedSince: 1001).evaluate(etag: etag, modified: modified, isRead: true) == .notModified)
        #expect(Preconditions(ifModifiedSince: 1000).evaluate(etag: etag, modified: modified, isRead: true) == .proceed)
        #expect(Preconditions(ifUnmodifiedSince: 1000).evaluate(etag: etag, modified: modified, isRead: true) == .failed)
        // If-None-Match wins over If-Modified-Since.
        #expect(
            Preconditions(ifNoneMatch: "zzz", ifModifiedSince: 2000).evaluate(etag: etag, modified: modified, isRead: true)
                == .proceed)
    }

    @Test("container ACLs: referrers, listings, project:user grants, unknown designators refused")
    func acls() throws {
        let acl = try ContainerACL(parsing: ".r:*,.rlistings, p1:u1, p2:*")
        #expect(acl.publicRead)
        #expect(acl.listings)
        let user = { (project: String, user: String) in
            AuthContext(
                userID: user, userDomainID: "default", scope: .project(id: project, domainID: "default"), roles: ["reader"],
                auditID: "a")
        }
        #expect(acl.grants(user("p1", "u1")))
        #expect(!acl.grants(user("p1", "u2")))
        #expect(acl.grants(user("p2", "anyone")))
        #expect(!acl.grants(user("p3", "u1")))
        #expect(!(try ContainerACL(parsing: "p1:u1")).publicRead)
        #expect(throws: UpdraftError.self) { try ContainerACL(parsing: ".r:") }
        #expect(throws: UpdraftError.self) { try ContainerACL(parsing: ".bogus") }
    }

    @Test("metadata headers: set, empty value and X-Remove remove, Swift's limits")
    func metadata() throws {
        let change = MetadataChange.parse(
            [
                ("x-object-meta-color", "blue"), ("x-object-meta-gone", ""), ("x-remove-object-meta-old", "x"),
                ("content-type", "text/plain"),
            ], kind: "object")
        #expect(change.assigned == ["color": "blue"])
        #expect(change.removed == ["gone", "old"])
        #expect(change.applied(to: ["old": "1", "keep": "2"]) == ["keep": "2", "color": "blue"])
        let limits = StorageLimits()
        #expect(throws: UpdraftError.self) {
            try MetadataChange.check([String(repeating: "n", count: 129): "v"], kind: "object", limits: limits)
        }
        #expect(throws: UpdraftError.self) {
            try MetadataChange.check(["n": String(repeating: "v", count: 257)], kind: "object", limits: limits)
        }
        let many = Dictionary(uniqueKeysWithValues: (0..<91).map { ("k\($0)", "v") })
        #expect(throws: UpdraftError.self) { try MetadataChange.check(many, kind: "object", limits: limits) }
        try MetadataChange.check(["temp-url-key": "s"], kind: "account", limits: limits, system: ["temp-url-key"])
    }

    @Test("the successor of a prefix bounds every name that starts with it")
    func successor() {
        #expect(ObjectStorageService.successor(of: "a/") == "a0")
        #expect(ObjectStorageService.successor(of: "abc") == "abd")
        #expect(ObjectStorageService.successor(of: "") == nil)
        let next = ObjectStorageService.successor(of: "é")
        #expect(next.map { "é\u{10FFFF}".utf8.lexicographicallyPrecedes($0.utf8) } == true)
    }

    @Test("HTTP dates: written as IMF-fixdate and read in its three forms")
    func httpDates() {
        #expect(Timestamp.httpDate(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(Timestamp.parseHTTPDate("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(Timestamp.parseHTTPDate("Sunday, 06-Nov-94 08:49:37 GMT") == 784_111_777)
        #expect(Timestamp.parseHTTPDate("Sun Nov  6 08:49:37 1994") == 784_111_777)
        #expect(Timestamp.parseHTTPDate("yesterday") == nil)
    }
}
