import Foundation
import NIOCore
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Objects: read, write, copy, change, delete.
extension ObjectStorageService {
    /// What a PUT (or the destination of a copy) says about the object besides its bytes.
    public struct ObjectWrite: Sendable {
        /// `Content-Type`; guessed from the name's extension when nil.
        public var contentType: String?
        /// Every `X-Object-Meta-*` the object will have.
        public var metadata: Metadata = [:]
        /// `content-disposition`, `content-encoding`.
        public var headers: [String: String] = [:]
        public var deleteAt: Double?
        /// The MD5 the client sent in `ETag`: 422 when the bytes differ.
        public var expectedETag: String?
        /// `X-Object-Manifest: container/prefix` makes a dynamic large object.
        public var manifest: String?
        /// `If-None-Match: *`: 412 when the object exists.
        public var ifNoneMatchAny = false
        /// `Content-Length`, when the client sent one, for the quota check before the bytes.
        public var contentLength: Int64?

        public init() {}
    }

    /// Checks an object name: 1 to 1024 bytes of any UTF-8.
    func checkObjectName(_ name: String) throws(UpdraftError) {
        if name.isEmpty { throw .badRequest("Object name cannot be empty") }
        if name.utf8.count > limits.maxObjectNameLength {
            throw .badRequest("Object name length of \(name.utf8.count) longer than \(limits.maxObjectNameLength)")
        }
    }

    /// The object as `caller` may read it, with its container; 404 when missing or expired.
    /// Serves `HEAD /v1/AUTH_{project}/{container}/{object}`.
    public func object(_ project: String, _ containerName: String, _ name: String, caller: Caller)
        async throws(UpdraftError) -> (Container, StoredObject)
    {
        try checkContainerName(containerName)
        try checkObjectName(name)
        let (container, object) = try await read { db in
            let container = try await Self.existingContainer(project, containerName, db)
            return (container, try await Self.objectRow(container.id, name, db))
        }
        try authorize(caller, project: project, container: container, .readObject)
        guard let object, !Self.expired(object) else { throw .notFound("The resource could not be found.") }
        return (container, object)
    }

    static func expired(_ object: StoredObject) -> Bool {
        object.deleteAt.map { $0 <= now } ?? false
    }

    static func objectRow(_ containerID: String, _ name: String, _ db: any SQLDatabase) async throws -> StoredObject? {
        try await db.raw("SELECT * FROM object_entries WHERE container_id = \(bind: containerID) AND name = \(bind: name)")
            .first().map(object)
    }

    /// The bytes a GET returns: the blob, or a large object's segments (`caller` must be able
    /// to read the segments' containers too). A plain object's blob is opened now, so a
    /// replacement that lands meanwhile does not cut the download short.
    public func body(_ project: String, of object: StoredObject, caller: Caller) async throws(UpdraftError) -> ObjectBody {
        switch object.kind {
        case .plain:
            guard let blob = object.blob else { return ObjectBody(parts: [], blobs: blobs) }
            let reader = try await blobs.open(blob)
            return ObjectBody(parts: ObjectBody.Part.all(blob, size: reader.size, reader: reader), blobs: blobs)
        case .dynamic:
            return try await dynamicBody(project, manifest: object.manifest ?? "", caller: caller)
        case .static:
            return try await staticBody(project, of: object)
        }
    }

