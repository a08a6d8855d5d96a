import Foundation
import LinuxNet
import Logging
import UpdraftCore

private typealias Links = LinuxNet.Links
private typealias Names = LinuxNet.Names
private typealias Namespaces = LinuxNet.Namespaces
private typealias NFTables = LinuxNet.NFTables

/// The dataplane on this machine's Linux. Each tenant network is a namespace holding its
/// bridge, its VMs' taps, its DHCP server (dnsmasq on the bridge, which also holds the
/// metadata address) and its security-group rules (nftables over bridged traffic, with
/// conntrack). Each router is a namespace with a leg on each of its networks' bridges and
/// one on the external bridge, which lives in the host so the host reaches floating IPs.
/// Nothing else of the host is touched.
public actor LinuxDataplane: NetworkDataplane {
    let directory: String
    /// Where each network's dnsmasq keeps its files: outside the 0700 data directory, since
    /// dnsmasq reads its hosts file after dropping to `nobody`.
    let dhcpDirectory: String
    let logger: Logger
    /// What the last round made; nil until the first round, which also removes what no
    /// longer belongs (the reconcile after a restart).
    private var applied: Topology?
    /// Where this cloud's record of what it made lives: a file in ``registry`` named after
    /// `directory`, outside the data directory, so that what a cloud whose data directory was
    /// deleted left on the host is still known (and removed by the next cloud that starts).
    let record: String
    /// The namespaces, host links and host nftables tables this cloud made (`ns NAME`,
    /// `link NAME`, `table NAME`), written to ``record`` before each is made: after a crash,
    /// only these are candidates for removal, never another cloud's on the same machine.
    private var owned: Set<String>?

    /// Where every cloud on this machine keeps its record. Under `/run`, as the host's links
    /// and namespaces are: a reboot clears both.
    public static let registry = "/run/updraft/dataplanes"

    /// `directory` is this cloud's own (its data directory's `network`); `dhcpDirectory`
    /// defaults to one under `/run/updraft` named after `directory`, so two clouds on one
    /// machine never share it.
    public init(directory: String, dhcpDirectory: String? = nil, logger: Logger) {
        self.directory = directory
        self.dhcpDirectory = dhcpDirectory ?? "/run/updraft/dhcp-" + Self.fingerprint(directory)
        self.record = Self.registry + "/" + Self.fingerprint(directory)
        self.logger = logger
    }

    /// A short stable name for a path (64-bit FNV-1a, in hex).
    static func fingerprint(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return withUnsafeBytes(of: hash.bigEndian) { $0.hexString }
    }

    public func apply(_ topology: Topology) async throws -> Set<String> {
        let previous = applied
        if previous == nil {
            await removeOrphans()
            try await removeStrays(keeping: topology)
        }
        var failures: [String] = []
        let oldNetworks = Dictionary(uniqueKeysWithValues: (previous?.networks ?? []).map { ($0.id, $0) })
        for network in topology.networks {
            let ports = topology.vmPorts.filter { $0.networkID == network.id }
            let oldPorts = previous?.vmPorts.filter { $0.networkID == network.id }
            guard previous == nil || oldNetworks[network.id] != network || oldPorts != ports else { continue }
            do {
                if previous != nil, oldNetworks[network.id] == network, let oldPorts,
                    oldPorts.map(\.withoutRules) == ports.map(\.withoutRules)
                {
                    // Only security-group rules changed: one nft transaction, nothing else touched.
                    try await NFTables.replaceTable(
                        "inet", "updraft_groups", body: Self.securityGroups(ports),
                        in: Names.networkNamespace(network: network.id))
                } else {
                    try await carry(network, ports: ports)
                }
            } catch {
                failures.append("network \(network.id): \(error)")
            }
        }
        let oldRouters = Dictionary(uniqueKeysWithValues: (previous?.routers ?? []).map { ($0.id, $0) })
        for router in topology.routers where previous == nil || oldRouters[router.id] != router {
            do {
                try await carry(router, networks: topology.networks)
            } catch {
                failures.append("router \(router.id): \(error)")
            }
        }
        if let previous {
            let routers = Set(topology.routers.map(\.id))
            for router in previous.routers where !routers.contains(router.id) {
                do { try await remove(router: router) } catch { failures.append("remove router \(router.id): \(error)") }
            }
            let networks = Set(topology.networks.map(\.id))
            for network in previous.networks where !networks.contains(network.id) {
                do { try await remove(network: network) } catch { failures.append("remove network \(network.id): \(error)") }
            }
            let ports = Set(topology.vmPorts.map(\.id))
            for port in previous.vmPorts where !ports.contains(port.id) && networks.contains(port.networkID) {
                try? await Links.delete(Names.tap(port: port.id), in: Names.networkNamespace(network: port.networkID))
            }
        }
        guard failures.isEmpty else {
            applied = nil  // try everything again next round
            throw LinuxNet.Error.system("dataplane: " + failures.joined(separator: "; "))
        }
        applied = topology
        // A cloud with no DHCP left leaves no directory behind in /run either.
        if (try? FileManager.default.contentsOfDirectory(atPath: dhcpDirectory))?.isEmpty == true {
            try? FileManager.default.removeItem(atPath: dhcpDirectory)
        }
        return Set(topology.vmPorts.filter { port in topology.networks.contains { $0.id == port.networkID } }.map(\.id))
    }

    // MARK: Networks

    /// A network as the host carries it. External: a bridge in the host with the gateway
    /// address. Tenant: a namespace with the bridge, taps, DHCP and rules.
    func carry(_ network: Topology.Network, ports: [Topology.Port]) async throws {
        let bridge = Names.bridge(network: network.id)
        if network.external {
            try own("link " + bridge)
            try await Links.addBridge(bridge)
            try await Links.configure(bridge, mtu: network.mtu)
            try await Links.setAddresses(
                network.subnets.compactMap { subnet in
                    guard let gateway = subnet.gateway, let length = subnet.cidr.split(separator: "/").last else { return nil }
                    return "\(gateway)/\(length)"
                }, on: bridge)
            // Whatever the host's own forwarding, nothing crosses between this bridge and the
            // host's other interfaces: floating IPs are reached from the host, never routed on.
            let guardTable = Self.guardTable(bridge)
            try own("table " + guardTable)
            try await NFTables.replaceTable(
                "inet", guardTable,
                body: """
                    chain forward {
                        type filter hook forward priority filter; policy accept;
                        iifname "\(bridge)" oifname != "\(bridge)" drop
                        oifname "\(bridge)" iifname != "\(bridge)" drop
                    }
                    """)
            return
        }
        let namespace = Names.networkNamespace(network: network.id)
        try own("ns " + namespace)
        try await Namespaces.add(namespace)
        // Bridged IP traffic goes through this namespace's nftables with conntrack.
        try await Namespaces.sysctl("net.bridge.bridge-nf-call-iptables=1", in: namespace)
        try await Namespaces.sysctl("net.bridge.bridge-nf-call-ip6tables=1", in: namespace)
        try await Namespaces.sysctl("net.ipv4.ip_forward=0", in: namespace)
        try await Links.addBridge(bridge, in: namespace)
        try await Links.configure(bridge, mac: network.dhcpPort?.mac, mtu: network.mtu, in: namespace)
        var addresses = network.dhcpPort?.addresses ?? []
        if network.dhcpPort != nil { addresses.append("169.254.169.254/32") }
        try await Links.setAddresses(addresses, on: bridge, in: namespace)
        for port in ports {
            try await Links.addTap(Names.tap(port: port.id), bridge: bridge, in: namespace)
            if !port.adminUp { try await Links.down(Names.tap(port: port.id), in: namespace) }
        }
        try await NFTables.replaceTable("bridge", "updraft_spoof", body: Self.antiSpoofing(ports), in: namespace)
        try await NFTables.replaceTable("inet", "updraft_groups", body: Self.securityGroups(ports), in: namespace)
        let dnsmasq = LinuxNet.Dnsmasq(namespace: namespace, interface: bridge, directory: dhcpDirectory + "/" + network.id)
        let served = network.subnets.filter(\.dhcp).compactMap { subnet -> LinuxNet.Dnsmasq.Subnet? in
            guard let cidr = IPNetwork(subnet.cidr), cidr.family == .v4 else { return nil }
            return LinuxNet.Dnsmasq.Subnet(
                network: cidr.address.description, mask: cidr.mask, gateway: subnet.gateway, dnsServers: subnet.dnsServers,
                routes: subnet.routes, mtu: network.mtu)
        }
        if served.isEmpty || network.dhcpPort == nil {
            try await dnsmasq.stop()
        } else {
            try await dnsmasq.start(
                subnets: served,
                hosts: network.leases)
        }
    }

    func remove(network: Topology.Network) async throws {
        if network.external {
            let bridge = Names.bridge(network: network.id)
            try await NFTables.deleteTable("inet", Self.guardTable(bridge))
            try disown("table " + Self.guardTable(bridge))
            try await Links.delete(bridge)
            try disown("link " + bridge)
            return
        }
        let dnsmasq = LinuxNet.Dnsmasq(
            namespace: Names.networkNamespace(network: network.id), interface: Names.bridge(network: network.id),
            directory: dhcpDirectory + "/" + network.id)
        try? await dnsmasq.stop()
        try? FileManager.default.removeItem(atPath: dhcpDirectory + "/" + network.id)
        try await Namespaces.delete(Names.networkNamespace(network: network.id))
        try disown("ns " + Names.networkNamespace(network: network.id))
    }

    /// The host's nftables table that fences external bridge `bridge` off from the host's interfaces.
    static func guardTable(_ bridge: String) -> String {
        "updraft_" + bridge
    }

    // MARK: Routers

    /// A router: its namespace forwards between its interfaces and NATs out of its gateway.
    func carry(_ router: Topology.Router, networks: [Topology.Network]) async throws {
        let namespace = Names.routerNamespace(router: router.id)
        try own("ns " + namespace)
        try await Namespaces.add(namespace)
        // A router that is administratively down forwards nothing, floating IPs included.
        try await Namespaces.sysctl("net.ipv4.ip_forward=\(router.adminUp ? 1 : 0)", in: namespace)
        var wanted = Set<String>()
        for port in router.interfaces {
            let network = Names.networkNamespace(network: port.networkID)
            try await Links.addVeth(
                Names.bridgeEnd(port: port.id), in: network, peer: Names.namespaceEnd(port: port.id), in: namespace,
                mac: port.mac)
            try await Links.setMaster(Names.bridgeEnd(port: port.id), bridge: Names.bridge(network: port.networkID), in: network)
            try await Links.setAddresses(port.addresses, on: Names.namespaceEnd(port: port.id), in: namespace)
            wanted.insert(Names.namespaceEnd(port: port.id))
        }
        var nat = ""
        if let gateway = router.gateway {
            let inside = Names.namespaceEnd(port: gateway.id)
            try own("link " + Names.bridgeEnd(port: gateway.id))
            try await Links.addVeth(Names.bridgeEnd(port: gateway.id), in: nil, peer: inside, in: namespace, mac: gateway.mac)
            try await Links.setMaster(Names.bridgeEnd(port: gateway.id), bridge: Names.bridge(network: gateway.networkID))
            let floating = router.floatingIPs.keys.sorted().map { "\($0)/32" }
            try await Links.setAddresses(gateway.addresses + floating, on: inside, in: namespace)
            if let nextHop = router.gatewayNextHop {
                try await Links.setRoute("default", via: nextHop, device: inside, in: namespace)
            }
            wanted.insert(inside)
            nat = Self.nat(router, gatewayDevice: inside, networks: networks)
        }
        for route in router.routes {
            try await Links.setRoute(route.destination, via: route.nextHop, in: namespace)
        }
        for link in try await Links.ours(in: namespace) where !wanted.contains(link) {
            try await Links.delete(link, in: namespace)
        }
        if nat.isEmpty {
            try await NFTables.deleteTable("ip", "updraft_nat", in: namespace)
        } else {
            try await NFTables.replaceTable("ip", "updraft_nat", body: nat, in: namespace)
        }
    }

    func remove(router: Topology.Router) async throws {
        if let gateway = router.gateway {
            try? await Links.delete(Names.bridgeEnd(port: gateway.id))
            try disown("link " + Names.bridgeEnd(port: gateway.id))
        }
        for port in router.interfaces {
            try? await Links.delete(Names.bridgeEnd(port: port.id), in: Names.networkNamespace(network: port.networkID))
        }
        try await Namespaces.delete(Names.routerNamespace(router: router.id))
        try disown("ns " + Names.routerNamespace(router: router.id))
    }

    // MARK: Strays

    /// Removes the namespaces and host links this cloud made for resources that no longer
    /// exist (what a crash or kill left behind), and their dnsmasq directories.
    func removeStrays(keeping topology: Topology) async throws {
        var wanted = Set(
            topology.networks.map {
                $0.external ? "link " + Names.bridge(network: $0.id) : "ns " + Names.networkNamespace(network: $0.id)
            })
        for network in topology.networks where network.external {
            wanted.insert("table " + Self.guardTable(Names.bridge(network: network.id)))
        }
        for router in topology.routers {
            wanted.insert("ns " + Names.routerNamespace(router: router.id))
            if let gateway = router.gateway { wanted.insert("link " + Names.bridgeEnd(port: gateway.id)) }
        }
        for entry in try ownership().subtracting(wanted).sorted() {
            try await Self.remove(entry, dhcpDirectory: dhcpDirectory)
            try disown(entry)
        }
    }

    /// Removes what other clouds on this machine made and can no longer remove: those whose
    /// directory is gone (a data directory deleted without `updraft admin remove-network`, as
    /// a killed test run leaves it). Their external bridges would otherwise keep the gateway
    /// address of the next cloud on the same CIDR, and the host's packets would go to them.
    func removeOrphans() async {
        let records = (try? FileManager.default.contentsOfDirectory(atPath: Self.registry)) ?? []
        for name in records.sorted() where Self.registry + "/" + name != record {
            let path = Self.registry + "/" + name
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            let (owner, dhcp, entries) = Self.parseRecord(text)
            guard let owner, !FileManager.default.fileExists(atPath: owner) else { continue }
            var failures: [String] = []
            for entry in entries.sorted() {
                do { try await Self.remove(entry, dhcpDirectory: dhcp) } catch { failures.append("\(entry): \(error)") }
            }
            if let dhcp { try? FileManager.default.removeItem(atPath: dhcp) }
            if failures.isEmpty {
                try? FileManager.default.removeItem(atPath: path)
                logger.notice(
                    "removed what a cloud whose directory is gone left on the host",
                    metadata: ["directory": "\(owner)", "removed": "\(entries.sorted().joined(separator: ", "))"])
            } else {
                logger.warning(
                    "could not remove all that a cloud whose directory is gone left on the host",
                    metadata: ["directory": "\(owner)", "failures": "\(failures.joined(separator: "; "))"])
            }
        }
    }

    /// Removes one recorded entry from the host; one that is already gone is fine. A
    /// network's namespace takes its dnsmasq and DHCP files (under `dhcpDirectory`) with it.
    static func remove(_ entry: String, dhcpDirectory: String?) async throws {
        let name = String(entry.split(separator: " ", maxSplits: 1).last ?? "")
        if entry.hasPrefix("ns ") {
            if let dhcpDirectory, name.hasPrefix("updraft-net-") {
                let id = String(name.dropFirst("updraft-net-".count))
                try? await LinuxNet.Dnsmasq(
                    namespace: name, interface: Names.bridge(network: id), directory: dhcpDirectory + "/" + id
                ).stop()
                try? FileManager.default.removeItem(atPath: dhcpDirectory + "/" + id)
            }
            try await Namespaces.delete(name)
        } else if entry.hasPrefix("table ") {
            try await NFTables.deleteTable("inet", name)
        } else if entry.hasPrefix("link ") {
            try await Links.delete(name)
        }
    }

    /// A record's owner directory, DHCP directory and entries.
    static func parseRecord(_ text: String) -> (directory: String?, dhcp: String?, entries: Set<String>) {
        var directory: String?
        var dhcp: String?
        var entries = Set<String>()
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("directory ") {
                directory = String(line.dropFirst("directory ".count))
            } else if line.hasPrefix("dhcp ") {
                dhcp = String(line.dropFirst("dhcp ".count))
            } else if line.hasPrefix("ns ") || line.hasPrefix("link ") || line.hasPrefix("table ") {
                entries.insert(line)
            }
        }
        return (directory, dhcp, entries)
    }

    /// What this cloud's record lists (or, once, what `directory/owned` listed, where earlier
    /// versions kept it).
    func ownership() throws -> Set<String> {
        if let owned { return owned }
        if let text = try? String(contentsOfFile: record, encoding: .utf8) {
            owned = Self.parseRecord(text).entries
        } else if let text = try? String(contentsOfFile: directory + "/owned", encoding: .utf8) {
            let entries = Self.parseRecord(text).entries
            try save(entries)
            try? FileManager.default.removeItem(atPath: directory + "/owned")
        } else {
            owned = []
        }
        return owned ?? []
    }

    /// Records that this cloud makes `entry` (`ns NAME`, `link NAME` or `table NAME`), before it is made.
    func own(_ entry: String) throws {
        var entries = try ownership()
        guard !entries.contains(entry) else { return }
        entries.insert(entry)
        try save(entries)
    }

    func disown(_ entry: String) throws {
        var entries = try ownership()
        guard entries.remove(entry) != nil else { return }
        try save(entries)
    }

    /// Writes the record (removed once it lists nothing); `directory` is made too, so that
    /// the record's owner exists for as long as the cloud's data does.
    private func save(_ entries: Set<String>) throws {
        if entries.isEmpty {
            try? FileManager.default.removeItem(atPath: record)
        } else {
            for path in [directory, Self.registry] {
                try FileManager.default.createDirectory(
                    atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            let lines = ["directory " + directory, "dhcp " + dhcpDirectory] + entries.sorted()
            try (lines.joined(separator: "\n") + "\n").write(toFile: record, atomically: true, encoding: .utf8)
        }
        owned = entries
    }

    // MARK: Rules

    /// Bridge-level anti-spoofing: a VM sends only from its MAC and addresses (and its
    /// allowed pairs), answers ARP only for them, and serves no DHCP.
    static func antiSpoofing(_ ports: [Topology.Port]) -> String {
        var dispatch: [String] = []
        var chains: [String] = []
        for (index, port) in ports.enumerated() where port.portSecurity {
            let tap = Names.tap(port: port.id)
            let chain = "port\(index)"
            dispatch.append("    iifname \"\(tap)\" jump \(chain)")
            let macs = Set([port.mac] + port.allowedPairs.map(\.mac)).sorted()
            let v4 =
                (port.addresses.compactMap { address -> String? in
                    let ip = String(address.split(separator: "/").first ?? "")
                    return IPAddress(ip)?.family == .v4 ? ip : nil
                }
                    + port.allowedPairs.map(\.address).filter {
                        IPNetwork(containing: $0)?.family == .v4 || IPAddress($0)?.family == .v4
                    })
            var lines = ["  chain \(chain) {", "    ether saddr != { \(macs.joined(separator: ", ")) } drop"]
            lines.append("    udp sport 67 drop")
            lines.append("    ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept")
            if v4.isEmpty {
                lines.append("    ether type { ip, arp } drop")
            } else {
                let set = Set(v4).sorted().joined(separator: ", ")
                lines.append("    arp saddr ip != { \(set) } drop")
                lines.append("    ether type ip ip saddr != { \(set) } drop")
            }
            lines.append("    icmpv6 type { nd-router-advert, nd-redirect } drop")
            lines.append("  }")
            chains.append(lines.joined(separator: "\n"))
        }
        return (["  chain prerouting {", "    type filter hook prerouting priority filter; policy accept;"] + dispatch + ["  }"])
            .joined(separator: "\n") + "\n" + chains.joined(separator: "\n")
    }

    /// Security groups over bridged traffic, with conntrack: replies are let back, a VM's
    /// egress rules are checked where its traffic leaves it and the receiver's ingress
    /// rules where traffic reaches it; what no rule allows is dropped.
    static func securityGroups(_ ports: [Topology.Port]) -> String {
        var dispatchEgress: [String] = []
        var dispatchIngress: [String] = []
        var chains: [String] = []
        for (index, port) in ports.enumerated() where port.portSecurity {
            let addresses = port.addresses.compactMap { $0.split(separator: "/").first.map(String.init) }
            for address in addresses {
                let family = IPAddress(address)?.family == .v6 ? "ip6" : "ip"
                dispatchEgress.append("    \(family) saddr \(address) jump egress\(index)")
                dispatchIngress.append("    \(family) daddr \(address) jump ingress\(index)")
            }
            chains.append(chain("egress\(index)", port.rules.filter { !$0.ingress }, verdict: "return"))
            chains.append(chain("ingress\(index)", port.rules.filter(\.ingress), verdict: "accept"))
        }
        let forward =
            [
                "  chain forward {", "    type filter hook forward priority filter; policy accept;",
                "    ct state established,related accept", "    ct state invalid drop",
            ]
            + dispatchEgress + dispatchIngress + ["  }"]
        return forward.joined(separator: "\n") + "\n" + chains.joined(separator: "\n")
    }

    static func chain(_ name: String, _ rules: [Topology.Rule], verdict: String) -> String {
        var lines = ["  chain \(name) {"]
        for rule in rules {
            let family = rule.ipv6 ? "ip6" : "ip"
            var match = ["meta nfproto \(rule.ipv6 ? "ipv6" : "ipv4")"]
            if !rule.remotes.isEmpty {
                match.append("\(family) \(rule.ingress ? "saddr" : "daddr") { \(rule.remotes.joined(separator: ", ")) }")
            }
            if let number = rule.protocolNumber {
                switch number {
                case 6, 17, 132, 33, 136:
                    let name = [6: "tcp", 17: "udp", 132: "sctp", 33: "dccp", 136: "udplite"][number] ?? "tcp"
                    match.append("meta l4proto \(number)")
                    if let low = rule.portMin {
                        let high = rule.portMax ?? low
                        match.append("\(name) dport \(low == high ? "\(low)" : "\(low)-\(high)")")
                    }
                case 1 where !rule.ipv6, 58 where rule.ipv6:
                    let name = rule.ipv6 ? "icmpv6" : "icmp"
                    match.append("meta l4proto \(number)")
                    if let type = rule.portMin { match.append("\(name) type \(type)") }
                    if let code = rule.portMax { match.append("\(name) code \(code)") }
                default:
                    match.append("meta l4proto \(number)")
                }
            }
            lines.append("    " + match.joined(separator: " ") + " " + verdict)
        }
        lines.append("    drop")
        lines.append("  }")
        return lines.joined(separator: "\n")
    }

    /// SNAT out of the gateway for the router's subnets, and DNAT/SNAT for floating IPs.
    static func nat(_ router: Topology.Router, gatewayDevice: String, networks: [Topology.Network]) -> String {
        let gatewayAddress = router.gateway?.addresses.first.flatMap { $0.split(separator: "/").first.map(String.init) }
        var prerouting: [String] = []
        var postrouting: [String] = []
        for (floating, fixed) in router.floatingIPs.sorted(by: { $0.key < $1.key }) {
            prerouting.append("    ip daddr \(floating) dnat to \(fixed)")
            postrouting.append("    ip saddr \(fixed) oifname \"\(gatewayDevice)\" snat to \(floating)")
        }
        if router.snat, let gatewayAddress {
            let cidrs = router.interfaces.flatMap(\.addresses).compactMap { IPNetwork(containing: $0) }.filter {
                $0.family == .v4
            }
            for cidr in cidrs {
                postrouting.append("    ip saddr \(cidr) oifname \"\(gatewayDevice)\" snat to \(gatewayAddress)")
            }
        }
        return
            (["  chain prerouting {", "    type nat hook prerouting priority dstnat; policy accept;"] + prerouting
            + ["  }", "  chain postrouting {", "    type nat hook postrouting priority srcnat; policy accept;"] + postrouting
            + ["  }"]).joined(separator: "\n")
    }
}
