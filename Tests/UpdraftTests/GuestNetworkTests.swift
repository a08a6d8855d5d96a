import Foundation
import GuestImage
import Logging
import QEMU
import Testing

@testable import LinuxNet
@testable import UpdraftNetwork

#if canImport(Glibc)
    import Glibc
#endif

/// The built tiny guest image, when `updraft image build tiny` has run on this machine.
private let tinyImage = GuestImage.cached(
    cacheDirectory: GuestImage.defaultCacheDirectory(environment: ProcessInfo.processInfo.environment))

/// A real guest (the built tiny image, under QEMU) on a tenant network the Linux dataplane
/// carries: its tap lives in the network's namespace and reaches QEMU as an inherited
/// descriptor, dnsmasq gives it its address, and its security group decides who reaches it.
@Suite(
    "Guest on a tenant network",
    .enabled(
        if: getuid() == 0 && LinuxNet.missingPrograms().isEmpty && (try? QEMU.locateBinary("qemu-system-x86_64")) != nil
            && tinyImage != nil,
        "needs root, ip/nft/dnsmasq/sysctl, QEMU and the built tiny image (updraft image build tiny)"))
struct GuestNetworkTests {
    /// The tenant network with the guest's port; with `router`, also an external network in
    /// the host (198.19.81.0/24) and a router that gives the guest floating IP 198.19.81.20.
    static func topology(network: String, dhcp: String, vm: String, rules: [Topology.Rule], router: String? = nil)
        -> Topology
    {
        var topology = Topology(
            networks: [
                Topology.Network(
                    id: network, external: false, mtu: 1500,
                    subnets: [
                        .init(id: "s1", cidr: "10.81.0.0/24", gateway: "10.81.0.1", dhcp: true, dnsServers: [], routes: [])
                    ],
                    dhcpPort: Topology.Port(
                        id: dhcp, networkID: network, mac: "fa:16:3e:81:00:02", addresses: ["10.81.0.2/24"], portSecurity: false),
                    leases: [.init(mac: "fa:16:3e:81:00:05", address: "10.81.0.5", hostname: "host-10-81-0-5")])
            ],
            vmPorts: [
                Topology.Port(id: vm, networkID: network, mac: "fa:16:3e:81:00:05", addresses: ["10.81.0.5/24"], rules: rules)
            ])
        guard let router else { return topology }
        let external = "e" + router.dropFirst()
        topology.networks.append(
            Topology.Network(
                id: external, external: true, mtu: 1500,
                subnets: [
                    .init(id: "s0", cidr: "198.19.81.0/24", gateway: "198.19.81.1", dhcp: false, dnsServers: [], routes: [])
                ],
                dhcpPort: nil, leases: []))
        topology.routers.append(
            Topology.Router(
                id: router,
                interfaces: [
                    Topology.Port(
                        id: "a" + router.dropFirst(), networkID: network, mac: "fa:16:3e:81:00:01", addresses: ["10.81.0.1/24"],
                        portSecurity: false)
                ],
                gateway: Topology.Port(
                    id: "b" + router.dropFirst(), networkID: external, mac: "fa:16:3e:81:01:0a", addresses: ["198.19.81.10/24"],
                    portSecurity: false),
                gatewayNextHop: "198.19.81.1", snat: true, routes: [], floatingIPs: ["198.19.81.20": "10.81.0.5"]))
        return topology
    }

