import Testing
import UpdraftCore

@Suite("Policy")
struct PolicyTests {
    func context(_ roles: Set<String>, project: String = "A") -> AuthContext {
        AuthContext(
            userID: "u", userDomainID: "default", scope: .project(id: project, domainID: "default"), roles: roles, auditID: "x")
    }

    @Test("a member of project A may read and change A and nothing of B")
    func isolation() {
        let member = context(["member", "reader"])
        #expect(Policy.allows(member, .projectReader("A")))
        #expect(Policy.allows(member, .projectMember("A")))
        #expect(!Policy.allows(member, .projectReader("B")))
        #expect(!Policy.allows(member, .projectMember("B")))
        #expect(!Policy.allows(member, .admin))
    }

    @Test("a reader may read but not change")
    func reader() {
        let reader = context(["reader"])
        #expect(Policy.allows(reader, .projectReader("A")))
        #expect(!Policy.allows(reader, .projectMember("A")))
    }

    @Test("an admin may do everything")
    func admin() {
        let admin = context(["admin", "member", "reader"], project: "admin")
        #expect(Policy.allows(admin, .admin))
        #expect(Policy.allows(admin, .projectMember("B")))
        #expect(Policy.allows(admin, .user("someone-else")))
    }

    @Test("a user may act on their own user only")
    func ownUser() {
        let member = context(["member"])
        #expect(Policy.allows(member, .user("u")))
        #expect(!Policy.allows(member, .user("v")))
    }

    @Test("authorize throws forbidden, which the edge answers with 403")
    func forbidden() {
        #expect(throws: UpdraftError.self) { try Policy.authorize(context(["reader"]), .admin) }
        #expect(UpdraftError.Code.forbidden.httpStatus == 403)
    }
}
