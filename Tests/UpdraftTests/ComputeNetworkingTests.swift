import Foundation
import Logging
import Testing
import UpdraftCore
import UpdraftDatabase
import UpdraftNetwork

@testable import UpdraftCompute
@testable import UpdraftServer

/// Compute and networking together on the fake driver and the fake dataplane: servers get
/// ports, are ACTIVE only once they are wired, show their addresses, and give their ports back.
@Suite("Compute with networking")
struct ComputeNetworkingTests {
    static let member = ComputeServiceTests.member
    static let project = ComputeServiceTests.project

    static func withCloud(
        _ body: @Sendable (ComputeService, NetworkService, FakeDriver) async throws -> Void
    ) async throws {
        try await ComputeServiceTests.withCompute(migrations: NetworkSchema.migrations) { database in
            let network = NetworkService(database: database, dataplane: FakeDataplane(), logger: Logger(label: "test"))
            try await network.bootstrap(adminProjectID: "admin")
            return (NetworkBridge(network: network, zone: "nova"), network, [{ try await network.run() }])
        } _: { compute, driver, _, network in
            try await body(compute, network, driver)
        }
    }

    /// A member's network with one DHCP subnet; returns the network's id.
    static func network(_ service: NetworkService, _ name: String, _ cidr: String) async throws -> String {
        let network = try await service.createNetwork(JSONObject(["name": .string(name)], path: "network"), caller: member)
        _ = try await service.createSubnet(
            JSONObject(
                ["network_id": .string(network.id), "cidr": .string(cidr), "ip_version": 4], path: "subnet"),
            caller: member)
        return network.id
    }

    static func create(_ compute: ComputeService, _ networks: NetworkRequest, groups: [String] = []) async throws
        -> Instance
    {
        var request = ComputeService.CreateRequest(name: "vm", imageID: "img", flavorID: "42")
        request.networks = networks
        request.securityGroups = groups
        return try #require(try await compute.createServers(request, caller: member, requestID: "req").servers.first)
    }

