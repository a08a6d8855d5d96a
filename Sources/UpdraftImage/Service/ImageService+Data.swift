import Foundation
import NIOCore
import SQLKit
import UpdraftCore
import UpdraftDatabase

#if canImport(Glibc)
    import Glibc
#endif

/// Image bytes: upload, download, import, and the reconciliation after a crash.
extension ImageService {
    /// Where a finished image's bytes are read from.
    public struct Download: Sendable {
        public var path: String
        public var size: Int64
        /// Hex MD5, sent as `Content-MD5`.
        public var checksum: String?
    }

    /// Creates the data directory (0700) and repairs what a crash left: partial files are
    /// removed; an image left in `saving` goes back to `queued` when its bytes never made it
    /// into place, or becomes `active` (checksums recomputed) when they did. Call once at start.
    public func start() async throws(UpdraftError) {
        if mkdir(directory, 0o700) != 0, errno != EEXIST {
            throw .internal("cannot create image directory \(directory): \(String(cString: strerror(errno)))")
        }
        chmod(directory, 0o700)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for entry in entries where entry.hasSuffix(".partial") {
            unlink(directory + "/" + entry)
        }
        let stuck = try await read { db in
            try await db.raw("SELECT * FROM images WHERE status = 'saving'").all().map(Self.image)
        }
        for image in stuck {
            let path = finalPath(image.id)
            if access(path, F_OK) == 0, let digest = try? ImageDataWriter.digest(ofFile: path) {
                try await finishSaving(image.id, digest: digest, path: path)
                logger.notice("image finished after restart", metadata: ["image_id": "\(image.id)"])
            } else {
                try await write { db in
                    try await db.raw(
                        "UPDATE images SET status = 'queued' WHERE id = \(bind: image.id) AND status = 'saving'"
                    ).run()
                }
                logger.notice("interrupted upload reset to queued", metadata: ["image_id": "\(image.id)"])
            }
        }
    }

    /// The on-disk path of an active (or deactivated) image's bytes; nil when it has none.
    public func dataPath(of image: Image) -> String? {
        guard image.status == .active || image.status == .deactivated else { return nil }
        let path = finalPath(image.id)
        return access(path, R_OK) == 0 ? path : nil
    }

    func finalPath(_ id: String) -> String { directory + "/" + id }

    func temporaryPath(_ id: String) -> String { directory + "/" + id + "." + UUID().uuidString.lowercased() + ".partial" }

    /// Streams `data` to disk in constant memory, hashing as it goes, then marks the image
    /// `active`. The image must be `queued`; it is `saving` meanwhile and back to `queued`
    /// when the stream fails (a client that hangs up leaves no active half image), or when
    /// its owner's storage allocation refuses its bytes (413). Serves `PUT /v2/images/{id}/file`.
    public func upload(
        _ id: String, data: some AsyncSequence<ByteBuffer, any Error>, caller: AuthContext
    ) async throws(UpdraftError) -> Image {
        let owner = try await claim(id, caller: caller).owner
        var writer: ImageDataWriter
        do {
            // Refused at once when the allocation is already full, before any byte is read.
            try await allowStorage(owner, bytes: 0)
            writer = try ImageDataWriter(temporaryPath: temporaryPath(id))
        } catch {
            await release(id)
            throw error
        }
        do {
            for try await chunk in data { try writer.write(chunk) }
            try await allowStorage(owner, bytes: writer.size)
        } catch {
            writer.discard()
            await release(id)
            logger.notice("image upload interrupted", metadata: ["image_id": "\(id)", "error": "\(error)"])
            if let error = error as? UpdraftError { throw error }
            throw .badRequest("The image upload was interrupted: \(error)")
        }
        let path = finalPath(id)
        let digest: ImageDataWriter.Digest
        do {
            digest = try writer.finish(movingTo: path)
        } catch {
            await release(id)
            throw error
        }
        return try await finishSaving(id, digest: digest, path: path)
    }

