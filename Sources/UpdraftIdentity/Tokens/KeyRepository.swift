@preconcurrency import Crypto
import Foundation
import UpdraftCore

/// A rotating set of 256-bit symmetric keys in one 0700 directory, as Keystone's fernet
/// repository: file `0` is the staged key, the highest number the primary (used to
/// encrypt), the others secondary (still accepted to decrypt until rotated out).
public struct KeyRepository: Sendable {
    public struct Configuration: Sendable {
        public var directory: String
        /// Keys kept after a rotation, staged and primary included (Keystone's `max_active_keys`).
        public var maxActiveKeys: Int = 3

        public init(directory: String, maxActiveKeys: Int = 3) {
            self.directory = directory
            self.maxActiveKeys = maxActiveKeys
        }
    }

    public let configuration: Configuration
    /// The primary key first, then the others newest first.
    public let keys: [SymmetricKey]

    /// Loads the repository, creating the staged and the primary key when it is empty.
    public static func open(_ configuration: Configuration) throws -> KeyRepository {
        let fm = FileManager.default
        try fm.createDirectory(
            atPath: configuration.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if try indices(in: configuration.directory).isEmpty {
            try writeKey(index: 0, in: configuration.directory)
            try writeKey(index: 1, in: configuration.directory)
        }
        return try KeyRepository(configuration: configuration)
    }

    private init(configuration: Configuration) throws {
        self.configuration = configuration
        let indices = try Self.indices(in: configuration.directory).sorted(by: >)
        keys = try indices.map { index in
            let text = try String(contentsOfFile: "\(configuration.directory)/\(index)", encoding: .utf8)
            guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
                throw UpdraftError.internal("key file \(configuration.directory)/\(index) is not a 256-bit base64 key")
            }
            return SymmetricKey(data: data)
        }
        guard keys.count >= 2 else {
            throw UpdraftError.internal("key repository \(configuration.directory) needs a staged and a primary key")
        }
    }

    /// Promotes the staged key to primary, stages a new one and drops the oldest beyond the limit.
    public static func rotate(_ configuration: Configuration) throws -> KeyRepository {
        let directory = configuration.directory
        let indices = try Self.indices(in: directory).sorted()
        let next = (indices.last ?? 0) + 1
        try FileManager.default.moveItem(atPath: "\(directory)/0", toPath: "\(directory)/\(next)")
        try writeKey(index: 0, in: directory)
        let secondaries = (indices.filter { $0 != 0 } + [next]).sorted()
        for old in secondaries.dropLast(max(1, configuration.maxActiveKeys - 1)) {
            try FileManager.default.removeItem(atPath: "\(directory)/\(old)")
        }
        return try KeyRepository(configuration: configuration)
    }

    /// Identifies the key set (a digest of every key in order), to notice a rotation.
    public var fingerprint: String {
        var hasher = SHA256()
        for key in keys { key.withUnsafeBytes { hasher.update(bufferPointer: $0) } }
        return hasher.finalize().hexString
    }

    private static func indices(in directory: String) throws -> [Int] {
        try FileManager.default.contentsOfDirectory(atPath: directory).compactMap { Int($0) }
    }

    private static func writeKey(index: Int, in directory: String) throws {
        let key = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
        let path = "\(directory)/\(index)"
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(key.utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw UpdraftError.internal("cannot write key file \(temporary)")
        }
        try FileManager.default.moveItem(atPath: temporary, toPath: path)
    }
}
