import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension LinuxNet {
    /// Runs `body` on a thread of its own that has entered network namespace `name`, so the
    /// descriptors it opens (a tap, a listening socket) belong to that namespace. The thread
    /// ends with the call: no other work ever runs inside the namespace by accident.
    static func inNamespace<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        guard name.hasPrefix("updraft-"), !name.contains("/") else { throw Error.invalidName(name) }
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                let namespace = open("/var/run/netns/" + name, O_RDONLY | O_CLOEXEC)
                guard namespace >= 0 else {
                    continuation.resume(throwing: Error.system("open namespace \(name): \(String(cString: strerror(errno)))"))
                    return
                }
                defer { close(namespace) }
                guard let enter = Self.setns, enter(namespace, 0x4000_0000 /* CLONE_NEWNET */) == 0 else {
                    continuation.resume(throwing: Error.system("enter namespace \(name): \(String(cString: strerror(errno)))"))
                    return
                }
                do {
                    continuation.resume(returning: try body())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    /// glibc's `setns(2)`, which Swift's Glibc module does not declare.
    static let setns: (@convention(c) (Int32, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
    }()

    /// Opens tap `name` inside `namespace` and returns the descriptor, for QEMU
    /// (`-netdev tap,fd=N`): the tap then lives in the network's namespace while QEMU runs
    /// in the host's. The descriptor is close-on-exec; whoever hands it on dups it.
    public static func openTap(_ name: String, in namespace: String) async throws -> Int32 {
        guard Names.isOurs(name), name.utf8.count <= 15 else { throw Error.invalidName(name) }
        return try await inNamespace(namespace) {
            let fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { throw Error.system("open /dev/net/tun: \(String(cString: strerror(errno)))") }
            var request = ifreq()
            withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { buffer in
                for (index, byte) in name.utf8.enumerated() { buffer[index] = byte }
            }
            // IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, as `ip tuntap add ... mode tap vnet_hdr` made it.
            request.ifr_ifru.ifru_flags = Int16(0x0002 | 0x1000 | 0x4000)
            let tunSetIFF: UInt = 0x4004_54ca
            guard ioctl(fd, tunSetIFF, &request) == 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw Error.system("attach to tap \(name): \(reason)")
            }
            return fd
        }
    }
}

extension LinuxNet {
    /// A TCP socket bound to `address`:`port` and listening inside `namespace`, for a server
    /// in the host's namespace to accept on (the metadata service on 169.254.169.254). The
    /// descriptor is non-blocking and close-on-exec.
    public static func listenTCP(address: String, port: UInt16, in namespace: String) async throws -> Int32 {
        try await inNamespace(namespace) {
            let fd = socket(
                AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { throw Error.system("socket: \(String(cString: strerror(errno)))") }
            var reuse: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = in_port_t(port.bigEndian)
            guard inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else {
                close(fd)
                throw Error.invalidName(address)
            }
            let bound = withUnsafePointer(to: &socketAddress) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0, listen(fd, 128) == 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw Error.system("listen on \(address):\(port) in \(namespace): \(reason)")
            }
            return fd
        }
    }
}
