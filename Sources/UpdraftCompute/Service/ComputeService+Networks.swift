import Foundation
import UpdraftCore

/// A server's networking as compute serves it: what a create asks for, its interfaces
/// (`os-interface`), its security groups, and what server bodies show. The ports themselves
/// are the network service's.
extension ComputeService {
    /// The NICs and security groups a create asks for, checked before anything is recorded.
    func resolveNetworks(_ request: CreateRequest, caller: AuthContext) async throws
        -> (nics: [NICRequest], securityGroups: [String])
    {
        guard let networks else {
            if case .list(let nics) = request.networks, !nics.isEmpty {
                throw UpdraftError.badRequest("This cloud has no network service: create the server with networks 'none'.")
            }
            return ([], [])
        }
        if case .list(let nics) = request.networks, request.maxCount > 1, nics.contains(where: { $0.portID != nil }) {
            throw UpdraftError.badRequest("Unable to launch multiple instances with a single configured port ID.")
        }
        return try await networks.resolve(request.networks, securityGroups: request.securityGroups, caller: caller)
    }

    /// Addresses and security groups of each instance, for server bodies; empty without networking.
    public func networking(of instances: [Instance]) async throws -> [String: ServerNetworking] {
        guard let networks, !instances.isEmpty else { return [:] }
        return try await networks.networking(of: instances.map(\.id))
    }

    /// Serves `GET /servers/{id}/os-interface`.
    public func interfaces(_ id: String, caller: AuthContext) async throws -> [InterfaceAttachment] {
        let instance = try await server(id, caller: caller)
        guard let networks else { return [] }
        return try await networks.interfaces(instance: instance.id)
    }

    /// Serves `POST /servers/{id}/os-interface`: a port on a network (made here) or one the
    /// user made, wired and plugged into the guest (hot when it runs) before the answer.
    public func attachInterface(_ id: String, _ request: NICRequest, caller: AuthContext) async throws
        -> InterfaceAttachment
    {
        let networks = try requireNetworks()
        let instance = try await server(id, caller: caller)
        try checkLock(instance, caller: caller)
        try checkInterfaceState(instance, "attach_interface")
        return try await locks.withLock(id) {
            let current = try await self.database.read { db in try await self.instance(id, db) }
            guard let host = current.host else {
                throw UpdraftError.conflict(
                    "Cannot 'attach_interface' instance \(id) while it is in vm_state \(current.vmState.rawValue)")
            }
            let attachment = try await networks.attachInterface(current, request, host: host, caller: caller)
            do {
                try await networks.waitWired([attachment.portID], timeout: self.configuration.portWiringTimeout)
                guard let nic = try await networks.nics(instance: id).first(where: { $0.portID == attachment.portID })
                else { throw UpdraftError.internal("port \(attachment.portID) has no NIC") }
                try await self.driver(for: current).attachInterface(id, nic)
            } catch {
                try? await networks.detachInterface(current, portID: attachment.portID, caller: .system)
                throw UpdraftError(.internal, "Failed to attach network adapter device to \(id): \(Self.describe(error))")
            }
            if request.portID != nil {
                try await self.mutate(id) { i in i.requestedNICs.append(NICRequest(portID: attachment.portID)) }
            }
            // As it is now: wired.
            return try await networks.interfaces(instance: id).first { $0.portID == attachment.portID } ?? attachment
        }
    }

    /// Serves `DELETE /servers/{id}/os-interface/{port}`: unplugged from the guest, then the
    /// port deleted (or unbound when the user brought it).
    public func detachInterface(_ id: String, portID: String, caller: AuthContext) async throws {
        let networks = try requireNetworks()
        let instance = try await server(id, caller: caller)
        try checkLock(instance, caller: caller)
        try checkInterfaceState(instance, "detach_interface")
        try await locks.withLock(id) {
            let current = try await self.database.read { db in try await self.instance(id, db) }
            guard try await networks.interfaces(instance: id).contains(where: { $0.portID == portID }) else {
                throw UpdraftError.notFound("Port \(portID) is not attached")
            }
            if current.host != nil { try await self.driver(for: current).detachInterface(id, portID: portID) }
            try await networks.detachInterface(current, portID: portID, caller: caller)
            try await self.mutate(id) { i in i.requestedNICs.removeAll { $0.portID == portID } }
        }
    }

    /// Serves the `addSecurityGroup` and `removeSecurityGroup` actions: every port of the server.
    public func changeSecurityGroup(_ id: String, group: String, add: Bool, caller: AuthContext) async throws {
        let networks = try requireNetworks()
        let instance = try await server(id, caller: caller)
        try await networks.changeSecurityGroup(instance, group: group, add: add, caller: caller)
    }

    /// What the metadata service tells instance `id` about itself; nil when it is gone.
    public func instanceMetadata(_ id: String) async throws -> InstanceMetadata? {
        guard let instance = try await database.read({ db in try await self.repository.find(id, db) }) else { return nil }
        let view = try await networking(of: [instance])[id]
        let addresses = view?.addresses.flatMap(\.addresses).filter { $0.version == 4 } ?? []
        return InstanceMetadata(
            id: id, metadata: metadata(of: instance), nics: try await networks?.nics(instance: id) ?? [],
            fixedIPv4: addresses.first { $0.type == "fixed" }?.address,
            floatingIPv4: addresses.first { $0.type == "floating" }?.address,
            ec2ID: "i-" + String(format: "%08x", instance.sequence), flavorName: instance.flavor.name,
            reservationID: instance.reservationID, securityGroups: view?.securityGroups ?? [])
    }

    func requireNetworks() throws -> any ComputeNetworks {
        guard let networks else { throw UpdraftError(.unsupported, "This cloud has no network service.") }
        return networks
    }

    /// Nova lets interfaces change on running, paused and stopped servers only.
    func checkInterfaceState(_ instance: Instance, _ action: String) throws {
        guard [.active, .paused, .stopped].contains(instance.vmState), instance.taskState == nil else {
            throw UpdraftError.conflict(
                "Cannot '\(action)' instance \(instance.id) while it is in vm_state \(instance.vmState.rawValue)")
        }
    }
}
