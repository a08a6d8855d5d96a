import Crypto
import Foundation
import UpdraftCore

#if canImport(Glibc)
    import Glibc
#endif

/// Where backups' bytes are kept: an object store, in the account of the backup's project,
/// as Cinder's Swift backup driver keeps them (`volumebackups` unless the backup names
/// another container). The server bridges it to object storage.
public protocol BackupObjects: Sendable {
    /// Creates `container` in `project`'s account unless it exists.
    func prepareContainer(_ container: String, project: String) async throws
    func put(_ bytes: Data, as name: String, container: String, project: String) async throws
    func get(_ name: String, container: String, project: String) async throws -> Data
    /// Removes an object; one already gone is not an error.
    func delete(_ name: String, container: String, project: String) async throws
    /// The names of the objects under `prefix`.
    func names(prefix: String, container: String, project: String) async throws -> [String]
}

/// A backup's `metadata` object: every chunk of the volume that is not zeros, with its
/// SHA-256 and the object holding it, which is an earlier backup's for a chunk an incremental
/// backup found unchanged. A restore needs nothing else.
struct BackupManifest: Codable, Sendable, Equatable {
    static let currentFormat = "updraft-backup-1"

    struct Chunk: Codable, Sendable, Equatable {
        var offset: Int64
        var length: Int
        var sha256: String
        var object: String
        /// The container holding the object when it is not the manifest's: an earlier
        /// backup's, in another container, that an incremental one builds on.
        var container: String?
    }

    var format: String
    var backupID: String
    var volumeID: String
    var sizeBytes: Int64
    var chunkBytes: Int
    var parentID: String?
    var chunks: [Chunk]
    /// The volume's metadata, bootable flag and image metadata, given to the volume a restore writes.
    var metadata: [String: String]
    var bootable: Bool
    var imageMetadata: [String: String]

    enum CodingKeys: String, CodingKey {
        case format, backupID = "backup_id", volumeID = "volume_id", sizeBytes = "size_bytes"
        case chunkBytes = "chunk_bytes", parentID = "parent_id", chunks, metadata, bootable
        case imageMetadata = "image_metadata"
    }

    /// Where a new backup's objects go: `volume_<volume>/<backup>/`.
    static func prefix(volume: String, backup: String) -> String { "volume_\(volume)/\(backup)/" }
    /// The manifest's name under a backup's prefix.
    static func name(prefix: String) -> String { prefix + "metadata" }
}

/// Moves a volume's raw bytes to and from the object store in chunks.
struct BackupChunks {
    let objects: any BackupObjects
    let container: String
    let project: String