    /// Brings a local file in as the image's bytes (moved when on the same filesystem, else
    /// copied) and marks the image `active`. For snapshots, shelving and built-in images; the
    /// image must be `queued`.
    public func importFile(_ id: String, from path: String) async throws(UpdraftError) -> Image {
        try await ingest(id, from: path, move: true)
    }

    func ingest(_ id: String, from source: String, move: Bool) async throws(UpdraftError) -> Image {
        try await claim(id, caller: .system)
        let path = finalPath(id)
        let digest: ImageDataWriter.Digest
        do throws(UpdraftError) {
            if move, rename(source, path) == 0 {
                DurableFile.syncDirectory(of: path)
                digest = try ImageDataWriter.digest(ofFile: path)
            } else {
                guard !move || errno == EXDEV else {
                    throw .badRequest("cannot import \(source): \(String(cString: strerror(errno)))")
                }
                digest = try ImageDataWriter.copy(source, to: path, temporaryPath: temporaryPath(id))
                if move { unlink(source) }
            }
        } catch {
            unlink(path)
            await release(id)
            throw error
        }
        return try await finishSaving(id, digest: digest, path: path)
    }

    /// Where to read the bytes for `caller`, or nil for an image with no data (204).
    /// Serves `GET /v2/images/{id}/file`.
    public func download(_ id: String, caller: AuthContext) async throws(UpdraftError) -> Download? {
        let image = try await image(id, caller: caller)
        if image.status == .deactivated, !Policy.isAdmin(caller) {
            throw .forbidden("The requested image has been deactivated. Image data download is forbidden.")
        }
        guard image.status == .active || image.status == .deactivated, let path = dataPath(of: image) else { return nil }
        return Download(path: path, size: image.size ?? 0, checksum: image.checksum)
    }

    /// `queued` → `saving`, refused (409) for any other state.
    @discardableResult
    private func claim(_ id: String, caller: AuthContext) async throws(UpdraftError) -> Image {
        try await write { db in
            var image = try await Self.changeableImage(id, caller: caller, db)
            guard image.status == .queued else {
                throw UpdraftError.conflict("Image status transition from \(image.status.rawValue) to saving is not allowed")
            }
            image.status = .saving
            return try await Self.save(image, db)
        }
    }

    /// Asks the owner's storage allocation before an upload's `bytes` are kept.
    private func allowStorage(_ owner: String?, bytes: Int64) async throws(UpdraftError) {
        guard let owner else { return }
        try await storageAllowance?.authorizeStorage(projectID: owner, adding: bytes)
    }

    /// `saving` → `queued` after a failed transfer.
    private func release(_ id: String) async {
        do {
            try await write { db in
                try await db.raw("UPDATE images SET status = 'queued' WHERE id = \(bind: id) AND status = 'saving'").run()
            }
        } catch {
            logger.error("cannot reset image to queued", metadata: ["image_id": "\(id)", "error": "\(error)"])
        }
    }

    /// Records the digest and marks the image `active` in one transaction; when the image
    /// was deleted meanwhile the bytes are removed and the caller told.
    @discardableResult
    private func finishSaving(_ id: String, digest: ImageDataWriter.Digest, path: String) async throws(UpdraftError) -> Image {
        do {
            return try await write { db in
                var image = try await Self.row(id, db, lock: true)
                guard image.status == .saving else {
                    throw UpdraftError.conflict("Image \(id) changed state to \(image.status.rawValue) during the upload.")
                }
                image.status = .active
                image.checksum = digest.md5
                image.hashAlgorithm = "sha512"
                image.hashValue = digest.sha512
                image.size = digest.size
                image.virtualSize = ImageDataWriter.virtualSize(ofFile: path, diskFormat: image.diskFormat, size: digest.size)
                return try await Self.save(image, db)
            }
        } catch {
            unlink(path)
            if error.code == .notFound { throw .conflict("Image \(id) was deleted during the upload.") }
            throw error
        }
    }
}
