import Foundation
@testable import LinuxNet
import Logging
import Testing

@testable import UpdraftNetwork

#if canImport(Glibc)
    import Glibc
#endif

/// The Linux dataplane on this machine: namespaces, bridges, taps, rules, dnsmasq and NAT made
/// from a topology, kept on a second round, and all removed when the topology empties or a
/// new process finds them orphaned.
@Suite("Linux dataplane", .enabled(if: getuid() == 0 && LinuxNet.missingPrograms().isEmpty), .serialized)
struct LinuxDataplaneTests {
    static func topology(_ ids: [String]) -> Topology {
        let (external, network, dhcp, vm1, vm2, router, gateway, leg) = (
            ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7]
        )
        let ssh = Topology.Rule(ingress: true, ipv6: false, protocolNumber: 6, portMin: 22, portMax: 22, remotes: ["0.0.0.0/0"])
        let ping = Topology.Rule(ingress: true, ipv6: false, protocolNumber: 1, portMin: nil, portMax: nil, remotes: [])
        let out = Topology.Rule(ingress: false, ipv6: false, protocolNumber: nil, portMin: nil, portMax: nil, remotes: [])
        let fromGroup = Topology.Rule(
            ingress: true, ipv6: false, protocolNumber: nil, portMin: nil, portMax: nil, remotes: ["10.80.0.5/32"])
        return Topology(
            networks: [
                Topology.Network(
                    id: external, external: true, mtu: 1500,
                    subnets: [
                        .init(id: "s0", cidr: "198.19.77.0/24", gateway: "198.19.77.1", dhcp: false, dnsServers: [], routes: [])
                    ],
                    dhcpPort: nil, leases: []),
                Topology.Network(
                    id: network, external: false, mtu: 1500,
                    subnets: [
                        .init(
                            id: "s1", cidr: "10.80.0.0/24", gateway: "10.80.0.1", dhcp: true, dnsServers: [],
                            routes: [Topology.Route(destination: "169.254.169.254/32", nextHop: "10.80.0.2")])
                    ],
                    dhcpPort: Topology.Port(
                        id: dhcp, networkID: network, mac: "fa:16:3e:10:00:02", addresses: ["10.80.0.2/24"], portSecurity: false),
                    leases: [.init(mac: "fa:16:3e:10:00:05", address: "10.80.0.5", hostname: "host-10-80-0-5")]),
            ],
            vmPorts: [
                Topology.Port(
                    id: vm1, networkID: network, mac: "fa:16:3e:10:00:05", addresses: ["10.80.0.5/24"],
                    allowedPairs: [Topology.AddressPair(address: "10.80.0.100", mac: "fa:16:3e:10:00:05")],
                    rules: [ssh, ping, out, fromGroup]),
                Topology.Port(
                    id: vm2, networkID: network, mac: "fa:16:3e:10:00:06", addresses: ["10.80.0.6/24"], portSecurity: false),
            ],
            routers: [
                Topology.Router(
                    id: router,
                    interfaces: [
                        Topology.Port(
                            id: leg, networkID: network, mac: "fa:16:3e:10:00:01", addresses: ["10.80.0.1/24"],
                            portSecurity: false)
                    ],
                    gateway: Topology.Port(
                        id: gateway, networkID: external, mac: "fa:16:3e:20:00:10", addresses: ["198.19.77.10/24"],
                        portSecurity: false),
                    gatewayNextHop: "198.19.77.1", snat: true, routes: [], floatingIPs: ["198.19.77.20": "10.80.0.5"])
            ])
    }

    @Test("a topology is carried, carried again unchanged, and removed when empty or orphaned")
    func carry() async throws {
        let ids = (0..<8).map { _ in UUID().uuidString.lowercased() }
        let directory = NSTemporaryDirectory() + "updraft-dataplane-" + ids[0]
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + "-dhcp")
        }
        let topology = Self.topology(ids)
        let networkNamespace = LinuxNet.Names.networkNamespace(network: ids[1])
        let routerNamespace = LinuxNet.Names.routerNamespace(router: ids[5])
        let dataplane = LinuxDataplane(directory: directory, dhcpDirectory: directory + "-dhcp", logger: Logger(label: "test"))
        do {
            let wired = try await dataplane.apply(topology)
            #expect(wired == [ids[3], ids[4]])
            let namespaces = try await LinuxNet.Namespaces.all()
            #expect(namespaces.contains(networkNamespace) && namespaces.contains(routerNamespace))
            #expect(try await LinuxNet.Links.exists(LinuxNet.Names.bridge(network: ids[0])))
            #expect(try await LinuxNet.Links.exists(LinuxNet.Names.tap(port: ids[3]), in: networkNamespace))
            #expect(
                try await LinuxNet.NFTables.tables(in: networkNamespace).sorted() == [
                    "bridge updraft_spoof", "inet updraft_groups",
                ])
            #expect(try await LinuxNet.NFTables.tables(in: routerNamespace) == ["ip updraft_nat"])
            let dnsmasq = LinuxNet.Dnsmasq(
                namespace: networkNamespace, interface: LinuxNet.Names.bridge(network: ids[1]),
                directory: directory + "-dhcp/" + ids[1])
            #expect(dnsmasq.runningPID() != nil)
            // The router answers from its leg on the tenant network, through the bridge.
            let ping = try await LinuxNet.run("ping", ["-c", "1", "-W", "2", "10.80.0.1"], in: networkNamespace)
            #expect(ping.contains("1 received"))
            // The host reaches the router's gateway address on the external bridge.
            let outside = try await LinuxNet.run("ping", ["-c", "1", "-W", "2", "198.19.77.10"])
            #expect(outside.contains("1 received"))

            _ = try await dataplane.apply(topology)
            #expect(dnsmasq.runningPID() != nil)

            // A new process (a restart) with an empty database removes what the old one made.
            let restarted = LinuxDataplane(
                directory: directory, dhcpDirectory: directory + "-dhcp", logger: Logger(label: "test"))
            _ = try await restarted.apply(Topology())
            let left = try await LinuxNet.Namespaces.all()
            #expect(!left.contains(networkNamespace) && !left.contains(routerNamespace))
            #expect(try await !LinuxNet.Links.exists(LinuxNet.Names.bridge(network: ids[0])))
            #expect(dnsmasq.runningPID() == nil)
        } catch {
            _ = try? await LinuxDataplane(directory: directory, dhcpDirectory: directory + "-dhcp", logger: Logger(label: "test"))
                .apply(Topology())
            throw error
        }
    }

    @Test("what a cloud whose directory was deleted left on the host is removed when the next cloud starts")
    func orphans() async throws {
        let ids = (0..<2).map { _ in UUID().uuidString.lowercased() }
        let gone = NSTemporaryDirectory() + "updraft-dataplane-" + ids[0]
        let next = NSTemporaryDirectory() + "updraft-dataplane-" + ids[1]
        defer {
            for path in [gone, next, gone + "-dhcp", next + "-dhcp"] { try? FileManager.default.removeItem(atPath: path) }
        }
        let external = Topology.Network(
            id: ids[0], external: true, mtu: 1500,
            subnets: [.init(id: "s0", cidr: "198.19.78.0/24", gateway: "198.19.78.1", dhcp: false, dnsServers: [], routes: [])],
            dhcpPort: nil, leases: [])
        let bridge = LinuxNet.Names.bridge(network: ids[0])
        let old = LinuxDataplane(directory: gone, dhcpDirectory: gone + "-dhcp", logger: Logger(label: "test"))
        let record = LinuxDataplane.registry + "/" + LinuxDataplane.fingerprint(gone)
        _ = try await old.apply(Topology(networks: [external], vmPorts: [], routers: []))
        #expect(try await LinuxNet.Links.exists(bridge))
        #expect(FileManager.default.fileExists(atPath: record))

        // Its data directory goes without `remove-network`; the bridge stays until another cloud starts.
        try FileManager.default.removeItem(atPath: gone)
        #expect(try await LinuxNet.Links.exists(bridge))
        _ = try await LinuxDataplane(directory: next, dhcpDirectory: next + "-dhcp", logger: Logger(label: "test"))
            .apply(Topology())
        #expect(try await !LinuxNet.Links.exists(bridge))
        #expect(try await !LinuxNet.NFTables.tables().contains("inet " + LinuxDataplane.guardTable(bridge)))
        #expect(!FileManager.default.fileExists(atPath: record))
    }
}
