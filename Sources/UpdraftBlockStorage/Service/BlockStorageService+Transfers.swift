import Crypto
import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Volume transfers: a project offers an available volume (it waits `awaiting-transfer`),
/// and a member of another project who has the transfer's id and key takes it, with its
/// snapshots unless the offer left them out.
extension BlockStorageService {
    /// Hex digits in a transfer's key and its salt, as Cinder makes them
    /// (`volume_transfer_key_length`, `volume_transfer_salt_length`).
    static let transferKeyLength = 16
    static let transferSaltLength = 8

    static func transferNotFound(_ id: String) -> UpdraftError {
        UpdraftError(.notFound, "Transfer \(id) could not be found.")
    }

    // MARK: Reads

    /// Serves `GET /volume-transfers/{id}` (and `os-volume-transfer/{id}`): a transfer of
    /// the caller's project, or any for an administrator. The project that may accept it
    /// does not see it.
    public func transfer(_ id: String, caller: AuthContext) async throws -> VolumeTransfer {
        guard let transfer = try await database.read({ db in try await Self.transfers(where: "id = \(bind: id)", db).first }),
            Self.sees(caller, transfer.projectID)
        else { throw Self.transferNotFound(id) }
        return transfer
    }

    /// Serves `GET /volume-transfers[/detail]`: the caller's project's, or every project's
    /// for an administrator who asks (`all_tenants`, `all_projects`).
    public func transfers(allProjects: Bool, caller: AuthContext) async throws -> [VolumeTransfer] {
        if Policy.isAdmin(caller) && allProjects {
            return try await database.read { db in try await Self.transfers(where: "1 = 1", db) }
        }
        let project = try Self.project(of: caller)
        return try await database.read { db in try await Self.transfers(where: "project_id = \(bind: project)", db) }
    }

    // MARK: Offer and withdraw

    /// Serves `POST /volume-transfers`: offers an available volume, which waits
    /// `awaiting-transfer` until the transfer is accepted or deleted. The answer alone
    /// carries the key; only a salted hash of it is kept.
    public func createTransfer(volumeID: String, name: String?, noSnapshots: Bool, caller: AuthContext) async throws
        -> VolumeTransfer
    {
        let volume = try await volumeToChange(volumeID, caller: caller)
        try VolumeAction.transfer.check(volume.status, volume: volumeID)
        let name = name?.trimmingCharacters(in: .whitespaces)
        if let name, name.count > 255 {
            throw UpdraftError(.badRequest, "Invalid input received: Transfer name must be at most 255 characters.")
        }
        let key = Self.randomHex(Self.transferKeyLength)
        let salt = Self.randomHex(Self.transferSaltLength)
        let transfer = VolumeTransfer(
            id: UUID().uuidString.lowercased(), volumeID: volumeID, projectID: volume.projectID, name: name,
            noSnapshots: noSnapshots, createdAt: Date(timeIntervalSince1970: Self.now.timeIntervalSince1970.rounded(.down)),
            authKey: key)
        try await database.transaction { db in
            if !noSnapshots {
                let snapshots = try await VolumeRepository.snapshots(where: "volume_id = \(bind: volumeID)", db)
                if let busy = snapshots.first(where: { $0.status != .available }) {
                    throw UpdraftError(
                        .badRequest,
                        "Invalid snapshot: Snapshot \(busy.id) of volume \(volumeID) is \(busy.status.rawValue); every snapshot must be available to transfer them with the volume."
                    )
                }
            }
            guard try await VolumeRepository.setStatus(volumeID, .awaitingTransfer, from: [.available], db) else {
                throw UpdraftError(.badRequest, "Invalid volume: Volume \(volumeID) changed status; try again.")
            }
            try await db.raw(
                """
                INSERT INTO volume_transfers (id, volume_id, project_id, user_id, name, salt, crypt_hash, no_snapshots,
                  created_at)
                VALUES (\(bind: transfer.id), \(bind: volumeID), \(bind: volume.projectID), \(bind: caller.userID),
                  \(bind: name), \(bind: salt), \(bind: Self.keyHash(key, salt: salt)), \(bind: noSnapshots),
                  \(bind: transfer.createdAt.timeIntervalSince1970))
                """
            ).run()
        }
        logger.info("volume offered for transfer", metadata: ["volume": "\(volumeID)", "transfer": "\(transfer.id)"])
        return transfer
    }

    /// Serves `DELETE /volume-transfers/{id}`: withdraws the offer; the volume is available again.
    public func deleteTransfer(_ id: String, caller: AuthContext) async throws {
        let transfer = try await transfer(id, caller: caller)
        try Self.authorizeChange(caller, transfer.projectID)
        try await database.transaction { db in
            guard try await db.raw("DELETE FROM volume_transfers WHERE id = \(bind: id) RETURNING id").all().count == 1
            else { throw Self.transferNotFound(id) }
            try await VolumeRepository.setStatus(transfer.volumeID, .available, from: [.awaitingTransfer], db)
        }
    }

    // MARK: Accept

