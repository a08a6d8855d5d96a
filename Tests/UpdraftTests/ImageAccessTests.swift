import Foundation
import Testing
import UpdraftCore

@testable import UpdraftImage

@Suite("Image visibility")
struct ImageAccessTests {
    static func caller(_ project: String, admin: Bool = false) -> AuthContext {
        AuthContext(
            userID: "u-" + project, userDomainID: "default", scope: .project(id: project, domainID: "default"),
            roles: admin ? ["admin", "member", "reader"] : ["member", "reader"], auditID: "a")
    }

    static func image(_ visibility: Image.Visibility, owner: String = "owner") -> Image {
        Image(
            id: "i", name: "n", status: .active, visibility: visibility, owner: owner, diskFormat: "raw", containerFormat: "bare",
            createdAt: Date(timeIntervalSince1970: 0))
    }

    @Test("who sees an image by id")
    func canSee() {
        let other = Self.caller("other")
        #expect(ImageAccess.canSee(Self.image(.public), membership: nil, caller: other))
        #expect(ImageAccess.canSee(Self.image(.community), membership: nil, caller: other))
        #expect(!ImageAccess.canSee(Self.image(.private), membership: nil, caller: other))
        #expect(!ImageAccess.canSee(Self.image(.shared), membership: nil, caller: other))
        #expect(ImageAccess.canSee(Self.image(.shared), membership: .pending, caller: other))
        // Members of a private image are ignored, as in Glance since Pike.
        #expect(!ImageAccess.canSee(Self.image(.private), membership: .accepted, caller: other))
        #expect(ImageAccess.canSee(Self.image(.private), membership: nil, caller: Self.caller("owner")))
        #expect(ImageAccess.canSee(Self.image(.private), membership: nil, caller: Self.caller("admin", admin: true)))
    }

    @Test("what a default list holds: shared only once accepted, community only when owned or asked")
    func listed() throws {
        let other = Self.caller("other")
        let plain = ImageListQuery()
        #expect(ImageAccess.isListed(Self.image(.shared), membership: .accepted, caller: other, query: plain))
        #expect(!ImageAccess.isListed(Self.image(.shared), membership: .pending, caller: other, query: plain))
        #expect(!ImageAccess.isListed(Self.image(.community), membership: nil, caller: other, query: plain))
        #expect(ImageAccess.isListed(Self.image(.community, owner: "other"), membership: nil, caller: other, query: plain))
        let pending = try ImageListQuery(parameters: [("member_status", "pending")])
        #expect(ImageAccess.isListed(Self.image(.shared), membership: .pending, caller: other, query: pending))
        let community = try ImageListQuery(parameters: [("visibility", "community")])
        #expect(ImageAccess.isListed(Self.image(.community), membership: nil, caller: other, query: community))
        #expect(!ImageAccess.isListed(Self.image(.public), membership: nil, caller: other, query: community))
    }

    @Test("only the owning project's members and admins change an image")
    func canChange() {
        #expect(ImageAccess.canChange(Self.image(.public), caller: Self.caller("owner")))
        #expect(!ImageAccess.canChange(Self.image(.public), caller: Self.caller("other")))
        #expect(ImageAccess.canChange(Self.image(.private), caller: Self.caller("x", admin: true)))
    }

    @Test("list queries parse filters, sort forms and in: lists")
    func query() throws {
        let q = try ImageListQuery(parameters: [
            ("sort", "name:asc,size"), ("name", #"in:a,"b,c""#), ("tag", "t1"), ("tag", "t2"), ("limit", "5"),
            ("hw_disk_bus", "virtio"), ("os_hidden", "true"),
        ])
        #expect(q.sort.map(\.key) == ["name", "size"])
        #expect(q.sort.map(\.direction) == [.asc, .desc])
        #expect(q.attributes["name"] == ["a", "b,c"])
        #expect(q.tags == ["t1", "t2"] && q.limit == 5 && q.hidden)
        #expect(q.properties == ["hw_disk_bus": "virtio"])
        let keys = try ImageListQuery(parameters: [("sort_key", "name"), ("sort_key", "size"), ("sort_dir", "asc")])
        #expect(keys.sort.map(\.direction) == [.asc, .asc])
        #expect(throws: UpdraftError.self) { try ImageListQuery(parameters: [("sort_key", "bogus")]) }
        #expect(throws: UpdraftError.self) { try ImageListQuery(parameters: [("limit", "x")]) }
    }
}
