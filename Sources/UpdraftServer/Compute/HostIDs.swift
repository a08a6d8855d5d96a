import Crypto
import Foundation
import Synchronization
import UpdraftCore

/// Nova's `hostId`: a per-project hash of the host, so projects cannot map the cloud.
/// Remembered per project and host, since a page of servers repeats few pairs; one per
/// compute controller.
final class HostIDs: Sendable {
    private let known = Mutex<[String: String]>([:])

    /// The `hostId` of a server of `project` on `host`; empty when it has no host.
    func id(project: String, host: String?) -> String {
        guard let host else { return "" }
        let key = project + "\u{0}" + host
        if let id = known.withLock({ $0[key] }) { return id }
        let id = SHA256.hash(data: Data((project + host).utf8)).prefix(28).hexString
        known.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[key] = id
        }
        return id
    }
}
