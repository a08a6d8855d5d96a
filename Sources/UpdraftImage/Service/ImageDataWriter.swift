import Crypto
import Foundation
import NIOCore
import UpdraftCore

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

    private var file: DurableFile
    private var md5 = Insecure.MD5()
    private var sha512 = SHA512()

    var temporaryPath: String { file.temporaryPath }
    /// Bytes written so far.
    var size: Int64 { file.size }

    /// Creates `path` (mode 0600); it must not exist.
    init(temporaryPath path: String) throws(UpdraftError) {
        file = try DurableFile(temporaryPath: path)
    }

    mutating func write(_ buffer: ByteBuffer) throws(UpdraftError) {
        try buffer.withUnsafeReadableBytes { (bytes: UnsafeRawBufferPointer) throws(UpdraftError) in
            try write(bytes)
        }
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws(UpdraftError) {
        md5.update(bufferPointer: bytes)
        sha512.update(bufferPointer: bytes)
        try file.write(bytes)
    }

    /// Flushes the file to disk, closes it and renames it to `path` (then syncs the directory,
    /// so the rename survives a crash). Returns the digest.
    consuming func finish(movingTo path: String) throws(UpdraftError) -> Digest {
        let digest = Digest(md5: md5.finalize().hexString, sha512: sha512.finalize().hexString, size: file.size)
        try file.rename(to: path)
        return digest
    }

    /// Closes and removes the temporary file.
    consuming func discard() {
        file.discard()
    }
}

extension ImageDataWriter {
    /// Streams `source` through a writer at `temporaryPath`, then renames it to `path`: how an
    /// import copies a file from another filesystem.
    static func copy(_ source: String, to path: String, temporaryPath: String) throws(UpdraftError) -> Digest {
        var writer = try ImageDataWriter(temporaryPath: temporaryPath)
        do {
            try DurableFile.forEachChunk(of: source) { (bytes) throws(UpdraftError) in try writer.write(bytes) }
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
        try DurableFile.forEachChunk(of: path) { bytes in
            md5.update(bufferPointer: bytes)
            sha512.update(bufferPointer: bytes)
            size += Int64(bytes.count)
        }
        return Digest(md5: md5.finalize().hexString, sha512: sha512.finalize().hexString, size: size)
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
