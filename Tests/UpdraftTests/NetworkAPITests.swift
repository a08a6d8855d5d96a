import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import UpdraftServer

/// The networking API in process, on the fake dataplane: Neutron's bodies, rules and faults.
@Suite("Network API")
struct NetworkAPITests {
    /// A cloud with networking, an admin token, and a member of a fresh project.
    static func withNetworking(
        _ body: @Sendable (any TestClientProtocol, _ admin: String, _ member: String, _ project: String) async throws -> Void
    ) async throws {
        try await IdentityAPITests.withParts(apis: RouteAccessTests.apis) { client, password, _, _ in
            let admin = try await ComputeAPITests.token(client, password)
            let (project, member) = try await RouteAccessTests.userToken(client, admin: admin, role: "member", name: "netuser")
            try await body(client, admin, member, project)
        }
    }

    /// Sends `body` and returns the status and the parsed JSON answer.
    static func call(
        _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, _ token: String, _ body: String? = nil
    ) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await client.execute(
            uri: "/networking/v2.0/" + path, method: method, headers: [.authToken: token, .contentType: "application/json"],
            body: body.map { ByteBuffer(string: $0) }
        ) { response in
            let json = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
            return (response.status, json)
        }
    }

    static func id(_ json: [String: Any], _ key: String) throws -> String {
        try #require((json[key] as? [String: Any])?["id"] as? String)
    }

    static func neutronType(_ json: [String: Any]) -> String? {
        (json["NeutronError"] as? [String: Any])?["type"] as? String
    }

    @Test("a member makes a network and subnet with Neutron's defaults; provider attributes are an admin's")
    func networkAndSubnet() async throws {
        try await Self.withNetworking { client, _, member, project in
            let (status, created) = try await Self.call(client, .post, "networks", member, #"{"network": {"name": "net1"}}"#)
            #expect(status == .created)
            let network = try #require(created["network"] as? [String: Any])
            #expect(network["project_id"] as? String == project)
            #expect(network["tenant_id"] as? String == project)
            #expect(network["admin_state_up"] as? Bool == true)
            #expect(network["router:external"] as? Bool == false)
            #expect(network["provider:network_type"] == nil)
            let networkID = try #require(network["id"] as? String)

            let (shared, refused) = try await Self.call(
                client, .post, "networks", member, #"{"network": {"name": "n", "shared": true}}"#)
            #expect(shared == .forbidden)
            #expect(Self.neutronType(refused) != nil)

            let (subnetStatus, subnetBody) = try await Self.call(
                client, .post, "subnets", member,
                #"{"subnet": {"network_id": "\#(networkID)", "cidr": "10.0.0.0/24", "ip_version": 4, "name": "sub1"}}"#)
            #expect(subnetStatus == .created)
            let subnet = try #require(subnetBody["subnet"] as? [String: Any])
            #expect(subnet["gateway_ip"] as? String == "10.0.0.1")
            #expect((subnet["allocation_pools"] as? [[String: String]]) == [["start": "10.0.0.2", "end": "10.0.0.254"]])
            #expect(subnet["enable_dhcp"] as? Bool == true)

            let (overlap, overlapBody) = try await Self.call(
                client, .post, "subnets", member,
                #"{"subnet": {"network_id": "\#(networkID)", "cidr": "10.0.0.128/25", "ip_version": 4}}"#)
            #expect(overlap == .badRequest)
            #expect(Self.neutronType(overlapBody) == "InvalidInput")
            let (badCIDR, _) = try await Self.call(
                client, .post, "subnets", member,
                #"{"subnet": {"network_id": "\#(networkID)", "cidr": "10.1.0.5/24", "ip_version": 4}}"#)
            #expect(badCIDR == .badRequest)

            // The DHCP port holds the first free address.
            let (_, ports) = try await Self.call(client, .get, "ports?network_id=\(networkID)&device_owner=network:dhcp", member)
            let dhcp = try #require((ports["ports"] as? [[String: Any]])?.first)
            #expect(((dhcp["fixed_ips"] as? [[String: String]])?.first)?["ip_address"] == "10.0.0.2")

            let (_, shown) = try await Self.call(client, .get, "networks/\(networkID)", member)
            #expect((shown["network"] as? [String: Any])?["subnets"] as? [String] == [try #require(subnet["id"] as? String)])
        }
    }

    @Test("ports get the next free address, an address in use is 409, and a network with ports cannot go")
    func ports() async throws {
        try await Self.withNetworking { client, _, member, _ in
            let networkID = try Self.id(
                try await Self.call(client, .post, "networks", member, #"{"network": {"name": "n"}}"#).1, "network")
            let subnetID = try Self.id(
                try await Self.call(
                    client, .post, "subnets", member,
                    #"{"subnet": {"network_id": "\#(networkID)", "cidr": "192.168.5.0/24", "ip_version": 4}}"#
                ).1, "subnet")
            let (status, body) = try await Self.call(
                client, .post, "ports", member, #"{"port": {"network_id": "\#(networkID)"}}"#)
            #expect(status == .created)
            let port = try #require(body["port"] as? [String: Any])
            #expect((port["fixed_ips"] as? [[String: String]]) == [["subnet_id": subnetID, "ip_address": "192.168.5.3"]])
            #expect((port["mac_address"] as? String)?.hasPrefix("fa:16:3e:") == true)
            #expect((port["security_groups"] as? [String])?.count == 1)
            #expect(port["binding:host_id"] == nil)

            let (taken, takenBody) = try await Self.call(
                client, .post, "ports", member,
                #"{"port": {"network_id": "\#(networkID)", "fixed_ips": [{"ip_address": "192.168.5.3"}]}}"#)
            #expect(taken == .conflict)
            #expect(Self.neutronType(takenBody) == "IpAddressAlreadyAllocated")

            let (inUse, inUseBody) = try await Self.call(client, .delete, "networks/\(networkID)", member)
            #expect(inUse == .conflict)
            #expect(Self.neutronType(inUseBody) == "NetworkInUse")
            #expect(try await Self.call(client, .delete, "ports/\(try #require(port["id"] as? String))", member).0 == .noContent)
            #expect(try await Self.call(client, .delete, "networks/\(networkID)", member).0 == .noContent)
            #expect(try await Self.call(client, .get, "networks/\(networkID)", member).0 == .notFound)
        }
    }

    /// Whether the whole port list (kept bodies) says what the paged list (encoded afresh) says.
    static func portListsAgree(_ client: any TestClientProtocol, _ token: String) async throws -> [String: [String: Any]] {
        func byID(_ query: String) async throws -> [String: NSDictionary] {
            let (status, body) = try await Self.call(client, .get, "ports" + query, token)
            #expect(status == .ok)
            let ports = try #require(body["ports"] as? [[String: Any]])
            return Dictionary(uniqueKeysWithValues: ports.map { ($0["id"] as? String ?? "", $0 as NSDictionary) })
        }
        let kept = try await byID("")
        let fresh = try await byID("?limit=1000")
        #expect(kept == fresh)
        // `fields` alone is written by the encoder; the same attributes as a paged list's.
        let picked = try await byID("?fields=id&fields=name&fields=fixed_ips")
        let pickedPaged = try await byID("?fields=id&fields=name&fields=fixed_ips&limit=1000")
        #expect(picked == pickedPaged)
        #expect(picked.values.allSatisfy { Set(($0 as? [String: Any] ?? [:]).keys) == ["id", "name", "fixed_ips"] })
        return kept.mapValues { $0 as? [String: Any] ?? [:] }
    }

    @Test("a whole port list kept between calls shows every change: names, tags, addresses, routers, bindings, deletes")
    func keptPortList() async throws {
        try await Self.withNetworking { client, admin, member, _ in
            let networkID = try Self.id(
                try await Self.call(client, .post, "networks", member, #"{"network": {"name": "kept"}}"#).1, "network")
            _ = try await Self.call(
                client, .post, "subnets", member,
                #"{"subnet": {"network_id": "\#(networkID)", "cidr": "10.44.0.0/24", "ip_version": 4}}"#)
            var ids: [String] = []
            for index in 0..<3 {
                ids.append(
                    try Self.id(
                        try await Self.call(
                            client, .post, "ports", member, #"{"port": {"network_id": "\#(networkID)", "name": "p\#(index)"}}"#
                        ).1, "port"))
            }
            var ports = try await Self.portListsAgree(client, member)
            #expect(ports.count == 4)  // and the network's DHCP port
            _ = try await Self.portListsAgree(client, admin)

            _ = try await Self.call(client, .put, "ports/\(ids[0])", member, #"{"port": {"name": "renamed"}}"#)
            ports = try await Self.portListsAgree(client, member)
            #expect(ports[ids[0]]?["name"] as? String == "renamed")

            let revision = ports[ids[1]]?["revision_number"] as? Int ?? 0
            #expect(try await Self.call(client, .put, "ports/\(ids[1])/tags/red", member).0 == .created)
            ports = try await Self.portListsAgree(client, member)
            #expect(ports[ids[1]]?["tags"] as? [String] == ["red"])
            #expect(ports[ids[1]]?["revision_number"] as? Int ?? 0 > revision)

            // A second subnet gives the DHCP port a second address.
            _ = try await Self.call(
                client, .post, "subnets", member,
                #"{"subnet": {"network_id": "\#(networkID)", "cidr": "10.45.0.0/24", "ip_version": 4}}"#)
            ports = try await Self.portListsAgree(client, member)
            let dhcp = try #require(ports.values.first { $0["device_owner"] as? String == "network:dhcp" })
            #expect((dhcp["fixed_ips"] as? [Any])?.count == 2)

            let routerID = try Self.id(
                try await Self.call(client, .post, "routers", member, #"{"router": {"name": "r"}}"#).1, "router")
            let (added, _) = try await Self.call(
                client, .put, "routers/\(routerID)/add_router_interface", member, #"{"port_id": "\#(ids[2])"}"#)
            #expect(added == .ok)
            ports = try await Self.portListsAgree(client, member)
            #expect(ports[ids[2]]?["device_owner"] as? String == "network:router_interface")

            // An administrator's view (binding fields) is kept apart from a member's.
            _ = try await Self.call(client, .put, "ports/\(ids[1])", admin, #"{"port": {"binding:host_id": "h"}}"#)
            ports = try await Self.portListsAgree(client, admin)
            #expect(ports[ids[1]]?["binding:host_id"] as? String == "h")
            #expect(try await Self.portListsAgree(client, member)[ids[1]]?["binding:host_id"] == nil)

            #expect(try await Self.call(client, .delete, "ports/\(ids[0])", member).0 == .noContent)
            ports = try await Self.portListsAgree(client, member)
            #expect(ports[ids[0]] == nil)
        }
    }

    @Test("the default security group comes on first use; rules are checked and not duplicated")
    func securityGroups() async throws {
        try await Self.withNetworking { client, _, member, _ in
            let (_, listed) = try await Self.call(client, .get, "security-groups", member)
            let groups = try #require(listed["security_groups"] as? [[String: Any]])
            #expect(groups.count == 1)
            #expect(groups.first?["name"] as? String == "default")
            #expect((groups.first?["security_group_rules"] as? [Any])?.count == 4)
            let group = try #require(groups.first?["id"] as? String)
            let rule =
                #"{"security_group_rule": {"security_group_id": "\#(group)", "direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}}"#
            #expect(try await Self.call(client, .post, "security-group-rules", member, rule).0 == .created)
            let (again, againBody) = try await Self.call(client, .post, "security-group-rules", member, rule)
            #expect(again == .conflict)
            #expect(Self.neutronType(againBody) == "SecurityGroupRuleExists")
            let (bad, _) = try await Self.call(
                client, .post, "security-group-rules", member,
                #"{"security_group_rule": {"security_group_id": "\#(group)", "direction": "ingress", "protocol": "nope"}}"#)
            #expect(bad == .badRequest)
            let (range, _) = try await Self.call(
                client, .post, "security-group-rules", member,
                #"{"security_group_rule": {"security_group_id": "\#(group)", "direction": "ingress", "protocol": "tcp", "port_range_min": 30, "port_range_max": 20}}"#
            )
            #expect(range == .badRequest)
            let (defaultDelete, _) = try await Self.call(client, .delete, "security-groups/\(group)", member)
            #expect(defaultDelete == .conflict)
        }
    }

    @Test("a router with a gateway on public and an interface carries a floating IP to a port")
    func routersAndFloatingIPs() async throws {
        try await Self.withNetworking { client, _, member, _ in
            let (_, externals) = try await Self.call(client, .get, "networks?router:external=True", member)
            let publicNet = try #require((externals["networks"] as? [[String: Any]])?.first)
            #expect(publicNet["name"] as? String == "public")
            let publicID = try #require(publicNet["id"] as? String)

            let networkID = try Self.id(
                try await Self.call(client, .post, "networks", member, #"{"network": {"name": "n"}}"#).1, "network")
            let subnetID = try Self.id(
                try await Self.call(
                    client, .post, "subnets", member,
                    #"{"subnet": {"network_id": "\#(networkID)", "cidr": "10.5.0.0/24", "ip_version": 4}}"#
                ).1, "subnet")
            let (routerStatus, routerBody) = try await Self.call(
                client, .post, "routers", member,
                #"{"router": {"name": "r1", "external_gateway_info": {"network_id": "\#(publicID)"}}}"#)
            #expect(routerStatus == .created)
            let router = try #require(routerBody["router"] as? [String: Any])
            let gateway = try #require(router["external_gateway_info"] as? [String: Any])
            #expect((gateway["external_fixed_ips"] as? [[String: String]])?.first?["ip_address"]?.hasPrefix("198.18.0.") == true)
            let routerID = try #require(router["id"] as? String)

            let portID = try Self.id(
                try await Self.call(client, .post, "ports", member, #"{"port": {"network_id": "\#(networkID)"}}"#).1, "port")
            let (noRoute, noRouteBody) = try await Self.call(
                client, .post, "floatingips", member,
                #"{"floatingip": {"floating_network_id": "\#(publicID)", "port_id": "\#(portID)"}}"#)
            #expect(noRoute == .notFound)
            #expect(Self.neutronType(noRouteBody) == "ExternalGatewayForFloatingIPNotFound")

            let (added, info) = try await Self.call(
                client, .put, "routers/\(routerID)/add_router_interface", member, #"{"subnet_id": "\#(subnetID)"}"#)
            #expect(added == .ok)
            #expect(info["subnet_id"] as? String == subnetID)

            let (fipStatus, fipBody) = try await Self.call(
                client, .post, "floatingips", member,
                #"{"floatingip": {"floating_network_id": "\#(publicID)", "port_id": "\#(portID)"}}"#)
            #expect(fipStatus == .created)
            let floating = try #require(fipBody["floatingip"] as? [String: Any])
            #expect(floating["router_id"] as? String == routerID)
            #expect(floating["status"] as? String == "ACTIVE")

            let (busy, busyBody) = try await Self.call(
                client, .put, "routers/\(routerID)/remove_router_interface", member, #"{"subnet_id": "\#(subnetID)"}"#)
            #expect(busy == .conflict)
            #expect(Self.neutronType(busyBody) == "RouterInterfaceInUseByFloatingIP")
            #expect(try await Self.call(client, .delete, "routers/\(routerID)", member).0 == .conflict)
        }
    }

    @Test("quotas are enforced with Neutron's 409, and lists filter, page and pick fields")
    func quotasAndLists() async throws {
        try await Self.withNetworking { client, admin, member, project in
            #expect(try await Self.call(client, .put, "quotas/\(project)", admin, #"{"quota": {"network": 2}}"#).0 == .ok)
            for name in ["a", "b"] {
                #expect(
                    try await Self.call(client, .post, "networks", member, #"{"network": {"name": "\#(name)"}}"#).0 == .created)
            }
            let (over, overBody) = try await Self.call(client, .post, "networks", member, #"{"network": {"name": "c"}}"#)
            #expect(over == .conflict)
            #expect(Self.neutronType(overBody) == "OverQuota")
            #expect(
                try await Self.call(client, .put, "quotas/\(project)", member, #"{"quota": {"network": 50}}"#).0 == .forbidden)

            let (_, named) = try await Self.call(client, .get, "networks?name=b&fields=name", member)
            #expect((named["networks"] as? [[String: Any]])?.map { $0.keys.sorted() } == [["name"]])
            let (_, page) = try await Self.call(client, .get, "networks?limit=1&sort_key=name&sort_dir=asc", member)
            let first = try #require((page["networks"] as? [[String: Any]])?.first)
            #expect(first["name"] as? String == "a")
            let links = try #require(page["networks_links"] as? [[String: String]])
            #expect(links.first?["rel"] == "next")
        }
    }

    @Test("auto-allocation gives a project a routed network once, keeps it, refuses a reader, and tears it down")
    func autoAllocation() async throws {
        try await Self.withNetworking { client, admin, member, project in
            let (status, body) = try await Self.call(client, .get, "auto-allocated-topology/\(project)", member)
            #expect(status == .ok)
            let topology = try #require(body["auto_allocated_topology"] as? [String: Any])
            let networkID = try #require(topology["id"] as? String)
            #expect(topology["project_id"] as? String == project)
            let (_, again) = try await Self.call(client, .get, "auto-allocated-topology/\(project)", member)
            #expect((again["auto_allocated_topology"] as? [String: Any])?["id"] as? String == networkID)

            let (_, subnets) = try await Self.call(client, .get, "subnets?network_id=\(networkID)", member)
            #expect((subnets["subnets"] as? [[String: Any]])?.first?["cidr"] as? String == "10.0.0.0/24")
            let (_, routers) = try await Self.call(client, .get, "routers?name=auto_allocated_router", member)
            let router = try #require((routers["routers"] as? [[String: Any]])?.first)
            #expect((router["external_gateway_info"] as? [String: Any])?["network_id"] != nil)

            let reader = try await RouteAccessTests.readerToken(client, admin: admin)
            let (other, _) = try await Self.call(client, .get, "auto-allocated-topology/\(project)", reader)
            #expect(other == .forbidden)

            #expect(try await Self.call(client, .delete, "auto-allocated-topology/\(project)", member).0 == .noContent)
            #expect(try await Self.call(client, .get, "networks/\(networkID)", member).0 == .notFound)
        }
    }
}
