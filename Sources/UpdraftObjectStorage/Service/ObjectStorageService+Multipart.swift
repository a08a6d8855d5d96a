import Crypto
import Foundation
import NIOCore
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// S3 multipart uploads: parts are blobs recorded against the upload; completing joins them
/// into one plain object (readable by Swift as any other), whose S3 ETag is S3's
/// `md5(part md5s)-N`, kept beside the object's own MD5.
extension ObjectStorageService {
    /// The stored header that keeps an object's S3 ETag when it differs from its MD5.
    public static let s3ETagHeader = "x-object-sysmeta-s3-etag"

    /// An upload in progress.
    public struct Upload: Sendable {
        public var id: String
        public var name: String
        public var createdAt: Double
    }

    /// One uploaded part.
    public struct Part: Sendable {
        public var number: Int
        public var size: Int64
        /// Hex MD5 of the part's bytes.
        public var etag: String
        public var modifiedAt: Double
        var blob: String
    }

    /// The smallest part S3 accepts, other than the last.
    public static let minimumPartSize: Int64 = 5 * 1024 * 1024

    /// Starts an upload of `name`; what `write` says applies to the object it completes into.
    /// Serves `POST /{bucket}/{key}?uploads`.
    public func createUpload(_ project: String, _ containerName: String, _ name: String, _ write: ObjectWrite, caller: Caller)
        async throws(UpdraftError) -> String
    {
        try checkObjectName(name)
        let container = try await writableContainer(project, containerName, caller: caller)
        try checkWrite(write)
        let id = Identifier.make()
        let contentType = write.contentType ?? Self.guessContentType(name)
        try await self.write { db in
            try await db.raw(
                """
                INSERT INTO object_uploads (id, container_id, name, created_at, content_type, metadata, headers)
                VALUES (\(bind: id), \(bind: container.id), \(bind: name), \(bind: Self.now), \(bind: contentType),
                  \(bind: Self.encode(write.metadata)), \(bind: Self.encode(write.headers)))
                """
            ).run()
        }
        return id
    }

    /// The upload, when it belongs to `name` in `containerName` and `caller` may write there; 404 (NoSuchUpload) otherwise.
    func upload(_ project: String, _ containerName: String, _ name: String, _ id: String, caller: Caller)
        async throws(UpdraftError) -> (Container, row: (contentType: String, metadata: Metadata, headers: [String: String]))
    {
        let container = try await writableContainer(project, containerName, caller: caller)
        let row = try await read { db in
            try await db.raw(
                "SELECT * FROM object_uploads WHERE id = \(bind: id) AND container_id = \(bind: container.id) AND name = \(bind: name)"
            ).first()
        }
        guard let row else {
            throw UpdraftError(
                .notFound,
                "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
                    + "aborted or completed.", kind: "NoSuchUpload")
        }
        do {
            return (
                container,
                (try row.string("content_type"), Self.decode(try row.string("metadata")), Self.decode(try row.string("headers")))
            )
        } catch {
            throw Self.map(error)
        }
    }

    /// Stores one part (replacing a part of that number). Serves `PUT ...?partNumber=N&uploadId=ID`.
    public func putPart<Bytes: AsyncSequence>(
        _ project: String, _ containerName: String, _ name: String, upload id: String, number: Int, bytes: Bytes,
        caller: Caller
    ) async throws(UpdraftError) -> Part where Bytes.Element == ByteBuffer {
        guard (1...10_000).contains(number) else {
            throw UpdraftError(
                .badRequest, "Part number must be an integer between 1 and 10000, inclusive.", kind: "InvalidArgument")
        }
        _ = try await upload(project, containerName, name, id, caller: caller)
        let staged = try await blobs.stage(bytes, limit: limits.maxFileSize)
        let part = Part(number: number, size: staged.size, etag: staged.md5, modifiedAt: Self.now, blob: staged.id)
        let replaced: String?
        do {
            replaced = try await write { db in
                guard try await db.raw("SELECT id FROM object_uploads WHERE id = \(bind: id)").first() != nil else {
                    throw UpdraftError(.notFound, "The specified upload does not exist.", kind: "NoSuchUpload")
                }
                let old = try await db.raw(
                    "SELECT blob FROM object_upload_parts WHERE upload_id = \(bind: id) AND part_number = \(bind: number)"
                ).first().map { try $0.string("blob") }
                if let old {
                    try await db.raw(
                        "DELETE FROM object_upload_parts WHERE upload_id = \(bind: id) AND part_number = \(bind: number)"
                    ).run()
                    try await Self.collectGarbage(old, db)
                }
                try await db.raw(
                    """
                    INSERT INTO object_upload_parts (upload_id, part_number, blob, size, etag, modified_at)
                    VALUES (\(bind: id), \(bind: number), \(bind: part.blob), \(bind: part.size), \(bind: part.etag),
                      \(bind: part.modifiedAt))
                    """
                ).run()
                return old
            }
        } catch {
            await blobs.discard(staged)
            throw Self.map(error)
        }
        try await blobs.publish(staged)
        if let replaced { await blobs.remove(replaced) }
        return part
    }