    @Test(
        "the guest gets its address by DHCP, is reached through its floating IP, and answers only while a rule allows it",
        .timeLimit(.minutes(4)))
    func dhcpAndSecurityGroups() async throws {
        let image = try #require(tinyImage)
        let ids = (0..<3).map { _ in UUID().uuidString.lowercased() }
        let (network, dhcp, vm) = (ids[0], ids[1], ids[2])
        let runtime = "/tmp/ud-net-" + String(vm.prefix(8))
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        let dataplane = LinuxDataplane(
            directory: runtime + "/network", dhcpDirectory: runtime + "/dhcp", logger: Logger(label: "test"))
        let namespace = LinuxNet.Names.networkNamespace(network: network)
        let out = Topology.Rule(ingress: false, ipv6: false, protocolNumber: nil, portMin: nil, portMax: nil, remotes: [])
        let ping = Topology.Rule(ingress: true, ipv6: false, protocolNumber: 1, portMin: nil, portMax: nil, remotes: [])
        let probe = LinuxNet.Names.routerNamespace(router: vm)
        var qemu: Int32?
        defer {
            if let qemu { kill(qemu, SIGKILL) }
        }
        do {
            _ = try await dataplane.apply(Self.topology(network: network, dhcp: dhcp, vm: vm, rules: [out, ping]))
            let tap = try await LinuxNet.openTap(LinuxNet.Names.tap(port: vm), in: namespace)
            defer { close(tap) }
            var machine = QEMU.MachineConfiguration(
                name: "updraft-nettest-\(vm)", uuid: vm, vcpus: 1, memoryMiB: 256, accelerator: .tcg(reason: "test"),
                disks: [.init(path: image.disk.path, format: .qcow2, readOnly: true)], serialLogPath: runtime + "/console.log",
                qmpSocketPath: runtime + "/qmp.sock", pidFilePath: runtime + "/qemu.pid",
                nics: [.init(tap: .descriptor(3), mac: "fa:16:3e:81:00:05")])
            machine.logPath = runtime + "/qemu.log"
            qemu = try await QEMU.Process().launch(machine, logFile: runtime + "/launch.log", descriptors: [tap])

            // The guest says which address DHCP gave it.
            var console = ""
            for _ in 0..<60 where !console.contains("has 10.81.0.5/24") {
                try await Task.sleep(for: .seconds(1))
                console = (try? String(contentsOfFile: runtime + "/console.log", encoding: .utf8)) ?? ""
            }
            #expect(console.contains("has 10.81.0.5/24"), "console: \(console.suffix(3000))")
            if ProcessInfo.processInfo.environment["KEEP"] != nil, !console.contains("has 10.81.0.5/24") {
                qemu = nil
                throw LinuxNet.Error.system("kept for inspection in \(runtime)")
            }

            // Another port on the network (a namespace with a leg on the bridge, as a router's is)
            // reaches the guest while ICMP is allowed ...
            try await LinuxNet.Namespaces.add(probe)
            try await LinuxNet.Links.addVeth(
                LinuxNet.Names.bridgeEnd(port: dhcp), in: namespace, peer: LinuxNet.Names.namespaceEnd(port: dhcp), in: probe)
            try await LinuxNet.Links.setMaster(
                LinuxNet.Names.bridgeEnd(port: dhcp), bridge: LinuxNet.Names.bridge(network: network), in: namespace)
            try await LinuxNet.Links.setAddresses(["10.81.0.9/24"], on: LinuxNet.Names.namespaceEnd(port: dhcp), in: probe)
            let allowed = try? await LinuxNet.run("ping", ["-c", "2", "-W", "2", "10.81.0.5"], in: probe)
            #expect(allowed?.contains(" 0 received") == false, "\(allowed ?? "ping failed")")

            // The host reaches the guest through its floating IP, via the router's NAT.
            let router = UUID().uuidString.lowercased()
            _ = try await dataplane.apply(
                Self.topology(network: network, dhcp: dhcp, vm: vm, rules: [out, ping], router: router))
            let floating = try? await LinuxNet.run("ping", ["-c", "2", "-W", "2", "198.19.81.20"])
            #expect(floating?.contains(" 0 received") == false, "\(floating ?? "ping through the floating IP failed")")

            // ... and not once the rule is gone: a rule change reaches a running guest.
            let start = ContinuousClock.now
            _ = try await dataplane.apply(Self.topology(network: network, dhcp: dhcp, vm: vm, rules: [out], router: router))
            print("security-group rule change applied in \(ContinuousClock.now - start)")
            let refused = try? await LinuxNet.run("ping", ["-c", "2", "-W", "1", "10.81.0.5"], in: probe)
            #expect(refused == nil, "\(refused ?? "")")
            let refusedOutside = try? await LinuxNet.run("ping", ["-c", "1", "-W", "1", "198.19.81.20"])
            #expect(refusedOutside == nil, "\(refusedOutside ?? "")")
            try await LinuxNet.Namespaces.delete(probe)
        } catch {
            if ProcessInfo.processInfo.environment["KEEP"] != nil { throw error }
            try? await LinuxNet.Namespaces.delete(probe)
            _ = try? await dataplane.apply(Topology())
            try? FileManager.default.removeItem(atPath: runtime)
            throw error
        }
        if let pid = qemu {
            kill(pid, SIGKILL)
            qemu = nil
        }
        _ = try await dataplane.apply(Topology())
        #expect(try await !LinuxNet.Namespaces.all().contains(namespace))
        try? FileManager.default.removeItem(atPath: runtime)
    }
}
