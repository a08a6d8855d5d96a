import Crypto
import NIOCore
import NIOPosix
import Synchronization
import UpdraftCore

#if canImport(Glibc)
    import Glibc
#endif

/// Streams a new file to disk past the page cache: bytes are copied into aligned buffers
/// (``buffersPerUpload`` of them, in turn) and hashed (MD5) on the caller's task, while full
/// buffers are written with `O_DIRECT` on the blocking-I/O pool. Hashing and the disk work in
/// parallel, and a large upload neither copies into nor dirties the page cache (on a VM, the first touch of a
/// page-cache page costs more than the disk). The tail that does not fill a disk block is
/// written through the page cache, then one `fsync` makes the file durable.
///
/// Where `O_DIRECT` is refused (tmpfs), every write goes through the page cache; the file is
/// the same.
struct DirectWriter {
    /// Bytes per buffer, a multiple of any disk block size; small enough that a 1 MiB object
    /// is written half while its other half is hashed.
    static let bufferSize = 512 << 10
    /// Buffers an upload fills in turn: one being filled, the others' writes in flight.
    static let buffersPerUpload = 4
    static let alignment = 4096
    /// Linux's `O_DIRECT`, which Glibc's module leaves out (it needs `_GNU_SOURCE`).
    #if arch(arm64)
        static let oDirect: Int32 = 0o200000
    #else
        static let oDirect: Int32 = 0o40000
    #endif

    /// Aligned buffers kept for the next upload, so each upload reuses memory already mapped.
    static let spare = Mutex<[Buffer]>([])

    /// An aligned buffer, handed to the I/O pool while the caller fills the next one.
    struct Buffer: @unchecked Sendable {
        let memory: UnsafeMutableRawBufferPointer

        static func take() -> Buffer {
            if let reused = spare.withLock({ $0.popLast() }) { return reused }
            return Buffer(memory: .allocate(byteCount: DirectWriter.bufferSize, alignment: DirectWriter.alignment))
        }

        func give() {
            let kept = DirectWriter.spare.withLock { spare in
                guard spare.count < 16 else { return false }
                spare.append(self)
                return true
            }
            if !kept { memory.deallocate() }
        }
    }

    /// Writes `bytes` to a new file at `path` (mode 0600) and flushes it; `limit` bytes at
    /// most (413 past it). The file is removed when anything fails.
    static func write<Bytes: AsyncSequence>(
        _ bytes: Bytes, to path: String, limit: Int64, pool: NIOThreadPool
    ) async throws(UpdraftError) -> (size: Int64, md5: String) where Bytes.Element == ByteBuffer {
        var fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | oDirect, 0o600)
        if fd < 0, errno == EINVAL { fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { throw .internal("cannot create \(path): \(String(cString: strerror(errno)))") }
        let descriptor = fd
        let buffers = (0..<buffersPerUpload).map { _ in Buffer.take() }
        defer { for buffer in buffers { buffer.give() } }
        var md5 = Insecure.MD5()
        var size: Int64 = 0
        do {
            try await withThrowingTaskGroup(of: Int.self) { group in
                // The buffers whose writes are in flight.
                var writing: Set<Int> = []
                var (current, filled, offset) = (0, 0, Int64(0))
                for try await chunk in bytes {
                    guard size + Int64(chunk.readableBytes) <= limit else {
                        throw UpdraftError.overLimit("Your request is too large.")
                    }
                    size += Int64(chunk.readableBytes)
                    var rest = chunk
                    while rest.readableBytes > 0 {
                        let count = min(bufferSize - filled, rest.readableBytes)
                        rest.withUnsafeReadableBytes { raw in
                            let piece = UnsafeRawBufferPointer(rebasing: raw[..<count])
                            md5.update(bufferPointer: piece)
                            buffers[current].memory.baseAddress.unsafelyUnwrapped.advanced(by: filled)
                                .copyMemory(from: piece.baseAddress.unsafelyUnwrapped, byteCount: count)
                        }
                        rest.moveReaderIndex(forwardBy: count)
                        filled += count
                        guard filled == bufferSize else { continue }
                        let (buffer, at, index) = (buffers[current], offset, current)
                        group.addTask {
                            try await pool.runIfActive {
                                try writeAll(descriptor, buffer.memory.baseAddress.unsafelyUnwrapped, bufferSize, at: at)
                            }
                            return index
                        }
                        writing.insert(current)
                        (offset, filled, current) = (offset + Int64(bufferSize), 0, (current + 1) % buffers.count)
                        // A buffer is filled again only once its write has ended.
                        while writing.contains(current), let done = try await group.next() { writing.remove(done) }
                    }
                }
                try await group.waitForAll()
                // What is left: whole blocks past the cache, the last partial block through it.
                let (buffer, at, count) = (buffers[current], offset, filled)
                try await pool.runIfActive {
                    let base = buffer.memory.baseAddress.unsafelyUnwrapped
                    let aligned = count / alignment * alignment
                    if aligned > 0 { try writeAll(descriptor, base, aligned, at: at) }
                    if count > aligned {
                        _ = dropDirect(descriptor)
                        try writeAll(descriptor, base + aligned, count - aligned, at: at + Int64(aligned))
                    }
                    guard fsync(descriptor) == 0 else {
                        throw UpdraftError.internal("cannot flush \(path): \(String(cString: strerror(errno)))")
                    }
                }
            }
        } catch {
            close(descriptor)
            unlink(path)
            if let error = error as? UpdraftError { throw error }
            throw .badRequest("The upload ended before its body did: \(error)")
        }
        close(descriptor)
        return (size, md5.finalize().hexString)
    }

    /// `pwrite` until `count` bytes from `base` are at `offset`. A filesystem that accepted
    /// `O_DIRECT` at open but refuses the write (`EINVAL`) gets it through the page cache.
    static func writeAll(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int, at offset: Int64) throws(UpdraftError) {
        var done = 0
        while done < count {
            let n = pwrite(fd, base + done, count - done, off_t(offset) + off_t(done))
            if n < 0 {
                let error = errno
                if error == EINTR || (error == EINVAL && dropDirect(fd)) { continue }
                throw .internal("cannot write object data: \(String(cString: strerror(error)))")
            }
            done += n
        }
    }

    /// Turns `O_DIRECT` off on `fd`; false when it was not on (or cannot be turned off).
    static func dropDirect(_ fd: Int32) -> Bool {
        let flags = fcntl(fd, F_GETFL)
        return flags >= 0 && flags & oDirect != 0 && fcntl(fd, F_SETFL, flags & ~oDirect) == 0
    }
}