    @Test("a server on a network gets a wired port, shows its address, and deletes the port with it")
    func serverOnNetwork() async throws {
        try await Self.withCloud { compute, network, driver in
            let net = try await Self.network(network, "lab", "10.20.0.0/24")
            let server = try await Self.create(compute, .list([NICRequest(networkID: net, fixedIP: "10.20.0.50")]))
            _ = try await ComputeServiceTests.wait(compute, server.id, "ACTIVE")
            let ports = try await network.listPorts(caller: .system, deviceID: server.id)
            let port = try #require(ports.first)
            #expect(ports.count == 1 && port.status == "ACTIVE" && port.deviceOwner == "compute:nova")
            #expect(port.hostID == "fake-host")
            // Going ACTIVE is a change readers of kept bodies see: the version moved past the one it was made with.
            let versions = try await network.portVersions(caller: .system, deviceID: server.id)
            #expect(versions.first?.version.revision == port.revision && port.revision >= 2)
            #expect(try await driver.nics(server.id).map(\.portID) == [port.id])
            #expect(try await driver.nics(server.id).first?.tap.hasPrefix("updt") == true)

            let view = try #require(try await compute.networking(of: [server])[server.id])
            #expect(view.addresses.first?.network == "lab")
            #expect(view.addresses.first?.addresses.map(\.address) == ["10.20.0.50"])
            #expect(view.securityGroups == ["default"])
            #expect(try await compute.interfaces(server.id, caller: Self.member).map(\.portID) == [port.id])

            try await compute.deleteServer(server.id, caller: Self.member, requestID: "req-d")
            for _ in 0..<300 where !(try await network.listPorts(caller: .system, deviceID: server.id).isEmpty) {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(try await network.listPorts(caller: .system, deviceID: server.id).isEmpty)
        }
    }

    @Test("a port the user brought is unbound, not deleted, when the server goes")
    func userPortKept() async throws {
        try await Self.withCloud { compute, network, _ in
            let net = try await Self.network(network, "lab", "10.21.0.0/24")
            let port = try await network.createPort(
                JSONObject(["network_id": .string(net)], path: "port"), caller: Self.member)
            let server = try await Self.create(compute, .list([NICRequest(portID: port.id)]))
            _ = try await ComputeServiceTests.wait(compute, server.id, "ACTIVE")
            #expect(try await network.port(port.id, caller: .system).deviceID == server.id)
            do {
                _ = try await Self.create(compute, .list([NICRequest(portID: port.id)]))
                Issue.record("a port in use was accepted")
            } catch let error as UpdraftError {
                #expect(error.code == .conflict)
            }
            try await compute.deleteServer(server.id, caller: Self.member, requestID: "req-d")
            for _ in 0..<300 where try await network.port(port.id, caller: .system).deviceID == server.id {
                try await Task.sleep(for: .milliseconds(10))
            }
            let after = try await network.port(port.id, caller: .system)
            #expect(after.deviceID.isEmpty && after.deviceOwner.isEmpty && after.hostID.isEmpty)
        }
    }

    @Test("none gives no NIC, auto makes the project a network, and two networks are ambiguous")
    func choosingNetworks() async throws {
        try await Self.withCloud { compute, network, driver in
            let bare = try await Self.create(compute, .none)
            _ = try await ComputeServiceTests.wait(compute, bare.id, "ACTIVE")
            #expect(try await driver.nics(bare.id).isEmpty)

            let auto = try await Self.create(compute, .auto)
            _ = try await ComputeServiceTests.wait(compute, auto.id, "ACTIVE")
            let view = try #require(try await compute.networking(of: [auto])[auto.id])
            #expect(view.addresses.first?.addresses.first?.address.hasPrefix("10.0.0.") == true)

            _ = try await Self.network(network, "second", "10.22.0.0/24")
            do {
                _ = try await Self.create(compute, .auto)
                Issue.record("two networks were not ambiguous")
            } catch let error as UpdraftError {
                #expect(error.code == .conflict)
            }
            do {
                _ = try await Self.create(compute, .list([NICRequest(networkID: UUID().uuidString.lowercased())]))
                Issue.record("an unknown network was accepted")
            } catch let error as UpdraftError {
                #expect(error.code == .badRequest)
            }
            do {
                _ = try await Self.create(compute, .none, groups: ["no-such-group"])
                Issue.record("an unknown security group was accepted")
            } catch let error as UpdraftError {
                #expect(error.code == .badRequest)
            }
        }
    }

    @Test("interfaces attach to and detach from a running server; security groups follow its ports")
    func interfacesAndGroups() async throws {
        try await Self.withCloud { compute, network, driver in
            let first = try await Self.network(network, "a", "10.23.0.0/24")
            let second = try await Self.network(network, "b", "10.24.0.0/24")
            let server = try await Self.create(compute, .list([NICRequest(networkID: first)]))
            _ = try await ComputeServiceTests.wait(compute, server.id, "ACTIVE")
            let attached = try await compute.attachInterface(
                server.id, NICRequest(networkID: second), caller: Self.member)
            #expect(attached.state == "ACTIVE")
            #expect(try await driver.nics(server.id).count == 2)
            try await compute.detachInterface(server.id, portID: attached.portID, caller: Self.member)
            #expect(try await driver.nics(server.id).count == 1)
            #expect(try await network.listPorts(caller: .system, deviceID: server.id).count == 1)

            let group = try await network.createSecurityGroup(
                JSONObject(["name": "web"], path: "security_group"), caller: Self.member)
            try await compute.changeSecurityGroup(server.id, group: "web", add: true, caller: Self.member)
            #expect(
                try await network.listPorts(caller: .system, deviceID: server.id).first?.securityGroups.contains(group.id)
                    == true)
            #expect(try await compute.networking(of: [server])[server.id]?.securityGroups.sorted() == ["default", "web"])
            try await compute.changeSecurityGroup(server.id, group: "web", add: false, caller: Self.member)
            do {
                try await compute.changeSecurityGroup(server.id, group: "web", add: false, caller: Self.member)
                Issue.record("removing a group the server does not have succeeded")
            } catch let error as UpdraftError {
                #expect(error.code == .badRequest)
            }
        }
    }
}
