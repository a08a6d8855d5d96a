import SQLKit
import UpdraftCore
import UpdraftDatabase

/// The reaper's round: objects past their `X-Delete-At`, and blobs that replaced or deleted
/// objects left behind when a crash came between the record's change and the unlink.
extension ObjectStorageService {
    /// Removes up to `batch` expired objects and `batch` garbage blobs; returns how many of each.
    @discardableResult
    public func reap(batch: Int = 1000) async throws(UpdraftError) -> (expired: Int, blobs: Int) {
        let now = Self.now
        let expired = try await write { db in
            let rows = try await db.raw(
                """
                SELECT container_id, name FROM object_entries WHERE delete_at IS NOT NULL AND delete_at <= \(bind: now)
                LIMIT \(unsafeRaw: String(batch))
                """
            ).all()
            var blobs: [String] = []
            for row in rows {
                if let old = try await Self.remove(try row.string("container_id"), try row.string("name"), db),
                    let blob = old.blob
                {
                    blobs.append(blob)
                }
            }
            return blobs
        }
        for blob in expired { await blobs.remove(blob) }
        let garbage = try await read { db in
            try await db.raw("SELECT blob FROM object_garbage LIMIT \(unsafeRaw: String(batch))").all().map {
                try $0.string("blob")
            }
        }
        for blob in garbage { await blobs.remove(blob) }
        if !garbage.isEmpty {
            try await write { db in
                for blob in garbage { try await db.raw("DELETE FROM object_garbage WHERE blob = \(bind: blob)").run() }
            }
        }
        if !expired.isEmpty {
            logger.info("expired objects removed", metadata: ["count": "\(expired.count)"])
        }
        return (expired.count, garbage.count)
    }
}
