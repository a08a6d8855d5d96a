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
