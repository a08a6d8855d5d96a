import Foundation

extension LinuxNet {
    /// Bridges, taps, veth pairs, addresses, routes and namespaces, through `ip`. Every call
    /// is idempotent where Linux allows it (adding what exists, deleting what is gone), so a
    /// reconcile after a crash can simply make the desired state again.
    public enum Links {
        /// A bridge, up. No STP and no forwarding delay: a new port forwards at once.
        public static func addBridge(_ name: String, in namespace: String? = nil) async throws {
            try checkName(name)
            if try await !exists(name, in: namespace) {
                try await ignoring("File exists") {
                    try await run(
                        "ip", ["link", "add", name, "type", "bridge", "stp_state", "0", "forward_delay", "0"],
                        in: namespace)
                }
            }
            try await up(name, in: namespace)
        }

        /// A persistent tap (`vnet_hdr`, no packet info) on `bridge`, up. QEMU is handed an open
        /// descriptor of it (``LinuxNet/openTap(_:in:)``), so the tap can live in a namespace.
        public static func addTap(_ name: String, bridge: String, in namespace: String? = nil) async throws {
            try checkName(name)
            if try await !exists(name, in: namespace) {
                try await ignoring("File exists", "Device or resource busy") {
                    try await run("ip", ["tuntap", "add", "dev", name, "mode", "tap", "vnet_hdr"], in: namespace)
                }
            }
            try await run("ip", ["link", "set", name, "master", bridge], in: namespace)
            try await up(name, in: namespace)
        }

        /// A veth pair whose ends live in two namespaces (nil is the host), both up; `mac` is
        /// set on the second end. Nothing is made when the first end exists.
        public static func addVeth(
            _ first: String, in firstNamespace: String?, peer second: String, in secondNamespace: String?, mac: String? = nil
        ) async throws {
            try checkName(first)
            try checkName(second)
            if try await !exists(first, in: firstNamespace) {
                try? await delete(second, in: secondNamespace)
                var arguments = ["link", "add", first]
                if let firstNamespace { arguments += ["netns", firstNamespace] }
                arguments += ["type", "veth", "peer", "name", second]
                if let secondNamespace { arguments += ["netns", secondNamespace] }
                try await run("ip", arguments)
            }
            if let mac { try await run("ip", ["link", "set", second, "address", mac], in: secondNamespace) }
            try await up(first, in: firstNamespace)
            try await up(second, in: secondNamespace)
        }

        /// Puts `link` on `bridge`.
        public static func setMaster(_ link: String, bridge: String, in namespace: String? = nil) async throws {
            try await run("ip", ["link", "set", link, "master", bridge], in: namespace)
        }

        /// Sets a link's MAC and MTU.
        public static func configure(_ link: String, mac: String? = nil, mtu: Int? = nil, in namespace: String? = nil)
            async throws
        {
            var arguments = ["link", "set", link]
            if let mac { arguments += ["address", mac] }
            if let mtu { arguments += ["mtu", String(mtu)] }
            guard arguments.count > 3 else { return }
            try await run("ip", arguments, in: namespace)
        }

        /// Sets a link up.
        public static func up(_ name: String, in namespace: String? = nil) async throws {
            try await run("ip", ["link", "set", name, "up"], in: namespace)
        }

        /// Sets a link down: nothing passes it until it is up again.
        public static func down(_ name: String, in namespace: String? = nil) async throws {
            try await run("ip", ["link", "set", name, "down"], in: namespace)
        }

        /// Removes a link (and a veth's peer with it); a link that is gone already is fine.
        public static func delete(_ name: String, in namespace: String? = nil) async throws {
            try checkName(name)
            try await ignoring("Cannot find device", "does not exist") {
                try await run("ip", ["link", "del", name], in: namespace)
            }
        }

        /// Whether a link exists.
        public static func exists(_ name: String, in namespace: String? = nil) async throws -> Bool {
            do {
                try await run("ip", ["link", "show", "dev", name], in: namespace)
                return true
            } catch Error.command(_, _, _, let output) where output.contains("does not exist") {
                return false
            }
        }

        /// Every link in the host (or `namespace`) whose name Updraft made.
        public static func ours(in namespace: String? = nil) async throws -> [String] {
            let text = try await run("ip", ["-j", "link", "show"], in: namespace)
            let links = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] ?? []
            return links.compactMap { $0["ifname"] as? String }.filter { Names.isOurs($0) }
        }

        /// Sets exactly `addresses` (CIDR, `10.0.0.1/24`) on a link: missing ones are added,
        /// others removed.
        public static func setAddresses(_ addresses: [String], on name: String, in namespace: String? = nil)
            async throws
        {
            let text = try await run("ip", ["-j", "addr", "show", "dev", name], in: namespace)
            let entries = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] ?? []
            let info = entries.first?["addr_info"] as? [[String: Any]] ?? []
            let present = Set(
                info.compactMap { entry -> String? in
                    guard let local = entry["local"] as? String, let length = entry["prefixlen"] as? Int,
                        entry["scope"] as? String != "link"
                    else { return nil }
                    return "\(local)/\(length)"
                })
            for address in addresses where !present.contains(address) {
                try await ignoring("File exists") {
                    try await run("ip", ["addr", "add", address, "dev", name], in: namespace)
                }
            }
            for address in present.subtracting(addresses) {
                try await run("ip", ["addr", "del", address, "dev", name], in: namespace)
            }
        }

        /// Replaces the route to `destination` (`default` or a CIDR) inside `namespace`.
        public static func setRoute(_ destination: String, via gateway: String?, device: String? = nil, in namespace: String)
            async throws
        {
            var arguments = ["route", "replace", destination]
            if let gateway { arguments += ["via", gateway] }
            if let device { arguments += ["dev", device] }
            try await run("ip", arguments, in: namespace)
        }

        static func checkName(_ name: String) throws {
            guard Names.isOurs(name), name.utf8.count <= 15, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" })
            else { throw Error.invalidName(name) }
        }
    }

    /// Network namespaces, through `ip netns`.
    public enum Namespaces {
        /// A namespace with its loopback up; nothing when it exists.
        public static func add(_ name: String) async throws {
            guard name.hasPrefix("updraft-") else { throw Error.invalidName(name) }
            if try await !all().contains(name) {
                try await ignoring("File exists") { try await run("ip", ["netns", "add", name]) }
            }
            try await run("ip", ["link", "set", "lo", "up"], in: name)
        }

        /// Removes a namespace and every link in it; a namespace that is gone is fine.
        public static func delete(_ name: String) async throws {
            guard name.hasPrefix("updraft-") else { throw Error.invalidName(name) }
            try await ignoring("No such file") { try await run("ip", ["netns", "del", name]) }
        }

        /// Every namespace, by name.
        public static func all() async throws -> [String] {
            let text = try await run("ip", ["-j", "netns", "list"])
            let entries = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] ?? []
            return entries.compactMap { $0["name"] as? String }
        }

        /// Sets a sysctl inside a namespace (`net.ipv4.ip_forward=1`).
        public static func sysctl(_ setting: String, in namespace: String) async throws {
            try await run("sysctl", ["-q", "-w", setting], in: namespace)
        }
    }

    /// Runs `body`, treating a failure whose output contains one of `benign` as success.
    static func ignoring(_ benign: String..., body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch Error.command(_, _, _, let output) where benign.contains(where: { output.contains($0) }) {
            return
        }
    }
}
