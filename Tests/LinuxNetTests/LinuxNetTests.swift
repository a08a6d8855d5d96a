import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import LinuxNet

/// Real namespaces, bridges, taps, nftables and dnsmasq: needs root and the programs, and
/// removes everything it made, pass or fail.
@Suite("Linux networking", .enabled(if: getuid() == 0 && LinuxNet.missingPrograms().isEmpty))
struct LinuxNetTests {
    static func unique() -> String { UUID().uuidString.lowercased() }

    @Test("names fit Linux's 15 bytes and carry Updraft's prefix")
    func names() {
        let id = Self.unique()
        for name in [LinuxNet.Names.bridge(network: id), LinuxNet.Names.tap(port: id), LinuxNet.Names.bridgeEnd(port: id)] {
            #expect(name.utf8.count == 15)
            #expect(LinuxNet.Names.isOurs(name))
        }
        #expect(!LinuxNet.Names.isOurs("eth0"))
        #expect(throws: LinuxNet.Error.self) { try LinuxNet.Links.checkName("eth0") }
    }

    @Test("a namespace with a bridge, a tap and a veth leg is made twice without harm and removed whole")
    func links() async throws {
        let id = Self.unique()
        let namespace = "updraft-net-" + id
        let other = "updraft-router-" + id
        do {
            for _ in 0..<2 {
                try await LinuxNet.Namespaces.add(namespace)
                try await LinuxNet.Namespaces.add(other)
                let bridge = LinuxNet.Names.bridge(network: id)
                try await LinuxNet.Links.addBridge(bridge, in: namespace)
                try await LinuxNet.Links.addTap(LinuxNet.Names.tap(port: id), bridge: bridge, in: namespace)
                try await LinuxNet.Links.addVeth(
                    LinuxNet.Names.bridgeEnd(port: id), in: namespace, peer: LinuxNet.Names.namespaceEnd(port: id), in: other,
                    mac: "fa:16:3e:00:00:01")
                try await LinuxNet.Links.setMaster(LinuxNet.Names.bridgeEnd(port: id), bridge: bridge, in: namespace)
                try await LinuxNet.Links.setAddresses(["10.77.0.1/24"], on: LinuxNet.Names.namespaceEnd(port: id), in: other)
            }
            let inside = try await LinuxNet.Links.ours(in: namespace)
            #expect(
                Set(inside) == [
                    LinuxNet.Names.bridge(network: id), LinuxNet.Names.tap(port: id), LinuxNet.Names.bridgeEnd(port: id),
                ])
            #expect(try await LinuxNet.Links.ours(in: other) == [LinuxNet.Names.namespaceEnd(port: id)])
            // QEMU's way in: the tap opened from a thread inside the namespace.
            let fd = try await LinuxNet.openTap(LinuxNet.Names.tap(port: id), in: namespace)
            #expect(fd >= 0)
            close(fd)
            try await LinuxNet.Namespaces.delete(namespace)
            try await LinuxNet.Namespaces.delete(other)
            #expect(try await !LinuxNet.Namespaces.all().contains(namespace))
            // The veth went with its namespace.
            #expect(try await LinuxNet.Links.ours().filter { $0.hasSuffix(String(id.prefix(11))) }.isEmpty)
        } catch {
            try? await LinuxNet.Namespaces.delete(namespace)
            try? await LinuxNet.Namespaces.delete(other)
            throw error
        }
    }

    @Test("a table is replaced in one transaction and removed; names outside Updraft's are refused")
    func nftables() async throws {
        let namespace = "updraft-net-" + Self.unique()
        try await LinuxNet.Namespaces.add(namespace)
        do {
            try await LinuxNet.NFTables.replaceTable(
                "inet", "updraft_test", body: "  chain c {\n    type filter hook forward priority filter; policy accept;\n  }",
                in: namespace)
            try await LinuxNet.NFTables.replaceTable("inet", "updraft_test", body: "  chain d {\n  }", in: namespace)
            #expect(try await LinuxNet.NFTables.tables(in: namespace) == ["inet updraft_test"])
            try await LinuxNet.NFTables.deleteTable("inet", "updraft_test", in: namespace)
            try await LinuxNet.NFTables.deleteTable("inet", "updraft_test", in: namespace)
            #expect(try await LinuxNet.NFTables.tables(in: namespace).isEmpty)
            await #expect(throws: LinuxNet.Error.self) {
                try await LinuxNet.NFTables.deleteTable("inet", "filter", in: namespace)
            }
        } catch {
            try? await LinuxNet.Namespaces.delete(namespace)
            throw error
        }
        try await LinuxNet.Namespaces.delete(namespace)
    }

    @Test("dnsmasq serves a bridge in a namespace, reloads its leases in place and stops")
    func dnsmasq() async throws {
        let id = Self.unique()
        let namespace = "updraft-net-" + id
        let directory = NSTemporaryDirectory() + "updraft-dnsmasq-" + id
        let bridge = LinuxNet.Names.bridge(network: id)
        let server = LinuxNet.Dnsmasq(namespace: namespace, interface: bridge, directory: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await LinuxNet.Namespaces.add(namespace)
        do {
            try await LinuxNet.Links.addBridge(bridge, in: namespace)
            try await LinuxNet.Links.setAddresses(["10.78.0.2/24"], on: bridge, in: namespace)
            let subnet = LinuxNet.Dnsmasq.Subnet(
                network: "10.78.0.0", mask: "255.255.255.0", gateway: "10.78.0.1",
                routes: [.init(destination: "169.254.169.254/32", nextHop: "10.78.0.2")])
            try await server.start(
                subnets: [subnet], hosts: [.init(mac: "fa:16:3e:00:00:05", address: "10.78.0.5", hostname: "vm5")])
            let pid = try #require(server.runningPID())
            try await server.start(
                subnets: [subnet],
                hosts: [.init(mac: "fa:16:3e:00:00:06", address: "10.78.0.6", hostname: "vm6")])
            #expect(server.runningPID() == pid)
            let hosts = try String(contentsOfFile: directory + "/hosts", encoding: .utf8)
            #expect(hosts.contains("10.78.0.6") && !hosts.contains("10.78.0.5"))
            let options = try String(contentsOfFile: directory + "/options", encoding: .utf8)
            #expect(options.contains("classless-static-route,169.254.169.254/32,10.78.0.2,0.0.0.0/0,10.78.0.1"))
            try await server.stop()
            #expect(server.runningPID() == nil)
        } catch {
            try? await server.stop()
            try? await LinuxNet.Namespaces.delete(namespace)
            throw error
        }
        try await LinuxNet.Namespaces.delete(namespace)
    }
}