    /// Serves `POST /volume-transfers/{id}/accept`: with the right key (400 otherwise), the
    /// volume and, unless the offer left them out, its snapshots become the caller's
    /// project's and user's, within that project's quota (413); the volume is available
    /// there and the transfer is gone.
    public func acceptTransfer(_ id: String, authKey: String, caller: AuthContext) async throws -> VolumeTransfer {
        let project = try Self.project(of: caller)
        try Self.authorizeChange(caller, project)
        try await allowStorage(project, gigabytes: try await gigabytes(accepting: id, authKey: authKey))
        let transfer = try await database.transaction { db in
            // Removing the row claims it: a second accept waits for this one and then finds
            // nothing. Any refusal below rolls the removal back.
            let rows = try await db.raw(
                "DELETE FROM volume_transfers WHERE id = \(bind: id) RETURNING \(unsafeRaw: Self.transferColumns)"
            ).all()
            guard let row = rows.first else { throw Self.transferNotFound(id) }
            let transfer = try Self.transfer(row)
            guard Self.keyMatches(authKey, salt: try row.string("salt"), hash: try row.string("crypt_hash")) else {
                throw UpdraftError(.badRequest, "Invalid auth key: Attempt to transfer \(id) with invalid auth key.")
            }
            guard let volume = try await VolumeRepository.find(transfer.volumeID, db), volume.status == .awaitingTransfer
            else {
                throw UpdraftError(.badRequest, "Invalid volume: Volume \(transfer.volumeID) is not awaiting transfer.")
            }
            let snapshots = try await Self.snapshots(going: transfer, db)
            var adding = ["volumes": 1, "gigabytes": Self.gigabytes(volume, snapshots)]
            if !snapshots.isEmpty { adding["snapshots"] = snapshots.count }
            try await self.checkQuota(project: project, type: volume.typeName, adding: adding, volumeSize: volume.size, db)
            let now = Self.now.timeIntervalSince1970
            try await db.raw(
                """
                UPDATE volumes SET project_id = \(bind: project), user_id = \(bind: caller.userID),
                status = \(bind: VolumeStatus.available.rawValue), updated_at = \(bind: now) WHERE id = \(bind: volume.id)
                """
            ).run()
            if !snapshots.isEmpty {
                try await db.raw(
                    """
                    UPDATE volume_snapshots SET project_id = \(bind: project), user_id = \(bind: caller.userID),
                    updated_at = \(bind: now) WHERE volume_id = \(bind: volume.id)
                    """
                ).run()
            }
            return transfer
        }
        logger.info(
            "volume transferred",
            metadata: [
                "volume": "\(transfer.volumeID)", "transfer": "\(id)", "from": "\(transfer.projectID)", "to": "\(project)",
            ])
        return transfer
    }

    /// What accepting transfer `id` with `authKey` would add to the taker's gigabytes: its
    /// volume and the snapshots that go with it; 0 when the key is wrong or the transfer gone
    /// (the accept itself says so).
    private func gigabytes(accepting id: String, authKey: String) async throws -> Int {
        try await database.read { db in
            guard
                let row = try await db.raw(
                    "SELECT \(unsafeRaw: Self.transferColumns) FROM volume_transfers WHERE id = \(bind: id)"
                ).first(),
                Self.keyMatches(authKey, salt: try row.string("salt"), hash: try row.string("crypt_hash"))
            else { return 0 }
            let transfer = try Self.transfer(row)
            guard let volume = try await VolumeRepository.find(transfer.volumeID, db) else { return 0 }
            return Self.gigabytes(volume, try await Self.snapshots(going: transfer, db))
        }
    }

    /// The snapshots that go with `transfer`'s volume: all of them, unless the offer left them out.
    static func snapshots(going transfer: VolumeTransfer, _ db: any SQLDatabase) async throws -> [VolumeSnapshot] {
        guard !transfer.noSnapshots else { return [] }
        return try await VolumeRepository.snapshots(where: "volume_id = \(bind: transfer.volumeID)", db)
    }

    /// The gigabytes a volume and its snapshots hold, as Cinder's `gigabytes` quota counts them.
    static func gigabytes(_ volume: Volume, _ snapshots: [VolumeSnapshot]) -> Int {
        volume.size + snapshots.reduce(0) { $0 + $1.size }
    }

    // MARK: Rows and keys

    static let transferColumns = "id, volume_id, project_id, name, salt, crypt_hash, no_snapshots, created_at"

    static func transfer(_ row: any SQLRow) throws -> VolumeTransfer {
        VolumeTransfer(
            id: try row.string("id"), volumeID: try row.string("volume_id"), projectID: try row.string("project_id"),
            name: try row.optionalString("name"), noSnapshots: try row.bool("no_snapshots"),
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")))
    }

    /// Transfers matching `condition`, oldest first.
    static func transfers(where condition: SQLQueryString, _ db: any SQLDatabase) async throws -> [VolumeTransfer] {
        try await db.raw(
            """
            SELECT \(unsafeRaw: transferColumns) FROM volume_transfers WHERE \(condition) ORDER BY created_at, id
            """
        ).all().map(transfer)
    }

    /// `count` random lowercase hex digits from the system's secure generator.
    static func randomHex(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<(count + 1) / 2).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return String(bytes.hexString.prefix(count))
    }

    /// What is kept of a key: HMAC-SHA256 under its salt, base64.
    static func keyHash(_ key: String, salt: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(key.utf8), using: SymmetricKey(data: Data(salt.utf8))))
            .base64EncodedString()
    }

    /// Whether `key` is the one `hash` was made from, compared in constant time.
    static func keyMatches(_ key: String, salt: String, hash: String) -> Bool {
        guard let expected = Data(base64Encoded: hash) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(
            expected, authenticating: Data(key.utf8), using: SymmetricKey(data: Data(salt.utf8)))
    }
}
