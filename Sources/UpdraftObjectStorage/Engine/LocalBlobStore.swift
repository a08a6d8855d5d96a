import Crypto
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
/// Bytes are written with plain `write(2)` on the caller's task (they land in the page
/// cache); the `fsync` and the reads run on NIO's blocking-I/O thread pool, so a slow disk
/// never holds the two cooperative threads this machine has.
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
        var file = try DurableFile(temporaryPath: stagedPath(id))
        var md5 = Insecure.MD5()
        do {
            for try await chunk in bytes {
                guard file.size + Int64(chunk.readableBytes) <= limit else {
                    throw UpdraftError.overLimit("Your request is too large.")
                }
                try chunk.withUnsafeReadableBytes { (raw: UnsafeRawBufferPointer) throws(UpdraftError) in
                    md5.update(bufferPointer: raw)
                    try file.write(raw)
                }
            }
        } catch {
            file.discard()
            if let error = error as? UpdraftError { throw error }
            throw .badRequest("The upload ended before its body did: \(error)")
        }
        let size = file.size
        let path = file.temporaryPath
        file.closeUnsynced()
        // The fsync blocks: it runs on the I/O pool, on a descriptor of its own.
        do {
            try await pool.runIfActive {
                let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
                defer { if descriptor >= 0 { close(descriptor) } }
                guard descriptor >= 0, fsync(descriptor) == 0 else {
                    throw UpdraftError.internal("cannot flush \(path): \(String(cString: strerror(errno)))")
                }
            }
        } catch {
            unlink(path)
            throw error as? UpdraftError ?? .internal("cannot flush \(path)", cause: error)
        }
        return StagedBlob(id: id, size: size, md5: md5.finalize().hexString)
    }

    public func publish(_ blob: StagedBlob) async throws(UpdraftError) {
        let target = path(blob.id)
        let fanout = (target as NSString).deletingLastPathComponent
        if mkdir(fanout, 0o700) != 0, errno != EEXIST {
            throw .internal("cannot create \(fanout): \(String(cString: strerror(errno)))")
        }
        try DurableFile.move(stagedPath(blob.id), to: target)
    }

    public func discard(_ blob: StagedBlob) async {
        unlink(stagedPath(blob.id))
    }

    public func open(_ id: String) async throws(UpdraftError) -> any BlobReader {
        // A blob committed a moment ago may not be published yet: read it where it is staged.
        var fd = Glibc.open(path(id), O_RDONLY | O_CLOEXEC)
        if fd < 0, errno == ENOENT { fd = Glibc.open(stagedPath(id), O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw .internal("object data \(id) is missing: \(String(cString: strerror(errno)))") }
        var info = stat()
        fstat(fd, &info)
        return LocalBlobReader(descriptor: fd, size: Int64(info.st_size), pool: pool)
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
final class LocalBlobReader: BlobReader {
    let descriptor: Int32
    let size: Int64
    let pool: NIOThreadPool

    init(descriptor: Int32, size: Int64, pool: NIOThreadPool) {
        self.descriptor = descriptor
        self.size = size
        self.pool = pool
    }

    deinit { close(descriptor) }

    func read(at offset: Int64, count: Int) async throws(UpdraftError) -> ByteBuffer {
        let descriptor = descriptor
        do {
            return try await pool.runIfActive {
                var buffer = ByteBufferAllocator().buffer(capacity: count)
                let read = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
                    guard let base = raw.baseAddress else { return 0 }
                    var total = 0
                    while total < count {
                        let n = pread(descriptor, base + total, count - total, off_t(offset) + off_t(total))
                        if n < 0, errno == EINTR { continue }
                        if n <= 0 { break }
                        total += n
                    }
                    return total
                }
                _ = read
                return buffer
            }
        } catch {
            throw .internal("cannot read object data", cause: error)
        }
    }
}
