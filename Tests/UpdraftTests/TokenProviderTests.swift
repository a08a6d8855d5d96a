import Foundation
import Testing

@testable import UpdraftIdentity

@Suite("Tokens")
final class TokenProviderTests: Sendable {
    /// Every key repository a test makes lives under this, removed when the test ends, pass or fail.
    let root = NSTemporaryDirectory() + "updraft-test-" + UUID().uuidString

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    func temporaryDirectory() -> String {
        let path = root + "/" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func provider() throws -> TokenProvider {
        try Self.provider(temporaryDirectory())
    }

    static func payload(issuedAt: Double = Date.now.timeIntervalSince1970, lifetime: Double = 3600) -> TokenPayload {
        TokenPayload(
            userID: "u1", userDomainID: "default", methods: ["password"], projectID: "p1", projectDomainID: "default",
            roles: [.init(id: "r1", name: "member"), .init(id: "r2", name: "reader")], issuedAt: issuedAt,
            expiresAt: issuedAt + lifetime, auditIDs: ["a1"])
    }

    static func provider(_ directory: String) throws -> TokenProvider {
        TokenProvider(
            configuration: .init(), keys: try KeyRepository.open(.init(directory: directory)),
            revocations: RevocationList(database: nil, horizon: 3700))
    }

    @Test("an issued token validates to the same payload")
    func roundTrip() throws {
        let tokens = try provider()
        let payload = Self.payload()
        #expect(try tokens.validate(try tokens.issue(payload)) == payload)
    }

    @Test("a token altered by one character is rejected")
    func tamper() throws {
        let tokens = try provider()
        var token = Array(try tokens.issue(Self.payload()))
        let index = token.count / 2
        token[index] = token[index] == "A" ? "B" : "A"
        #expect(throws: (any Error).self) { try tokens.validate(String(token)) }
    }

    @Test("an expired token is rejected")
    func expired() throws {
        let tokens = try provider()
        let token = try tokens.issue(Self.payload(issuedAt: Date.now.timeIntervalSince1970 - 7200))
        #expect(throws: (any Error).self) { try tokens.validate(token) }
    }

    @Test("a token from another key repository is rejected")
    func foreignKey() throws {
        let token = try provider().issue(Self.payload())
        #expect(throws: (any Error).self) { try provider().validate(token) }
    }

    @Test("tokens stay valid across one rotation and die after the key is rotated out")
    func rotation() throws {
        let directory = temporaryDirectory()
        let token = try Self.provider(directory).issue(Self.payload())
        _ = try KeyRepository.rotate(.init(directory: directory))
        #expect(try Self.provider(directory).validate(token).userID == "u1")
        _ = try KeyRepository.rotate(.init(directory: directory))
        _ = try KeyRepository.rotate(.init(directory: directory))
        #expect(throws: (any Error).self) { try Self.provider(directory).validate(token) }
    }

    @Test("revoking a user voids tokens issued before, not after")
    func revokeUser() async throws {
        let tokens = try provider()
        let before = try tokens.issue(Self.payload(issuedAt: Date.now.timeIntervalSince1970 - 1))
        try await tokens.revocations.revoke(.user, "u1")
        #expect(throws: (any Error).self) { try tokens.validate(before) }
        let after = try tokens.issue(Self.payload(issuedAt: Date.now.timeIntervalSince1970 + 0.001))
        #expect(try tokens.validate(after).userID == "u1")
    }

    @Test("revoking one audit id voids only that token")
    func revokeAudit() async throws {
        let tokens = try provider()
        var other = Self.payload()
        other.auditIDs = ["a2"]
        let first = try tokens.issue(Self.payload())
        let second = try tokens.issue(other)
        try await tokens.revocations.revoke(.auditID, "a1")
        #expect(throws: (any Error).self) { try tokens.validate(first) }
        #expect(try tokens.validate(second).auditIDs == ["a2"])
    }

    @Test("the auth context carries scope and role names")
    func context() {
        let context = Self.payload().authContext
        #expect(context.projectID == "p1")
        #expect(context.roles == ["member", "reader"])
    }
}

@Suite("Key reload")
struct KeyReloadTests {
    @Test("a running provider picks up a rotation: new tokens use the new primary, old ones survive one rotation")
    func reload() throws {
        let directory = NSTemporaryDirectory() + "updraft-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tokens = try TokenProviderTests.provider(directory)
        let before = try tokens.issue(TokenProviderTests.payload())
        #expect(try tokens.reloadKeys() == false)
        _ = try KeyRepository.rotate(.init(directory: directory))
        #expect(try tokens.reloadKeys() == true)
        #expect(try tokens.validate(before).userID == "u1")
        let after = try tokens.issue(TokenProviderTests.payload())
        #expect(try TokenProviderTests.provider(directory).validate(after).userID == "u1")
        _ = try KeyRepository.rotate(.init(directory: directory))
        _ = try KeyRepository.rotate(.init(directory: directory))
        try tokens.reloadKeys()
        #expect(throws: (any Error).self) { try tokens.validate(before) }
    }
}
