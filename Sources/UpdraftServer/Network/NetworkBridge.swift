import Foundation
import LinuxNet
import UpdraftCompute
import UpdraftCore
import UpdraftNetwork

/// Compute's view of the network service: servers' ports are Neutron ports (device owner
/// `compute:<zone>`, device id the server), made and changed through the same calls the API
/// serves, so every Neutron rule (quotas, addresses, security groups) holds for them too.
struct NetworkBridge: ComputeNetworks {
    let network: NetworkService
    let zone: String

    var owner: String { "compute:" + zone }

    func resolve(_ request: NetworkRequest, securityGroups: [String], caller: AuthContext) async throws
        -> (nics: [NICRequest], securityGroups: [String])
    {
        let groups = try await securityGroupIDs(securityGroups, caller: caller)
        switch request {
        case .none:
            return ([], groups)
        case .list(let nics):
            for nic in nics { try await check(nic, caller: caller) }
            return (nics, groups)
        case .unspecified, .auto:
            let usable = try await network.listNetworks(caller: caller).filter { candidate in
                !candidate.external && (candidate.shared || candidate.projectID == caller.projectID)
            }
            if usable.count > 1 {
                throw UpdraftError.conflict("Multiple possible networks found, use a Network ID to be more specific.")
            }
            if let only = usable.first { return ([NICRequest(networkID: only.id)], groups) }
            guard request == .auto, let project = caller.projectID else { return ([], groups) }
            guard let made = try await network.autoAllocatedTopology(project: project, caller: caller) else {
                throw UpdraftError.badRequest("Unable to automatically allocate a network for project \(project)")
            }
            return ([NICRequest(networkID: made)], groups)
        }
    }

    /// Nova's checks of one requested NIC: the port exists and is free, the network exists
    /// and is not external.
    private func check(_ nic: NICRequest, caller: AuthContext) async throws {
        if let portID = nic.portID {
            let port: UpdraftNetwork.Port
            do {
                port = try await network.port(portID, caller: caller)
            } catch let error as UpdraftError where error.code == .notFound {
                throw UpdraftError.badRequest("Port id \(portID) could not be found.")
            }
            if !port.deviceID.isEmpty { throw UpdraftError.conflict("Port \(portID) is still in use.") }
            return
        }
        guard let networkID = nic.networkID else { return }
        let found: Network
        do {
            found = try await network.network(networkID, caller: caller)
        } catch let error as UpdraftError where error.code == .notFound {
            throw UpdraftError.badRequest("Network \(networkID) could not be found.")
        }
        if found.external && !Policy.isAdmin(caller) {
            throw UpdraftError.forbidden("It is not allowed to create an interface on external network \(networkID)")
        }
    }

    /// Security groups by name or id, in the caller's project.
    private func securityGroupIDs(_ names: [String], caller: AuthContext) async throws -> [String] {
        guard !names.isEmpty, let project = caller.projectID else { return [] }
        try await network.ensureDefaultGroup(project)
        let groups = try await network.listSecurityGroups(caller: caller).filter { $0.projectID == project }
        return try Array(Set(names)).sorted().map { name in
            guard let group = groups.first(where: { $0.id == name }) ?? groups.first(where: { $0.name == name }) else {
                throw UpdraftError.badRequest("Security group \(name) not found for project \(project).")
            }
            return group.id
        }
    }

    func plug(_ instance: Instance, host: String) async throws -> [String] {
        let existing = try await network.listPorts(caller: .system, deviceID: instance.id)
        if !existing.isEmpty {
            for port in existing where port.hostID != host {
                _ = try await network.updatePort(port.id, body(["binding:host_id": .string(host)]), caller: .system)
            }
            return existing.map(\.id)
        }
        var ports: [String] = []
        for nic in instance.requestedNICs {
            ports.append(try await port(for: nic, instance: instance, host: host).id)
        }
        return ports
    }

    /// Binds the user's port, or makes one on the network, for `instance` on `host`.
    private func port(for nic: NICRequest, instance: Instance, host: String) async throws -> UpdraftNetwork.Port {
        var fields: [String: JSONValue] = [
            "device_id": .string(instance.id), "device_owner": .string(owner), "binding:host_id": .string(host),
        ]
        if let portID = nic.portID {
            return try await network.updatePort(portID, body(fields), caller: .system)
        }
        guard let networkID = nic.networkID else { throw UpdraftError.badRequest("A NIC needs a network or a port.") }
        fields["network_id"] = .string(networkID)
        fields["project_id"] = .string(instance.projectID)
        if let address = nic.fixedIP { fields["fixed_ips"] = .array([.object(["ip_address": .string(address)])]) }
        if !instance.securityGroups.isEmpty { fields["security_groups"] = .array(instance.securityGroups.map(JSONValue.string)) }
        return try await network.createPort(body(fields), caller: .system)
    }

    private func body(_ fields: [String: JSONValue]) -> JSONObject {
        JSONObject(fields, path: "port")
    }

    func waitWired(_ ports: [String], timeout: Duration) async throws {
        try await network.waitUntilActive(ports, timeout: timeout)
    }

