import Crypto
import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Key pairs belong to a user, not a project, as in Nova.
extension ComputeService {
    static func keypair(_ row: any SQLRow) throws -> Keypair {
        Keypair(
            name: try row.string("name"), userID: try row.string("user_id"), publicKey: try row.string("public_key"),
            fingerprint: try row.string("fingerprint"), type: try row.string("type"),
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")), id: try row.int("id"))
    }

    public func listKeypairs(userID: String, limit: Int?, marker: String?) async throws -> [Keypair] {
        var all = try await database.read { db in
            try await db.raw("SELECT * FROM keypairs WHERE user_id = \(bind: userID) ORDER BY name").all().map(Self.keypair)
        }
        if let marker {
            guard let index = all.firstIndex(where: { $0.name == marker }) else {
                throw UpdraftError.badRequest("marker [\(marker)] not found")
            }
            all = Array(all[(index + 1)...])
        }
        return Array(all.prefix(max(0, limit ?? all.count)))
    }

    public func keypair(_ name: String, userID: String) async throws -> Keypair {
        try await database.read { db in try await Self.keypair(name, userID: userID, db) }
    }

    static func keypair(_ name: String, userID: String, _ db: any SQLDatabase) async throws -> Keypair {
        guard
            let row = try await db.raw(
                "SELECT * FROM keypairs WHERE user_id = \(bind: userID) AND name = \(bind: name)"
            ).first()
        else { throw UpdraftError.notFound("Keypair \(name) not found for user \(userID)") }
        return try keypair(row)
    }

    /// Serves `POST /os-keypairs`: imports `publicKey`, or generates an Ed25519 key and
    /// returns its private half once. Over the `key_pairs` quota is a 403.
    public func createKeypair(name: String, userID: String, projectID: String?, publicKey: String?, type: String) async throws
        -> Keypair
    {
        guard !name.isEmpty, name.count <= 255,
            name.allSatisfy({ $0.isLetter || $0.isNumber || "-_ .@".contains($0) }),
            name.trimmingCharacters(in: .whitespaces) == name
        else {
            throw UpdraftError.badRequest(
                "Keypair data is invalid: Keypair name contains unsafe characters or is not 1 to 255 characters long")
        }
        var privateKey: String?
        let key: String
        if let publicKey {
            key = publicKey.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            let generated = SSHKeys.generateEd25519(comment: "Generated-by-Updraft")
            key = generated.publicKey
            privateKey = generated.privateKey
        }
        let fingerprint = try SSHKeys.fingerprint(key, type: type)
        let limit = try await quotaLimits(projectID ?? "")["key_pairs"] ?? -1
        var keypair = try await database.write { db in
            if limit >= 0 {
                let used =
                    try await db.raw("SELECT COUNT(*) AS n FROM keypairs WHERE user_id = \(bind: userID)").first()?
                    .int("n") ?? 0
                if used + 1 > limit {
                    throw UpdraftError.forbidden("Quota exceeded, too many key pairs.")
                }
            }
            if try await db.raw("SELECT id FROM keypairs WHERE user_id = \(bind: userID) AND name = \(bind: name)").first()
                != nil
            {
                throw UpdraftError.conflict("Key pair '\(name)' already exists.")
            }
            let id = try await db.nextValue("id", of: "keypairs")
            let pair = Keypair(
                name: name, userID: userID, publicKey: key, fingerprint: fingerprint, type: type, createdAt: self.now, id: id)
            try await db.raw(
                """
                INSERT INTO keypairs (id, user_id, name, public_key, fingerprint, type, created_at)
                VALUES (\(bind: id), \(bind: userID), \(bind: name), \(bind: key), \(bind: fingerprint), \(bind: type),
                  \(bind: pair.createdAt.timeIntervalSince1970))
                """
            ).run()
            return pair
        }
        keypair.privateKey = privateKey
        return keypair
    }

    public func deleteKeypair(_ name: String, userID: String) async throws {
        try await database.write { db in
            _ = try await Self.keypair(name, userID: userID, db)
            try await db.raw("DELETE FROM keypairs WHERE user_id = \(bind: userID) AND name = \(bind: name)").run()
        }
    }
}

/// OpenSSH key formats: parsing public keys, MD5 fingerprints as Nova shows them, and
/// generating Ed25519 pairs in `openssh-key-v1` form.
enum SSHKeys {
    /// `aa:bb:...`, the MD5 of the key blob; a 400 when the key does not parse.
    static func fingerprint(_ publicKey: String, type: String) throws -> String {
        guard type == "ssh" || type == "x509" else {
            throw UpdraftError.badRequest("Invalid input for field/attribute type. Value: \(type).")
        }
        let parts = publicKey.split(separator: " ", omittingEmptySubsequences: true)
        guard type == "ssh", parts.count >= 2, let blob = Data(base64Encoded: String(parts[1])), blob.count > 4 else {
            throw UpdraftError.badRequest("Keypair data is invalid: failed to generate fingerprint")
        }
        let length = blob.prefix(4).reduce(0) { $0 << 8 | Int($1) }
        guard length > 0, length + 4 <= blob.count,
            String(data: blob.subdata(in: 4..<(4 + length)), encoding: .utf8) == String(parts[0])
        else {
            throw UpdraftError.badRequest("Keypair data is invalid: failed to generate fingerprint")
        }
        return Insecure.MD5.hash(data: blob).hexString(separator: ":")
    }

    static func generateEd25519(comment: String) -> (publicKey: String, privateKey: String) {
        let key = Curve25519.Signing.PrivateKey()
        let pk = key.publicKey.rawRepresentation
        var blob = Data()
        blob.appendSSHString(Data("ssh-ed25519".utf8))
        blob.appendSSHString(pk)
        let check = UInt32.random(in: .min ... .max)
        var secret = Data()
        secret.appendUInt32(check)
        secret.appendUInt32(check)
        secret.appendSSHString(Data("ssh-ed25519".utf8))
        secret.appendSSHString(pk)
        secret.appendSSHString(key.rawRepresentation + pk)
        secret.appendSSHString(Data(comment.utf8))
        var pad: UInt8 = 1
        while secret.count % 8 != 0 {
            secret.append(pad)
            pad += 1
        }
        var body = Data("openssh-key-v1".utf8) + Data([0])
        body.appendSSHString(Data("none".utf8))
        body.appendSSHString(Data("none".utf8))
        body.appendSSHString(Data())
        body.appendUInt32(1)
        body.appendSSHString(blob)
        body.appendSSHString(secret)
        let encoded = body.base64EncodedString()
        var lines = ["-----BEGIN OPENSSH PRIVATE KEY-----"]
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 70, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[index..<end]))
            index = end
        }
        lines.append("-----END OPENSSH PRIVATE KEY-----")
        return ("ssh-ed25519 \(blob.base64EncodedString()) \(comment)", lines.joined(separator: "\n") + "\n")
    }
}

extension Data {
    fileprivate mutating func appendUInt32(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)])
    }

    fileprivate mutating func appendSSHString(_ value: Data) {
        appendUInt32(UInt32(value.count))
        append(value)
    }
}
