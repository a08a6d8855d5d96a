import Foundation
import NIOCore
import NIOPosix
import UpdraftCore

#if canImport(Glibc)
    import Glibc
#endif

/// Blobs as files: `<directory>/<aa>/<id>` once published (256 fan-out directories by the
/// id's first two hex digits), `<directory>/staging/<id>` while a write is staged.
///
/// Bytes are hashed on the caller's task and written past the page cache on NIO's
/// blocking-I/O thread pool (``DirectWriter``); the `fsync` and the reads run there too, so a
/// slow disk never holds the two cooperative threads this machine has.
public struct LocalBlobStore: BlobStore {
    public let directory: String
    let pool: NIOThreadPool

    public init(directory: String, pool: NIOThreadPool = .singleton) {
        self.directory = directory
        self.pool = pool
    }

    var staging: String { directory + "/staging" }

    func path(_ id: String) -> String { directory + "/" + String(id.prefix(2)) + "/" + id }

    func stagedPath(_ id: String) -> String { staging + "/" + id }

    /// Creates the directory tree (0700).
    public func prepare() throws(UpdraftError) {
        for path in [directory, staging] where mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw .internal("cannot create object directory \(path): \(String(cString: strerror(errno)))")
        }
        chmod(directory, 0o700)
    }

    public func stage<Bytes: AsyncSequence>(_ bytes: Bytes, limit: Int64) async throws(UpdraftError) -> StagedBlob
    where Bytes.Element == ByteBuffer {
        let id = Identifier.make()
        let (size, md5) = try await DirectWriter.write(bytes, to: stagedPath(id), limit: limit, pool: pool)
        return StagedBlob(id: id, size: size, md5: md5)
    }

    /// The rename is not synced: a crash that loses it leaves the blob staged with its record
    /// committed, which ``recover(committed:)`` publishes, and reads find it staged meanwhile.
    /// (The staged file's own name is durable with its `fsync`, which commits the filesystem's
    /// journal on ext4 and XFS.)
    public func publish(_ blob: StagedBlob) async throws(UpdraftError) {
        let target = path(blob.id)
        let fanout = (target as NSString).deletingLastPathComponent
        if mkdir(fanout, 0o700) != 0, errno != EEXIST {
            throw .internal("cannot create \(fanout): \(String(cString: strerror(errno)))")
        }
        guard rename(stagedPath(blob.id), target) == 0 else {
            throw .internal("cannot publish object data \(blob.id): \(String(cString: strerror(errno)))")
        }
    }

    public func discard(_ blob: StagedBlob) async {
        unlink(stagedPath(blob.id))
    }

    public func open(_ id: String) async throws(UpdraftError) -> any BlobReader {
        // A blob committed a moment ago may not be published yet: read it where it is staged.
        var path = path(id)
        var fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0, errno == ENOENT {
            path = stagedPath(id)
            fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        }
        guard fd >= 0 else { throw .internal("object data \(id) is missing: \(String(cString: strerror(errno)))") }
        var info = stat()
        fstat(fd, &info)
        // Large blobs are read past the page cache as they were written (-1 where refused).
        let direct =
            info.st_size >= LocalBlobReader.directMinimum ? Glibc.open(path, O_RDONLY | O_CLOEXEC | DirectWriter.oDirect) : -1
        return LocalBlobReader(descriptor: fd, direct: direct, size: Int64(info.st_size), pool: pool)
    }

    public func remove(_ id: String) async {
        unlink(path(id))
    }

    public func recover(committed: @Sendable (String) async throws -> Bool) async throws {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: staging)) ?? []
        for id in entries {
            if try await committed(id) {
                try await publish(StagedBlob(id: id, size: 0, md5: ""))
            } else {
                unlink(stagedPath(id))
            }
        }
    }
}

/// An open blob file, read with `pread` on the I/O pool; closed when the last reference goes.
/// Reads of whole disk blocks from a large blob go past the page cache (`O_DIRECT`), as
/// ``DirectWriter`` wrote them: a download then runs at the disk's speed rather than at the
/// speed of filling cold page-cache pages.
final class LocalBlobReader: BlobReader {
    /// Blobs from this size on are read with `O_DIRECT` where reads are aligned.
    static let directMinimum: Int64 = 1 << 20
    let descriptor: Int32
    /// The same file opened with `O_DIRECT`, or -1.
    let direct: Int32
    let size: Int64
    let pool: NIOThreadPool

    init(descriptor: Int32, direct: Int32, size: Int64, pool: NIOThreadPool) {
        self.descriptor = descriptor
        self.direct = direct
        self.size = size
        self.pool = pool
    }

    deinit {
        close(descriptor)
        if direct >= 0 { close(direct) }
    }

    func read(at offset: Int64, count: Int) async throws(UpdraftError) -> ByteBuffer {
        let alignment = DirectWriter.alignment
        let useDirect = direct >= 0 && offset % Int64(alignment) == 0 && count >= 64 << 10
        let (descriptor, wanted) =
            useDirect ? (direct, (count + alignment - 1) / alignment * alignment) : (self.descriptor, count)
        do {
            return try await pool.runIfActive {
                var buffer = ByteBufferAllocator().buffer(capacity: wanted + (useDirect ? alignment : 0))
                // O_DIRECT needs an aligned address: skip to one inside the buffer.
                let skip =
                    useDirect
                    ? buffer.withUnsafeMutableWritableBytes { raw in
                        (alignment - Int(bitPattern: raw.baseAddress) % alignment) % alignment
                    } : 0
                buffer.moveWriterIndex(forwardBy: skip)
                buffer.moveReaderIndex(forwardBy: skip)
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { raw in
                    guard let base = raw.baseAddress else { return 0 }
                    var (total, source, size) = (0, descriptor, wanted)
                    while total < size {
                        let n = pread(source, base + total, size - total, off_t(offset) + off_t(total))
                        if n < 0, errno == EINTR { continue }
                        // A filesystem that refuses the direct read: the same bytes through the cache.
                        if n < 0, errno == EINVAL, source != self.descriptor {
                            (source, size) = (self.descriptor, count)
                            continue
                        }
                        if n <= 0 { break }
                        total += n
                    }
                    return min(total, count)
                }
                return buffer
            }
        } catch {
            throw .internal("cannot read object data", cause: error)
        }
    }
}
