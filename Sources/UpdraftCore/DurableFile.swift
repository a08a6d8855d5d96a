import Foundation

#if canImport(Glibc)
    import Glibc
    private let systemWrite = Glibc.write
#elseif canImport(Darwin)
    import Darwin
    private let systemWrite = Darwin.write
#endif

/// A file written so that a crash leaves either nothing or the whole file: bytes go to a
/// temporary path created for it, ``sync()`` flushes them, and ``rename(to:)`` moves the file
/// into place and syncs its directory, so the rename itself survives a power cut.
///
/// Plain POSIX calls on the caller's task: each chunk lands in the page cache. The image
/// store writes through it, hashing what it needs on the way (the object store has its own
/// writer past the page cache, `DirectWriter`).
public struct DurableFile: ~Copyable {
    public let temporaryPath: String
    private let descriptor: Int32
    private var closed = false
    /// Bytes written so far.
    public private(set) var size: Int64 = 0

    /// Creates `temporaryPath` (mode 0600); it must not exist.
    public init(temporaryPath path: String) throws(UpdraftError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .internal("cannot create \(path): \(String(cString: strerror(errno)))") }
        temporaryPath = path
        descriptor = fd
    }

    deinit {
        if !closed { close(descriptor) }
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(UpdraftError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        var offset = 0
        while offset < bytes.count {
            let written = systemWrite(descriptor, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw .internal("cannot write \(temporaryPath): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
        size += Int64(bytes.count)
    }

    /// Flushes the bytes to disk and closes the file; it stays at its temporary path.
    public mutating func sync() throws(UpdraftError) {
        guard !closed else { return }
        let synced = fsync(descriptor) == 0
        closed = true
        close(descriptor)
        guard synced else { throw .internal("cannot flush \(temporaryPath): \(String(cString: strerror(errno)))") }
    }

    /// ``sync()``, then renames the file to `path` and syncs the directory.
    public consuming func rename(to path: String) throws(UpdraftError) {
        try sync()
        try Self.move(temporaryPath, to: path)
    }

    /// Closes the file unflushed and leaves it at its temporary path, for a caller that
    /// flushes it elsewhere (on a thread pool that may block).
    public consuming func closeUnsynced() {
        if !closed { close(descriptor) }
        closed = true
    }

    /// Closes and removes the temporary file.
    public consuming func discard() {
        if !closed { close(descriptor) }
        closed = true
        unlink(temporaryPath)
    }

    /// Renames a synced file into place and syncs the directory it lands in.
    public static func move(_ source: String, to path: String) throws(UpdraftError) {
        guard Foundation.rename(source, path) == 0 else {
            throw .internal("cannot move \(source) into \(path): \(String(cString: strerror(errno)))")
        }
        syncDirectory(of: path)
    }

    /// Flushes a directory's entries, so a rename or unlink in it survives a crash.
    public static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    /// Calls `body` with each chunk of the file at `path`, 1 MiB at a time.
    public static func forEachChunk(
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
}
