import Foundation

/// An SSH key pair; Nova keeps only the public key (a generated private key is returned once).
public struct Keypair: Sendable, Equatable {
    public var name: String
    public var userID: String
    public var publicKey: String
    public var fingerprint: String
    /// `ssh` or `x509`.
    public var type: String
    public var createdAt: Date
    public var id: Int
    /// Set only in the answer to a create that generated the key.
    public var privateKey: String?

    public init(
        name: String, userID: String, publicKey: String, fingerprint: String, type: String, createdAt: Date, id: Int,
        privateKey: String? = nil
    ) {
        self.name = name
        self.userID = userID
        self.publicKey = publicKey
        self.fingerprint = fingerprint
        self.type = type
        self.createdAt = createdAt
        self.id = id
        self.privateKey = privateKey
    }
}
