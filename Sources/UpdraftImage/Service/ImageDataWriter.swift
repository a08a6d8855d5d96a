import Crypto
import Foundation
import NIOCore
import UpdraftCore

#if canImport(Glibc)
    import Glibc
    private let systemWrite = Glibc.write
#elseif canImport(Darwin)
    import Darwin
    private let systemWrite = Darwin.write
#endif

/// Writes image bytes to a temporary file in constant memory while computing Glance's
/// checksums (MD5 `checksum`, SHA-512 `os_hash_value`) and the size, then makes the file
/// durable and renames it into place.
///
/// Plain POSIX calls on the caller's task: each chunk is at most a few hundred KiB and lands
/// in the page cache, and the one `fsync` happens once at the end of an upload.
struct ImageDataWriter: ~Copyable {
    /// What the bytes hashed to.
    struct Digest: Sendable, Equatable {
        var md5: String
        var sha512: String
        var size: Int64
    }

    let temporaryPath: String
    private let descriptor: Int32
    private var md5 = Insecure.MD5()
    private var sha512 = SHA512()
    private var size: Int64 = 0
    private var closed = false

    /// Creates `path` (mode 0600); it must not exist.
    init(temporaryPath path: String) throws(UpdraftError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .internal("cannot create \(path): \(String(cString: strerror(errno)))") }
        temporaryPath = path
        descriptor = fd
    }

    deinit {
        if !closed { close(descriptor) }
    }

    mutating func write(_ buffer: ByteBuffer) throws(UpdraftError) {
        try buffer.withUnsafeReadableBytes { (bytes: UnsafeRawBufferPointer) throws(UpdraftError) in
            try write(bytes)
        }
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws(UpdraftError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        md5.update(bufferPointer: bytes)
        sha512.update(bufferPointer: bytes)
        var offset = 0
        while offset < bytes.count {
            let written = systemWrite(descriptor, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw .internal("cannot write image data to \(temporaryPath): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
        size += Int64(bytes.count)
    }

    /// Flushes the file to disk, closes it and renames it to `path` (then syncs the directory,
    /// so the rename survives a crash). Returns the digest.
    consuming func finish(movingTo path: String) throws(UpdraftError) -> Digest {
        let digest = Digest(md5: md5.finalize().hexString, sha512: sha512.finalize().hexString, size: size)
        let synced = fsync(descriptor) == 0
        closed = true
        close(descriptor)
        guard synced else { throw .internal("cannot flush image data \(temporaryPath): \(String(cString: strerror(errno)))") }
        guard rename(temporaryPath, path) == 0 else {
            throw .internal("cannot move image data into \(path): \(String(cString: strerror(errno)))")
        }
        Self.syncDirectory(of: path)
        return digest
    }

    /// Closes and removes the temporary file.
    consuming func discard() {
        closed = true
        close(descriptor)
        unlink(temporaryPath)
    }

    static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}

extension ImageDataWriter {
    /// Streams `source` through a writer at `temporaryPath`, then renames it to `path`: how an
    /// import copies a file from another filesystem.
    static func copy(_ source: String, to path: String, temporaryPath: String) throws(UpdraftError) -> Digest {
        var writer = try ImageDataWriter(temporaryPath: temporaryPath)
        do {
            try forEachChunk(of: source) { (bytes) throws(UpdraftError) in try writer.write(bytes) }
        } catch {
            writer.discard()
            throw error
        }
        return try writer.finish(movingTo: path)
    }

    /// The digest of a file already in place, read in 1 MiB chunks.
    static func digest(ofFile path: String) throws(UpdraftError) -> Digest {
        var md5 = Insecure.MD5()
        var sha512 = SHA512()
        var size: Int64 = 0
        try forEachChunk(of: path) { bytes in
            md5.update(bufferPointer: bytes)
            sha512.update(bufferPointer: bytes)
            size += Int64(bytes.count)
        }
        return Digest(md5: md5.finalize().hexString, sha512: sha512.finalize().hexString, size: size)
    }

    static func forEachChunk(
        of path: String, _ body: (UnsafeRawBufferPointer) throws(UpdraftError) -> Void
    ) throws(UpdraftError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .badRequest("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let count = read(fd, chunk.baseAddress, chunk.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw .internal("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: chunk[0..<count]))
        }
    }

    /// The size a guest sees: the qcow2 header's size field (offset 24, big-endian), or the
    /// file size for raw and ISO images; nil when the format does not say.
    static func virtualSize(ofFile path: String, diskFormat: String?, size: Int64) -> Int64? {
        switch diskFormat {
        case "raw", "iso": return size
        case "qcow2":
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var header = [UInt8](repeating: 0, count: 32)
            let count = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 32, 0) }
            guard count == 32, header[0..<4] == [0x51, 0x46, 0x49, 0xfb] else { return nil }
            let value = header[24..<32].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return value <= UInt64(Int64.max) ? Int64(value) : nil
        default: return nil
        }
    }
}
