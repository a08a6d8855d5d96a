import Crypto
import Foundation
import NIOCore
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Large objects: dynamic (every object under a prefix, `X-Object-Manifest`) and static (a
/// manifest listing segments, `?multipart-manifest=put`), so that clients upload files of
/// any size in segments and read them back as one object.
extension ObjectStorageService {
    /// One segment of a static manifest as a client sends it.
    public struct SegmentSpec: Sendable {
        /// `/container/object` in the same account.
        public var path: String
        public var etag: String?
        public var sizeBytes: Int64?
        /// `first-last`, `first-` or `-count` within the segment.
        public var range: String?

        public init(path: String, etag: String? = nil, sizeBytes: Int64? = nil, range: String? = nil) {
            self.path = path
            self.etag = etag
            self.sizeBytes = sizeBytes
            self.range = range
        }
    }

    /// One segment as a stored manifest lists it (Swift's stored form).
    struct StoredSegment: Codable {
        var name: String
        var bytes: Int64
        var hash: String
        var contentType: String
        var lastModified: String
        var range: String?

        enum CodingKeys: String, CodingKey {
            case name, bytes, hash, range
            case contentType = "content_type"
            case lastModified = "last_modified"
        }
    }

    /// Checks every segment (it exists, `caller` may read it, its ETag and size match what
    /// the client says) and writes the manifest. The object's size and ETag are its
    /// segments' together. Serves `PUT ...?multipart-manifest=put`.
    public func putStaticManifest(
        _ project: String, _ containerName: String, _ name: String, _ write: ObjectWrite, segments: [SegmentSpec],
        caller: Caller
    ) async throws(UpdraftError) -> StoredObject {
        try checkObjectName(name)
        let container = try await writableContainer(project, containerName, caller: caller)
        try checkWrite(write)
        guard !segments.isEmpty else { throw .badRequest("Manifest must have at least one segment.") }
        guard segments.count <= limits.maxManifestSegments else {
            throw .badRequest("Too many segments: \(segments.count); max \(limits.maxManifestSegments)")
        }
        var stored: [StoredSegment] = []
        var problems: [String] = []
        var total: Int64 = 0
        var etags = ""
        for (index, spec) in segments.enumerated() {
            let trimmed = spec.path.hasPrefix("/") ? String(spec.path.dropFirst()) : spec.path
            guard let slash = trimmed.firstIndex(of: "/") else {
                problems.append("Index \(index): path does not refer to an object: \(spec.path)")
                continue
            }
            let segmentContainer = String(trimmed[..<slash])
            let segmentName = String(trimmed[trimmed.index(after: slash)...])
            let segment: StoredObject
            do {
                (_, segment) = try await object(project, segmentContainer, segmentName, caller: caller)
            } catch {
                problems.append(
                    "/\(segmentContainer)/\(segmentName): \(error.code == .notFound ? "404 Not Found" : error.message)")
                continue
            }
            if let etag = spec.etag?.trimmingCharacters(in: CharacterSet(charactersIn: "\"")), !etag.isEmpty,
                etag != segment.etag
            {
                problems.append("/\(segmentContainer)/\(segmentName): Etag Mismatch")
            }
            if let size = spec.sizeBytes, size != segment.size {
                problems.append("/\(segmentContainer)/\(segmentName): Size Mismatch")
            }
            var bytes = segment.size
            var range: String?
            if let text = spec.range {
                guard case .partial(let ranges) = ByteRanges(header: "bytes=" + text, size: segment.size), ranges.count == 1
                else {
                    problems.append("Index \(index): Unsatisfiable Range")
                    continue
                }
                bytes = ranges[0].upperBound - ranges[0].lowerBound + 1
                range = "\(ranges[0].lowerBound)-\(ranges[0].upperBound)"
            }
            if bytes < limits.minSegmentSize, index < segments.count - 1 {
                problems.append("Index \(index): too small; each segment must be at least \(limits.minSegmentSize) byte.")
            }
            total += bytes
            etags += range.map { "\(segment.etag):\($0);" } ?? segment.etag
            stored.append(
                StoredSegment(
                    name: "/\(segmentContainer)/\(segmentName)", bytes: bytes, hash: segment.etag,
                    contentType: segment.contentType, lastModified: Self.listingDate(segment.modifiedAt), range: range))
        }
        guard problems.isEmpty else { throw .badRequest("Errors:\n" + problems.joined(separator: "\n")) }
        let data: Data
        do {
            data = try JSONEncoder().encode(stored)
        } catch {
            throw .internal("cannot encode a manifest", cause: error)
        }
        let staged = try await blobs.stage(
            BufferSequence(ByteBuffer(bytes: data)), limit: Int64(limits.maxManifestSize) * 4)
        let object = StoredObject(
            containerID: container.id, name: name, kind: .static, blob: staged.id, blobSize: staged.size, size: total,
            etag: Insecure.MD5.hash(data: Data(etags.utf8)).hexString,
            contentType: write.contentType ?? Self.guessContentType(name), modifiedAt: Self.now, metadata: write.metadata,
            headers: write.headers, deleteAt: write.deleteAt, manifest: nil)
        return try await commit(object, project: project, containerName: containerName, staged: staged, write: write)
    }

    /// A static manifest as stored (`?multipart-manifest=get`), or in the form a client
    /// puts it (`&format=raw`).
    public func manifestDocument(_ object: StoredObject, raw: Bool) async throws(UpdraftError) -> Data {
        let segments = try await storedSegments(object)
        if !raw {
            return (try? JSONEncoder().encode(segments)) ?? Data("[]".utf8)
        }
        let list: [[String: Any]] = segments.map { segment in
            var entry: [String: Any] = ["path": segment.name, "etag": segment.hash, "size_bytes": segment.bytes]
            if let range = segment.range { entry["range"] = range }
            return entry
        }
        return (try? JSONSerialization.data(withJSONObject: list, options: [.sortedKeys])) ?? Data("[]".utf8)
    }

    func storedSegments(_ object: StoredObject) async throws(UpdraftError) -> [StoredSegment] {
        guard let blob = object.blob else { return [] }
        let reader = try await blobs.open(blob)
        let buffer = try await reader.read(at: 0, count: Int(reader.size))
        do {
            return try JSONDecoder().decode([StoredSegment].self, from: Data(buffer.readableBytesView))
        } catch {
            throw .internal("the manifest of \(object.name) cannot be read", cause: error)
        }
    }

    /// The bytes of a static large object: each segment's current blob, as it was when the
    /// manifest was written (409 when a segment has changed since).
    func staticBody(_ project: String, of object: StoredObject, depth: Int = 0) async throws(UpdraftError) -> ObjectBody {
        guard depth < 10 else { throw .conflict("Max recursion depth exceeded on a large object.") }
        var parts: [ObjectBody.Part] = []
        for segment in try await storedSegments(object) {
            let path = segment.name.dropFirst()
            guard let slash = path.firstIndex(of: "/") else { continue }
            let containerName = String(path[..<slash])
            let name = String(path[path.index(after: slash)...])
            let current = try await read { db -> StoredObject? in
                guard let container = try await Self.containerRow(project, containerName, db) else { return nil }
                return try await Self.objectRow(container.id, name, db)
            }
            guard let current, current.etag == segment.hash else {
                throw .conflict("Object segment no longer valid: \(segment.name) (its ETag changed or it was deleted).")
            }
            var body: ObjectBody
            if current.kind == .static {
                body = try await staticBody(project, of: current, depth: depth + 1)
            } else {
                guard let blob = current.blob else { continue }
                body = ObjectBody(parts: ObjectBody.Part.all(blob, size: current.blobSize), blobs: blobs)
            }
            if let text = segment.range, case .partial(let ranges) = ByteRanges(header: "bytes=" + text, size: body.size) {
                body = body.slice(ranges[0])
            }
            parts += body.parts
        }
        return ObjectBody(parts: parts, etag: object.etag, blobs: blobs)
    }

    /// The bytes of a dynamic large object: every object under `container/prefix`, in name
    /// order, read when the GET comes. Its ETag is the MD5 of theirs.
    func dynamicBody(_ project: String, manifest: String, caller: Caller) async throws(UpdraftError) -> ObjectBody {
        let decoded = manifest.removingPercentEncoding ?? manifest
        guard let slash = decoded.firstIndex(of: "/") else { return ObjectBody(parts: [], blobs: blobs) }
        let containerName = String(decoded[..<slash])
        let prefix = String(decoded[decoded.index(after: slash)...])
        let container = try await container(project, containerName, caller: caller)
        var parts: [ObjectBody.Part] = []
        var etags = ""
        var marker: String?
        while true {
            let after = marker
            let rows = try await read { db in
                var sql: SQLQueryString = """
                    SELECT * FROM object_entries WHERE container_id = \(bind: container.id)
                    """
                var bounds = Bounds()
                if let after {
                    bounds.lower = (after, false)
                } else if !prefix.isEmpty {
                    bounds.lower = (prefix, true)
                }
                if let end = Self.successor(of: prefix), !prefix.isEmpty { bounds.upper = (end, false) }
                sql += bounds.sql
                sql += " LIMIT 1000"
                return try await db.raw(sql).all().map(Self.object)
            }
            for segment in rows where !Self.expired(segment) {
                etags += segment.etag
                if let blob = segment.blob, segment.kind == .plain {
                    parts += ObjectBody.Part.all(blob, size: segment.blobSize)
                }
            }
            guard rows.count == 1000, let last = rows.last else { break }
            marker = last.name
        }
        return ObjectBody(parts: parts, etag: Insecure.MD5.hash(data: Data(etags.utf8)).hexString, blobs: blobs)
    }

    /// What deleting a static large object with its segments did.
    public struct BulkDeleteResult: Sendable {
        public var deleted = 0
        public var notFound = 0
        /// Each failure: the path and the status it met.
        public var errors: [(path: String, status: String)] = []
    }

    /// Deletes a static manifest's segments, then the manifest.
    /// Serves `DELETE ...?multipart-manifest=delete`.
    public func deleteStaticObject(_ project: String, _ containerName: String, _ name: String, caller: Caller)
        async throws(UpdraftError) -> BulkDeleteResult
    {
        let (_, manifest) = try await object(project, containerName, name, caller: caller)
        var result = BulkDeleteResult()
        if manifest.kind == .static {
            for segment in try await storedSegments(manifest) {
                let path = segment.name.dropFirst()
                guard let slash = path.firstIndex(of: "/") else { continue }
                do {
                    try await deleteObject(
                        project, String(path[..<slash]), String(path[path.index(after: slash)...]), caller: caller)
                    result.deleted += 1
                } catch {
                    if error.code == .notFound {
                        result.notFound += 1
                    } else {
                        result.errors.append((segment.name, Self.statusLine(error)))
                    }
                }
            }
        }
        try await deleteObject(project, containerName, name, caller: caller)
        result.deleted += 1
        return result
    }

    /// A listing's `last_modified`: `2026-11-29T17:23:35.123450`, microseconds, no zone (Swift's).
    public static func listingDate(_ seconds: Double) -> String {
        String(Timestamp.microseconds(Date(timeIntervalSince1970: seconds)).dropLast())
    }
}
