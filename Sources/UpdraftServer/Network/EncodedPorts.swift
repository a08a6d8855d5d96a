import NIOCore
import Synchronization
import UpdraftCore
import UpdraftNetwork

/// Ports as Neutron's JSON, kept by version: a whole list (10,000 ports) reads only each
/// port's id and version, then reads and encodes in full only the ports that changed since
/// the last list. Every change to what a port shows moves its version in the database
/// (``NetworkService/PortVersion``), so the bodies are right for every process that serves
/// the same database, and a body is never older than the version it is kept under.
final class EncodedPorts: Sendable {
    private struct Key: Hashable {
        var id: String
        var admin: Bool
    }

    private struct Entry {
        var version: NetworkService.PortVersion
        var body: [UInt8]
    }

    /// Past this many bodies the store starts over (10,000 ports in both views fit).
    static let capacity = 50_000
    private let entries = Mutex<[Key: Entry]>([:])

    /// `{"<key>": [port,...]}` for what `listPorts` would give `caller`, in its order, written
    /// once into the buffer the answer is sent from.
    func list(
        _ network: NetworkService, key: String, caller: AuthContext, networkID: String?, deviceID: String?,
        encoder: StreamingJSONEncoder
    ) async throws -> ByteBuffer {
        let admin = Policy.isAdmin(caller)
        let versions = try await network.portVersions(caller: caller, networkID: networkID, deviceID: deviceID)
        var bodies: [String: [UInt8]] = [:]
        // The ports to read in full, with the version each is then kept under.
        var missing: [String: NetworkService.PortVersion] = [:]
        entries.withLock { entries in
            for (id, version) in versions {
                if let entry = entries[Key(id: id, admin: admin)], entry.version == version {
                    bodies[id] = entry.body
                } else {
                    missing[id] = version
                }
            }
        }
        if !missing.isEmpty {
            // Read after the versions: each body is at least as new as the version it is kept under.
            var fresh: [Key: Entry] = [:]
            for port in try await network.ports(Array(missing.keys), caller: caller) {
                let body = try encoder.encode(port)
                bodies[port.id] = body
                if let version = missing[port.id] { fresh[Key(id: port.id, admin: admin)] = Entry(version: version, body: body) }
            }
            entries.withLock { entries in
                if entries.count + fresh.count > Self.capacity { entries.removeAll() }
                entries.merge(fresh) { _, new in new }
            }
        }
        let prefix = "{\"\(key)\":["
        var out = ByteBufferAllocator().buffer(capacity: bodies.values.reduce(prefix.utf8.count + 2) { $0 + $1.count + 1 })
        out.writeString(prefix)
        var first = true
        for (id, _) in versions {
            guard let body = bodies[id] else { continue }  // deleted between the two reads
            if !first { out.writeInteger(UInt8(ascii: ",")) }
            first = false
            out.writeBytes(body)
        }
        out.writeString("]}")
        return out
    }
}
