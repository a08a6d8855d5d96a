import Testing

@testable import UpdraftIdentity

@Suite("Passwords")
struct PasswordHasherTests {
    let hasher = PasswordHasher(configuration: .init(rounds: 1000, rememberFor: 0))

    @Test("a hash verifies its password and no other")
    func verify() throws {
        let hash = try hasher.hash("correct horse")
        #expect(hasher.verify("correct horse", against: hash))
        #expect(!hasher.verify("correct horse ", against: hash))
        #expect(!hasher.verify("", against: hash))
    }

    @Test("two hashes of one password differ (salted) and never contain it")
    func salted() throws {
        let a = try hasher.hash("secret-password")
        let b = try hasher.hash("secret-password")
        #expect(a != b)
        #expect(!a.contains("secret-password"))
        #expect(a.hasPrefix("$pbkdf2-sha256$1000$"))
    }

    @Test("the default cost is OWASP's 600,000 PBKDF2-SHA256 rounds")
    func defaultCost() {
        #expect(PasswordHasher.Configuration().rounds >= 600_000)
    }

    @Test("a malformed stored hash never verifies")
    func malformed() {
        #expect(!hasher.verify("x", against: "plain"))
        #expect(!hasher.verify("x", against: "$pbkdf2-sha256$abc$$"))
    }

    @Test("a remembered success does not make a wrong password pass")
    func memory() throws {
        let remembering = PasswordHasher(configuration: .init(rounds: 1000, rememberFor: 300))
        let hash = try remembering.hash("pw")
        #expect(remembering.verify("pw", against: hash))
        #expect(remembering.verify("pw", against: hash))
        #expect(!remembering.verify("pw2", against: hash))
    }
}