    /// Streams `bytes` into a new object (replacing any of that name) and returns it once it
    /// is durable and listed. Serves `PUT /v1/AUTH_{project}/{container}/{object}`.
    public func putObject<Bytes: AsyncSequence>(
        _ project: String, _ containerName: String, _ name: String, _ write: ObjectWrite, bytes: Bytes, caller: Caller
    ) async throws(UpdraftError) -> StoredObject where Bytes.Element == ByteBuffer {
        try checkObjectName(name)
        let container = try await writableContainer(project, containerName, caller: caller)
        try checkWrite(write)
        if let length = write.contentLength {
            if length > limits.maxFileSize { throw .overLimit("Your request is too large.") }
            try await checkQuotas(container, adding: length, objects: 1)
        }
        let staged = try await blobs.stage(bytes, limit: limits.maxFileSize)
        if write.contentLength == nil {
            // A chunked upload is measured once it has arrived.
            do throws(UpdraftError) {
                try await checkQuotas(container, adding: staged.size, objects: 1)
            } catch {
                await blobs.discard(staged)
                throw error
            }
        }
        if let expected = write.expectedETag?.trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased(),
            expected != staged.md5
        {
            await blobs.discard(staged)
            // Swift answers 422; S3 calls it BadDigest (400).
            throw UpdraftError(
                .unprocessable, "The ETag you sent does not match the MD5 of the data Updraft received.", kind: "BadDigest")
        }
        let object = StoredObject(
            containerID: container.id, name: name, kind: write.manifest == nil ? .plain : .dynamic, blob: staged.id,
            blobSize: staged.size, size: staged.size, etag: staged.md5,
            contentType: write.contentType ?? Self.guessContentType(name), modifiedAt: Self.now, metadata: write.metadata,
            headers: write.headers, deleteAt: write.deleteAt, manifest: write.manifest)
        return try await commit(object, project: project, containerName: containerName, staged: staged, write: write)
    }

    /// The container a write goes to, when `caller` may write to it.
    func writableContainer(_ project: String, _ containerName: String, caller: Caller) async throws(UpdraftError)
        -> Container
    {
        try checkContainerName(containerName)
        let container = try await read { db in try await Self.existingContainer(project, containerName, db) }
        try authorize(caller, project: project, container: container, .writeObject)
        return container
    }

    func checkWrite(_ write: ObjectWrite) throws(UpdraftError) {
        try MetadataChange.check(write.metadata, kind: "object", limits: limits)
        if let deleteAt = write.deleteAt, deleteAt <= Self.now { throw .badRequest("X-Delete-At in past") }
        if let manifest = write.manifest, !manifest.contains("/") || manifest.hasPrefix("/") {
            throw .badRequest("X-Object-Manifest must be in the format container/prefix")
        }
    }

    /// 413 when `bytes` more (and `objects` more) would pass the container's or the account's
    /// quota, or the project's storage allocation.
    func checkQuotas(_ container: Container, adding bytes: Int64, objects: Int64) async throws(UpdraftError) {
        try Self.checkContainerQuota(container, bytes: bytes, objects: objects)
        let project = container.projectID
        let account = try await read { db in try await Self.account(project, db) }
        if let quota = account.metadata["quota-bytes"].flatMap(Int64.init), account.bytesUsed + bytes > quota {
            throw .overLimit("Upload exceeds quota.")
        }
        if let quota = account.metadata["quota-count"].flatMap(Int64.init), account.objectCount + objects > quota {
            throw .overLimit("Upload exceeds quota.")
        }
        try await storageAllowance?.authorizeStorage(projectID: project, adding: bytes)
    }

    /// Records `object` in place of any object of its name, publishes its staged blob and
    /// removes the replaced one's. The staged blob is discarded when the record is refused.
    func commit(
        _ object: StoredObject, project: String, containerName: String, staged: StagedBlob?, write: ObjectWrite
    ) async throws(UpdraftError) -> StoredObject {
        let replaced: String?
        do {
            replaced = try await self.write { db in
                let container = try await Self.existingContainer(project, containerName, db)
                guard container.id == object.containerID else {
                    throw UpdraftError.notFound("The resource could not be found.")
                }
                let old = try await Self.objectRow(container.id, object.name, db)
                if write.ifNoneMatchAny, let old, !Self.expired(old) {
                    throw UpdraftError.preconditionFailed("The object already exists.")
                }
                // A versioned container keeps the replaced object in its versions container.
                var kept = old
                if let current = old, try await Self.archive(current, of: container, db) {
                    kept = nil
                }
                let growth = object.blobSize - (kept?.blobSize ?? 0)
                let added: Int64 = kept == nil ? 1 : 0
                if growth > 0 || added > 0 {
                    try Self.checkContainerQuota(container, bytes: growth, objects: added)
                }
                if let kept {
                    try await db.raw(
                        "DELETE FROM object_entries WHERE container_id = \(bind: container.id) AND name = \(bind: object.name)"
                    ).run()
                    if let blob = kept.blob { try await Self.collectGarbage(blob, db) }
                }
                try await Self.insert(object, db)
                try await db.raw(
                    """
                    UPDATE object_containers SET object_count = object_count + \(bind: added),
                      bytes_used = bytes_used + \(bind: growth) WHERE id = \(bind: container.id)
                    """
                ).run()
                return kept?.blob
            }
        } catch {
            if let staged { await blobs.discard(staged) }
            throw Self.map(error)
        }
        if let staged { try await blobs.publish(staged) }
        if let replaced { await blobs.remove(replaced) }
        return object
    }

