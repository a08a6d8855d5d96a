import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension QEMU {
    /// Hands QEMU an open descriptor under `name` (QMP `getfd`, the descriptor riding along
    /// as SCM_RIGHTS) and runs `commands` that use it on the same connection, so nothing else
    /// can take the name between them: how a tap opened in another namespace is hot-plugged
    /// (`netdev_add` with `fd=name`, then `device_add`). A plain blocking socket on a thread
    /// of its own, as NIO's channels cannot carry descriptors; every read gives up after
    /// `timeout`. The first QMP error stops the sequence and throws.
    public static func passDescriptor(
        _ descriptor: Int32, as name: String, socketPath: String, then commands: [(String, JSON)],
        timeout: Duration = .seconds(10)
    ) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Swift.Error>) in
            Thread {
                do {
                    let connection = try PlainMonitor(socketPath: socketPath, timeout: timeout)
                    defer { connection.close() }
                    _ = try connection.readMessage()  // the greeting
                    try connection.execute("qmp_capabilities", nil)
                    try connection.execute("getfd", ["fdname": .string(name)], passing: descriptor)
                    for (command, arguments) in commands { try connection.execute(command, arguments) }
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }.start()
        }
    }
}

/// A QMP connection on a blocking Unix socket: just enough to send a descriptor.
private final class PlainMonitor {
    let fd: Int32
    var pending = Data()

    init(socketPath: String, timeout: Duration) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw QEMU.Error.system("socket: \(String(cString: strerror(errno)))") }
        var limit = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else {
            Glibc.close(fd)
            throw QEMU.Error.invalidConfiguration("socket path too long: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.enumerated() { buffer[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw QEMU.Error.system("connect \(socketPath): \(reason)")
        }
    }

    func close() {
        Glibc.close(fd)
    }

    /// Sends one command (with `descriptor` attached when given) and waits for its answer,
    /// skipping events.
    func execute(_ command: String, _ arguments: QEMU.JSON?, passing descriptor: Int32? = nil) throws {
        var message: [String: QEMU.JSON] = ["execute": .string(command)]
        if let arguments { message["arguments"] = arguments }
        var bytes = [UInt8](try QEMU.JSON.object(message).serialized())
        bytes.append(UInt8(ascii: "\n"))
        try send(bytes, descriptor: descriptor)
        while true {
            guard case .object(let answer) = try readMessage() else { continue }
            if answer["return"] != nil { return }
            if case .object(let error)? = answer["error"] {
                var errorClass = "", text = ""
                if case .string(let value)? = error["class"] { errorClass = value }
                if case .string(let value)? = error["desc"] { text = value }
                throw QEMU.Error.qmp(class: errorClass, description: text)
            }
        }
    }

    private func send(_ bytes: [UInt8], descriptor: Int32?) throws {
        var bytes = bytes
        let sent: Int = bytes.withUnsafeMutableBytes { payload in
            var vector = iovec(iov_base: payload.baseAddress, iov_len: payload.count)
            return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                var header = msghdr()
                header.msg_iov = vectorPointer
                header.msg_iovlen = 1
                guard let descriptor else { return sendmsg(fd, &header, 0) }
                let space = MemoryLayout<cmsghdr>.stride + MemoryLayout<Int32>.stride
                var control = [UInt8](repeating: 0, count: space)
                return control.withUnsafeMutableBytes { controlBytes in
                    guard let base = controlBytes.baseAddress else { return -1 }
                    let message = base.assumingMemoryBound(to: cmsghdr.self)
                    message.pointee.cmsg_level = SOL_SOCKET
                    message.pointee.cmsg_type = Int32(SCM_RIGHTS)
                    message.pointee.cmsg_len = MemoryLayout<cmsghdr>.stride + MemoryLayout<Int32>.stride
                    (base + MemoryLayout<cmsghdr>.stride).storeBytes(of: descriptor, as: Int32.self)
                    header.msg_control = base
                    header.msg_controllen = space
                    return sendmsg(fd, &header, 0)
                }
            }
        }
        guard sent == bytes.count else { throw QEMU.Error.system("send to QMP: \(String(cString: strerror(errno)))") }
    }

    /// The next newline-terminated JSON message.
    func readMessage() throws -> QEMU.JSON {
        while true {
            if let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[pending.startIndex..<end]
                pending = Data(pending[(end + 1)...])
                if line.allSatisfy({ $0 == 13 || $0 == 32 }) { continue }
                return try QEMU.JSON.parse(Data(line))
            }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else {
                throw count == 0
                    ? QEMU.Error.processExited : QEMU.Error.timeout("QMP answer: \(String(cString: strerror(errno)))")
            }
            pending.append(contentsOf: buffer[0..<count])
        }
    }
}