    /// The parts uploaded so far, by number. Serves `GET ...?uploadId=ID`.
    public func parts(_ project: String, _ containerName: String, _ name: String, upload id: String, caller: Caller)
        async throws(UpdraftError) -> [Part]
    {
        _ = try await upload(project, containerName, name, id, caller: caller)
        return try await read { db in try await Self.parts(id, db) }
    }

    static func parts(_ id: String, _ db: any SQLDatabase) async throws -> [Part] {
        try await db.raw("SELECT * FROM object_upload_parts WHERE upload_id = \(bind: id) ORDER BY part_number").all().map {
            Part(
                number: try $0.int("part_number"), size: Int64(try $0.int("size")), etag: try $0.string("etag"),
                modifiedAt: try $0.double("modified_at"), blob: try $0.string("blob"))
        }
    }

    /// The uploads in progress in a container. Serves `GET /{bucket}?uploads`.
    public func uploads(_ project: String, _ containerName: String, caller: Caller) async throws(UpdraftError) -> [Upload] {
        let container = try await writableContainer(project, containerName, caller: caller)
        return try await read { db in
            try await db.raw(
                "SELECT id, name, created_at FROM object_uploads WHERE container_id = \(bind: container.id) ORDER BY name, created_at"
            ).all().map {
                Upload(id: try $0.string("id"), name: try $0.string("name"), createdAt: try $0.double("created_at"))
            }
        }
    }

    /// Joins the named parts, in order, into the object, and ends the upload.
    /// Serves `POST ...?uploadId=ID`.
    public func completeUpload(
        _ project: String, _ containerName: String, _ name: String, upload id: String,
        parts chosen: [(number: Int, etag: String)],
        caller: Caller
    ) async throws(UpdraftError) -> StoredObject {
        let (container, info) = try await upload(project, containerName, name, id, caller: caller)
        let stored = try await read { db in try await Self.parts(id, db) }
        let byNumber = Dictionary(stored.map { ($0.number, $0) }, uniquingKeysWith: { first, _ in first })
        guard !chosen.isEmpty else {
            throw UpdraftError(.badRequest, "You must specify at least one part.", kind: "MalformedXML")
        }
        var selected: [Part] = []
        var previous = 0
        for (index, choice) in chosen.enumerated() {
            guard choice.number > previous else {
                throw UpdraftError(.badRequest, "The list of parts was not in ascending order.", kind: "InvalidPartOrder")
            }
            previous = choice.number
            let etag = choice.etag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased()
            guard let part = byNumber[choice.number], part.etag == etag else {
                throw UpdraftError(
                    .badRequest, "One or more of the specified parts could not be found (part \(choice.number)).",
                    kind: "InvalidPart")
            }
            if index < chosen.count - 1, part.size < Self.minimumPartSize {
                throw UpdraftError(
                    .badRequest, "Your proposed upload is smaller than the minimum allowed size (part \(part.number)).",
                    kind: "EntityTooSmall")
            }
            selected.append(part)
        }
        let body = ObjectBody(parts: selected.flatMap { ObjectBody.Part.all($0.blob, size: $0.size) }, blobs: blobs)
        try await checkQuotas(container, adding: body.size, objects: 1)
        let staged = try await blobs.stage(body.chunks, limit: limits.maxFileSize)
        var digests = Data()
        for part in selected { digests.append(contentsOf: Self.bytes(fromHex: part.etag)) }
        var headers = info.headers
        headers[Self.s3ETagHeader] = Insecure.MD5.hash(data: digests).hexString + "-\(selected.count)"
        let object = StoredObject(
            containerID: container.id, name: name, kind: .plain, blob: staged.id, blobSize: staged.size, size: staged.size,
            etag: staged.md5, contentType: info.contentType, modifiedAt: Self.now, metadata: info.metadata, headers: headers,
            deleteAt: nil, manifest: nil)
        let committed = try await commit(object, project: project, containerName: containerName, staged: staged, write: .init())
        try await endUpload(id)
        return committed
    }

    /// Ends an upload without an object. Serves `DELETE ...?uploadId=ID`.
    public func abortUpload(_ project: String, _ containerName: String, _ name: String, upload id: String, caller: Caller)
        async throws(UpdraftError)
    {
        _ = try await upload(project, containerName, name, id, caller: caller)
        try await endUpload(id)
    }

    /// Deletes an upload's records and its parts' blobs.
    func endUpload(_ id: String) async throws(UpdraftError) {
        let blobs = try await write { db in
            let blobs = try await Self.parts(id, db).map(\.blob)
            for blob in blobs { try await Self.collectGarbage(blob, db) }
            try await db.raw("DELETE FROM object_upload_parts WHERE upload_id = \(bind: id)").run()
            try await db.raw("DELETE FROM object_uploads WHERE id = \(bind: id)").run()
            return blobs
        }
        for blob in blobs { await self.blobs.remove(blob) }
    }

    static func bytes(fromHex hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            if let byte = UInt8(hex[index..<next], radix: 16) { result.append(byte) }
            index = next
        }
        return result
    }
}