    static func checkContainerQuota(_ container: Container, bytes: Int64, objects: Int64) throws(UpdraftError) {
        if let quota = container.metadata["quota-bytes"].flatMap(Int64.init), container.bytesUsed + bytes > quota {
            throw .overLimit("Upload exceeds quota.")
        }
        if let quota = container.metadata["quota-count"].flatMap(Int64.init), container.objectCount + objects > quota {
            throw .overLimit("Upload exceeds quota.")
        }
    }

    static func insert(_ object: StoredObject, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO object_entries (container_id, name, kind, blob, blob_size, size, etag, content_type, modified_at,
              metadata, headers, delete_at, manifest)
            VALUES (\(bind: object.containerID), \(bind: object.name), \(bind: object.kind.rawValue), \(bind: object.blob),
              \(bind: object.blobSize), \(bind: object.size), \(bind: object.etag), \(bind: object.contentType),
              \(bind: object.modifiedAt), \(bind: encode(object.metadata)), \(bind: encode(object.headers)),
              \(bind: object.deleteAt), \(bind: object.manifest))
            """
        ).run()
    }

    /// Notes a blob no record holds any more, so the reaper removes it if the process dies
    /// before it is unlinked.
    static func collectGarbage(_ blob: String, _ db: any SQLDatabase) async throws {
        try await db.raw("DELETE FROM object_garbage WHERE blob = \(bind: blob)").run()
        try await db.raw("INSERT INTO object_garbage (blob, at) VALUES (\(bind: blob), \(bind: now))").run()
    }

    /// Copies an object's bytes (a large object's whole content) and, unless `fresh`, its
    /// metadata to another name, in this or another container and account.
    /// Serves `COPY` and `PUT` with `X-Copy-From`.
    public func copyObject(
        from source: (project: String, container: String, name: String),
        to target: (project: String, container: String, name: String), _ write: ObjectWrite, fresh: Bool,
        caller: Caller
    ) async throws(UpdraftError) -> (source: StoredObject, copy: StoredObject) {
        let (_, original) = try await object(source.project, source.container, source.name, caller: caller)
        let body = try await self.body(source.project, of: original, caller: caller)
        var merged = write
        if !fresh {
            merged.metadata = original.metadata.merging(write.metadata) { _, new in new }
            merged.headers = original.headers.merging(write.headers) { _, new in new }
        }
        if merged.contentType == nil { merged.contentType = original.contentType }
        merged.expectedETag = nil
        merged.contentLength = body.size
        let copy = try await putObject(
            target.project, target.container, target.name, merged, bytes: body.chunks, caller: caller)
        return (original, copy)
    }

    /// What a POST changes on an object: all of its custom metadata, and optionally its type,
    /// stored headers and expiry. Serves `POST /v1/AUTH_{project}/{container}/{object}`.
    public func updateObject(
        _ project: String, _ containerName: String, _ name: String, metadata: Metadata, contentType: String?,
        headers: [String: String], deleteAt: Double??, manifest: String?, caller: Caller
    ) async throws(UpdraftError) {
        try checkObjectName(name)
        let container = try await writableContainer(project, containerName, caller: caller)
        try MetadataChange.check(metadata, kind: "object", limits: limits)
        if let deleteAt = deleteAt ?? nil, deleteAt <= Self.now { throw .badRequest("X-Delete-At in past") }
        try await write { db in
            guard var object = try await Self.objectRow(container.id, name, db), !Self.expired(object) else {
                throw UpdraftError.notFound("The resource could not be found.")
            }
            object.metadata = metadata
            if let contentType { object.contentType = contentType }
            object.headers = object.headers.merging(headers) { _, new in new }.filter { !$0.value.isEmpty }
            if let deleteAt { object.deleteAt = deleteAt }
            // `X-Object-Manifest` on a POST makes the object a dynamic large object (empty: plain again).
            if let manifest, object.kind != .static {
                object.kind = manifest.isEmpty ? .plain : .dynamic
                object.manifest = manifest.isEmpty ? nil : manifest
            }
            object.modifiedAt = Self.now
            try await db.raw(
                """
                UPDATE object_entries SET metadata = \(bind: Self.encode(object.metadata)),
                  content_type = \(bind: object.contentType), headers = \(bind: Self.encode(object.headers)),
                  delete_at = \(bind: object.deleteAt), modified_at = \(bind: object.modifiedAt),
                  kind = \(bind: object.kind.rawValue), manifest = \(bind: object.manifest)
                WHERE container_id = \(bind: container.id) AND name = \(bind: name)
                """
            ).run()
        }
    }

    /// Deletes an object. Serves `DELETE /v1/AUTH_{project}/{container}/{object}`.
    @discardableResult
    public func deleteObject(_ project: String, _ containerName: String, _ name: String, caller: Caller)
        async throws(UpdraftError) -> StoredObject
    {
        try checkObjectName(name)
        _ = try await writableContainer(project, containerName, caller: caller)
        let removed = try await write { db in
            let container = try await Self.existingContainer(project, containerName, db)
            return try await Self.removeVersioned(container, name, db)
        }
        guard let removed else { throw .notFound("The resource could not be found.") }
        if let blob = removed.blob { await blobs.remove(blob) }
        if Self.expired(removed) { throw .notFound("The resource could not be found.") }
        return removed
    }

    /// Deletes the record of an object inside a write, keeping the container's totals;
    /// returns it, or nil when there was none. The blob is left to the caller (and the reaper).
    static func remove(_ containerID: String, _ name: String, _ db: any SQLDatabase) async throws -> StoredObject? {
        guard let old = try await objectRow(containerID, name, db) else { return nil }
        try await db.raw("DELETE FROM object_entries WHERE container_id = \(bind: containerID) AND name = \(bind: name)")
            .run()
        try await db.raw(
            """
            UPDATE object_containers SET object_count = object_count - 1, bytes_used = bytes_used - \(bind: old.blobSize)
            WHERE id = \(bind: containerID)
            """
        ).run()
        if let blob = old.blob { try await collectGarbage(blob, db) }
        return old
    }

    /// The type Swift would guess from a name's extension when a PUT sends none.
    static func guessContentType(_ name: String) -> String {
        let ext = (name as NSString).pathExtension.lowercased()
        let types = [
            "txt": "text/plain", "html": "text/html", "htm": "text/html", "css": "text/css", "csv": "text/csv",
            "json": "application/json", "xml": "application/xml", "js": "application/javascript", "pdf": "application/pdf",
            "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "svg": "image/svg+xml",
            "gz": "application/gzip", "tgz": "application/gzip", "tar": "application/x-tar", "zip": "application/zip",
            "bz2": "application/x-bzip2", "xz": "application/x-xz", "iso": "application/x-iso9660-image",
            "qcow2": "application/octet-stream", "py": "text/x-python", "md": "text/markdown", "ipynb": "application/json",
        ]
        return types[ext] ?? "application/octet-stream"
    }
}