    func nics(instance: String) async throws -> [InstanceSpec.NIC] {
        var subnets: [String: Subnet] = [:]
        var nics: [InstanceSpec.NIC] = []
        for port in try await network.listPorts(caller: .system, deviceID: instance)
        where port.deviceOwner.hasPrefix("compute:") {
            var addresses: [InstanceSpec.NIC.Address] = []
            for fixed in port.fixedIPs where !fixed.ipAddress.contains(":") {
                if subnets[fixed.subnetID] == nil {
                    subnets[fixed.subnetID] = try await network.subnet(fixed.subnetID, caller: .system)
                }
                guard let subnet = subnets[fixed.subnetID] else { continue }
                addresses.append(
                    .init(
                        address: fixed.ipAddress, cidr: subnet.cidr, gateway: subnet.gatewayIP, dhcp: subnet.enableDHCP,
                        dnsServers: subnet.dnsNameservers))
            }
            nics.append(
                InstanceSpec.NIC(
                    portID: port.id, networkID: port.networkID, mac: port.macAddress, tap: LinuxNet.Names.tap(port: port.id),
                    namespace: LinuxNet.Names.networkNamespace(network: port.networkID), addresses: addresses))
        }
        return nics
    }

    func unplug(_ instance: Instance) async throws {
        let kept = Set(instance.requestedNICs.compactMap(\.portID))
        for port in try await network.listPorts(caller: .system, deviceID: instance.id) {
            try await release(port.id, keep: kept.contains(port.id))
        }
    }

    /// Deletes a port compute made; unbinds one the user brought, as Nova does.
    private func release(_ portID: String, keep: Bool) async throws {
        do {
            if keep {
                _ = try await network.updatePort(
                    portID, body(["device_id": "", "device_owner": "", "binding:host_id": ""]), caller: .system)
            } else {
                try await network.deletePort(portID, caller: .system)
            }
        } catch let error as UpdraftError where error.code == .notFound {
            return
        }
    }

    func networking(of instances: [String]) async throws -> [String: ServerNetworking] {
        let found = try await network.devicePorts(instances)
        var result: [String: ServerNetworking] = [:]
        for port in found.ports where port.deviceOwner.hasPrefix("compute:") {
            var view = result[port.deviceID] ?? ServerNetworking()
            var addresses = port.fixedIPs.map { ip in
                ServerNetworking.Address(
                    address: ip.ipAddress, version: ip.ipAddress.contains(":") ? 6 : 4, type: "fixed", mac: port.macAddress)
            }
            for floating in found.floatingIPs[port.id] ?? [] {
                addresses.append(
                    .init(address: floating.floatingIPAddress, version: 4, type: "floating", mac: port.macAddress))
            }
            let name = found.networkNames[port.networkID] ?? port.networkID
            if let index = view.addresses.firstIndex(where: { $0.network == name }) {
                view.addresses[index].addresses += addresses
            } else {
                view.addresses.append((name, addresses))
            }
            for group in port.securityGroups.compactMap({ found.groupNames[$0] }) where !view.securityGroups.contains(group) {
                view.securityGroups.append(group)
            }
            result[port.deviceID] = view
        }
        return result
    }

    func interfaces(instance: String) async throws -> [InterfaceAttachment] {
        try await network.listPorts(caller: .system, deviceID: instance).filter { $0.deviceOwner.hasPrefix("compute:") }
            .map(Self.attachment)
    }

    static func attachment(_ port: UpdraftNetwork.Port) -> InterfaceAttachment {
        InterfaceAttachment(
            portID: port.id, networkID: port.networkID, mac: port.macAddress, state: port.status,
            fixedIPs: port.fixedIPs.map { ($0.subnetID, $0.ipAddress) })
    }

    func attachInterface(_ instance: Instance, _ request: NICRequest, host: String, caller: AuthContext) async throws
        -> InterfaceAttachment
    {
        if let portID = request.portID {
            let port = try await network.port(portID, caller: caller)
            if !port.deviceID.isEmpty { throw UpdraftError.conflict("Port \(portID) is still in use.") }
        } else if let networkID = request.networkID {
            let found = try await network.network(networkID, caller: caller)
            if found.external && !Policy.isAdmin(caller) {
                throw UpdraftError.forbidden("It is not allowed to create an interface on external network \(networkID)")
            }
        } else {
            throw UpdraftError.badRequest("Either net_id or port_id is needed to attach an interface.")
        }
        return Self.attachment(try await port(for: request, instance: instance, host: host))
    }

    func detachInterface(_ instance: Instance, portID: String, caller: AuthContext) async throws {
        try await release(portID, keep: instance.requestedNICs.contains { $0.portID == portID })
    }

    func changeSecurityGroup(_ instance: Instance, group: String, add: Bool, caller: AuthContext) async throws {
        let groups = try await network.listSecurityGroups(caller: caller).filter { $0.projectID == instance.projectID }
        guard let found = groups.first(where: { $0.id == group }) ?? groups.first(where: { $0.name == group }) else {
            throw UpdraftError.notFound("Security group \(group) not found for project \(instance.projectID).")
        }
        let ports = try await network.listPorts(caller: .system, deviceID: instance.id).filter {
            $0.deviceOwner.hasPrefix("compute:")
        }
        let having = ports.filter { $0.securityGroups.contains(found.id) }
        if add, !ports.isEmpty, having.count == ports.count {
            throw UpdraftError.badRequest("Security group \(group) is already associated with the instance \(instance.id)")
        }
        if !add, having.isEmpty {
            throw UpdraftError.badRequest("Security group \(group) not associated with the instance \(instance.id)")
        }
        for port in ports {
            var ids = port.securityGroups.filter { $0 != found.id }
            if add { ids.append(found.id) }
            _ = try await network.updatePort(
                port.id, body(["security_groups": .array(ids.map(JSONValue.string))]), caller: .system)
        }
    }
}