    /// Uploads the chunks of the raw (sparse) image `file` that hold data and differ from
    /// `parent`'s (a manifest in `parentContainer`) under `prefix`, then the manifest; returns
    /// it and how many objects were written. Holes are skipped without being read.
    func write(
        file: String, prefix: String, into manifest: BackupManifest, parent: BackupManifest?,
        parentContainer: String? = nil
    ) async throws -> (BackupManifest, Int) {
        var manifest = manifest
        let known = Dictionary(
            (parent?.chunks ?? []).map { chunk in
                var chunk = chunk
                // Where the parent's chunk is, seen from this backup's container.
                let holder = chunk.container ?? parentContainer ?? container
                chunk.container = holder == container ? nil : holder
                return (chunk.offset, chunk)
            }, uniquingKeysWith: { first, _ in first })
        let reader = try RawFile(path: file, writable: false)
        defer { reader.close() }
        let size = try reader.size()
        manifest.sizeBytes = max(manifest.sizeBytes, size)
        var written = 0
        var offset: Int64 = 0
        while offset < size {
            guard let data = reader.nextData(from: offset) else { break }
            let start = data - data % Int64(manifest.chunkBytes)
            let length = Int(min(Int64(manifest.chunkBytes), size - start))
            let bytes = try reader.read(at: start, count: length)
            offset = start + Int64(length)
            if Self.isZero(bytes) { continue }
            let digest = SHA256.hash(data: bytes).hexString
            if let old = known[start], old.sha256 == digest, old.length == length {
                manifest.chunks.append(old)
                continue
            }
            let name = prefix + String(format: "chunk-%08d", start / Int64(manifest.chunkBytes))
            try await objects.put(bytes, as: name, container: container, project: project)
            manifest.chunks.append(.init(offset: start, length: length, sha256: digest, object: name))
            written += 1
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try await objects.put(
            try encoder.encode(manifest), as: BackupManifest.name(prefix: prefix), container: container, project: project)
        return (manifest, written + 1)
    }

    /// The manifest of the backup under `prefix`.
    func manifest(prefix: String) async throws -> BackupManifest {
        let data = try await objects.get(BackupManifest.name(prefix: prefix), container: container, project: project)
        let manifest = try JSONDecoder().decode(BackupManifest.self, from: data)
        guard manifest.format == BackupManifest.currentFormat else {
            throw BackupFormatError(
                "backup \(manifest.backupID) has format \(manifest.format), not \(BackupManifest.currentFormat)")
        }
        return manifest
    }

    /// Writes the backup described by `manifest` into a new raw (sparse) image `file`,
    /// checking every chunk's SHA-256.
    func restore(_ manifest: BackupManifest, to file: String) async throws {
        try? FileManager.default.removeItem(atPath: file)
        let writer = try RawFile(path: file, writable: true)
        defer { writer.close() }
        try writer.truncate(manifest.sizeBytes)
        for chunk in manifest.chunks {
            let bytes = try await objects.get(chunk.object, container: chunk.container ?? container, project: project)
            let digest = SHA256.hash(data: bytes).hexString
            guard bytes.count == chunk.length, digest == chunk.sha256 else {
                throw BackupFormatError("object \(chunk.object) does not hold the data the backup recorded")
            }
            try writer.write(bytes, at: chunk.offset)
        }
        try writer.sync()
    }

    /// Removes the objects a backup wrote under `prefix`: its own chunks and its manifest,
    /// and anything an interrupted backup left there.
    func delete(prefix: String) async throws {
        let names = try await objects.names(prefix: prefix, container: container, project: project)
        // The manifest goes last, so a delete cut short can be run again from what is listed.
        let manifest = BackupManifest.name(prefix: prefix)
        for name in names where name != manifest {
            try await objects.delete(name, container: container, project: project)
        }
        try await objects.delete(manifest, container: container, project: project)
    }

    static func isZero(_ bytes: Data) -> Bool {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return true }
            // Zero at the start and equal to itself shifted by one byte: zeros throughout.
            return buffer[0] == 0 && memcmp(base, base + 1, buffer.count - 1) == 0
        }
    }
}

/// A backup's objects do not say what the backup recorded.
struct BackupFormatError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A raw image file read and written at offsets, with its holes found without reading them.
private struct RawFile {
    let fd: Int32
    let path: String

    init(path: String, writable: Bool) throws {
        self.path = path
        fd = writable ? open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.failure("open", path) }
    }

    func close() { _ = Glibc.close(fd) }

    func size() throws -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Self.failure("stat", path) }
        return Int64(info.st_size)
    }

    /// The first offset at or after `offset` that holds data; nil when only a hole follows.
    func nextData(from offset: Int64) -> Int64? {
        // SEEK_DATA (3): filesystems without hole tracking answer `offset` itself.
        let next = lseek(fd, off_t(offset), 3)
        return next < 0 ? nil : Int64(next)
    }

    func read(at offset: Int64, count: Int) throws -> Data {
        var data = Data(count: count)
        var done = 0
        try data.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            while done < count {
                let n = pread(fd, base + done, count - done, off_t(offset) + off_t(done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw Self.failure("read", path) }
                done += n
            }
        }
        return data
    }

    func write(_ data: Data, at offset: Int64) throws {
        try data.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var done = 0
            while done < buffer.count {
                let n = pwrite(fd, base + done, buffer.count - done, off_t(offset) + off_t(done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw Self.failure("write", path) }
                done += n
            }
        }
    }

    func truncate(_ size: Int64) throws {
        guard ftruncate(fd, off_t(size)) == 0 else { throw Self.failure("truncate", path) }
    }

    func sync() throws {
        guard fsync(fd) == 0 else { throw Self.failure("sync", path) }
    }

    static func failure(_ operation: String, _ path: String) -> BackupFormatError {
        BackupFormatError("cannot \(operation) \(path): \(String(cString: strerror(errno)))")
    }
}
