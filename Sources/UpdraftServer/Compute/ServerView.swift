import Foundation
import UpdraftCompute
import UpdraftCore

/// Renders servers as Nova's API shows them at a given microversion.
enum ServerView {
    static func links(_ call: ComputeController.Call, _ kind: String, _ id: String) -> JSONValue {
        let bookmark = call.bookmark
        return .array([
            .object(["rel": "self", "href": .string("\(call.base)/\(kind)/\(id)")]),
            .object(["rel": "bookmark", "href": .string("\(bookmark)/\(kind)/\(id)")]),
        ])
    }

    /// `{"id", "name", "links"}` for `GET /servers`.
    static func summary(_ i: Instance, _ call: ComputeController.Call) -> JSONValue {
        .object(["id": .string(i.id), "name": .string(i.name), "links": links(call, "servers", i.id)])
    }

    /// Nova's `instance-0000000a`.
    static func instanceName(_ sequence: Int) -> String {
        let hex = String(sequence, radix: 16)
        return "instance-" + String(repeating: "0", count: max(0, 8 - hex.count)) + hex
    }

    static func flavor(_ f: Flavor, _ call: ComputeController.Call) -> JSONValue {
        if call.version.atLeast(47) {
            var specs: [String: JSONValue] = [:]
            for (k, v) in f.extraSpecs { specs[k] = .string(v) }
            return .object([
                "vcpus": .number(Double(f.vcpus)), "ram": .number(Double(f.ram)), "disk": .number(Double(f.disk)),
                "ephemeral": .number(Double(f.ephemeral)), "swap": .number(Double(f.swap)),
                "original_name": .string(f.name), "extra_specs": .object(specs),
            ])
        }
        let bookmark = call.bookmark
        return .object([
            "id": .string(f.id),
            "links": .array([.object(["rel": "bookmark", "href": .string("\(bookmark)/flavors/\(f.id)")])]),
        ])
    }

    /// The fields Nova leaves out of update and rebuild answers before microversion 2.75.
    static let notInUpdateAnswers: Set<String> = [
        "OS-EXT-AZ:availability_zone", "OS-EXT-STS:power_state", "OS-EXT-STS:task_state", "OS-EXT-STS:vm_state",
        "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at", "config_drive", "key_name",
        "os-extended-volumes:volumes_attached", "OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:hypervisor_hostname",
        "OS-EXT-SRV-ATTR:instance_name", "OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:launch_index",
        "OS-EXT-SRV-ATTR:hostname", "OS-EXT-SRV-ATTR:kernel_id", "OS-EXT-SRV-ATTR:ramdisk_id",
        "OS-EXT-SRV-ATTR:root_device_name", "OS-EXT-SRV-ATTR:user_data", "host_status", "security_groups",
    ]

    /// The body of an update's or a rebuild's answer (Nova trims both before 2.75).
    static func trimmed(_ i: Instance, _ call: ComputeController.Call, networking: ServerNetworking? = nil)
        -> [String: JSONValue]
    {
        guard case .object(var fields) = detail(i, call, networking: networking) else { return [:] }
        // Nova writes these answers' addresses without type and MAC (`extend_address=False`).
        fields["addresses"] = addresses(networking, extended: false)
        return fields.filter { !notInUpdateAnswers.contains($0.key) }
    }

    /// Nova's `addresses`: by network name, each address with its version, and (`extended`)
    /// its type and MAC.
    static func addresses(_ networking: ServerNetworking?, extended: Bool = true) -> JSONValue {
        var result: [String: JSONValue] = [:]
        for (network, addresses) in networking?.addresses ?? [] {
            result[network] = .array(
                addresses.map { a in
                    var fields: [String: JSONValue] = ["version": .number(Double(a.version)), "addr": .string(a.address)]
                    if extended {
                        fields["OS-EXT-IPS:type"] = .string(a.type)
                        fields["OS-EXT-IPS-MAC:mac_addr"] = .string(a.mac)
                    }
                    return .object(fields)
                })
        }
        return .object(result)
    }

    /// The full server body for `GET /servers/{id}` and `/servers/detail`.
    static func detail(
        _ i: Instance, _ call: ComputeController.Call, networking: ServerNetworking? = nil,
        volumes: [BlockDeviceMapping] = []
    ) -> JSONValue {
        let bookmark = call.bookmark
        var s: [String: JSONValue] = [
            "id": .string(i.id), "name": .string(i.name), "status": .string(i.status),
            "tenant_id": .string(i.projectID), "user_id": .string(i.userID),
            "metadata": .object(i.metadata.mapValues { .string($0) }),
            "hostId": .string(call.hostIDs.id(project: i.projectID, host: i.host)),
            "image": i.imageID.isEmpty
                ? .string("")
                : .object([
                    "id": .string(i.imageID),
                    "links": .array([.object(["rel": "bookmark", "href": .string("\(bookmark)/images/\(i.imageID)")])]),
                ]),
            "flavor": flavor(i.flavor, call), "created": i.createdAt.nova, "updated": i.updatedAt.nova,
            "addresses": addresses(networking), "accessIPv4": .string(i.accessIPv4), "accessIPv6": .string(i.accessIPv6),
            "links": links(call, "servers", i.id), "OS-DCF:diskConfig": "MANUAL",
            "OS-EXT-AZ:availability_zone": .string(i.availabilityZone),
            "config_drive": .string(i.configDrive ? "True" : ""), "key_name": i.keyName.map(JSONValue.string) ?? .null,
            "OS-SRV-USG:launched_at": i.launchedAt?.novaUsage ?? .null,
            "OS-SRV-USG:terminated_at": i.terminatedAt?.novaUsage ?? .null,
            "OS-EXT-STS:task_state": i.taskState.map { .string($0.rawValue) } ?? .null,
            "OS-EXT-STS:vm_state": .string(i.vmState.rawValue),
            "OS-EXT-STS:power_state": .number(Double(i.powerState.rawValue)),
            "os-extended-volumes:volumes_attached": .array(
                volumes.compactMap { mapping in
                    guard let volume = mapping.volumeID else { return nil }
                    var fields: [String: JSONValue] = ["id": .string(volume)]
                    if call.version.atLeast(3) { fields["delete_on_termination"] = .bool(mapping.deleteOnTermination) }
                    return .object(fields)
                }),
        ]
        if ["ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"].contains(i.status) {
            s["progress"] = .number(Double(i.progress))
        }
        // Nova shows a fault in ERROR and DELETED; a guest the hypervisor stopped (QEMU's
        // internal-error, a panic) is SHUTOFF as in Nova, with its fault shown too.
        if let fault = i.fault, i.vmState == .error || i.vmState == .deleted || i.vmState == .stopped {
            s["fault"] = .object([
                "code": .number(Double(fault.code)), "message": .string(fault.message), "created": fault.created.nova,
            ])
        }
        if call.isAdmin {
            s["OS-EXT-SRV-ATTR:host"] = i.host.map(JSONValue.string) ?? .null
            s["OS-EXT-SRV-ATTR:hypervisor_hostname"] = i.host.map(JSONValue.string) ?? .null
            s["OS-EXT-SRV-ATTR:instance_name"] = .string(instanceName(i.sequence))
            if call.version.atLeast(3) {
                s["OS-EXT-SRV-ATTR:reservation_id"] = .string(i.reservationID)
                s["OS-EXT-SRV-ATTR:launch_index"] = .number(Double(i.launchIndex))
                s["OS-EXT-SRV-ATTR:hostname"] = .string(i.hostname)
                s["OS-EXT-SRV-ATTR:kernel_id"] = .string(i.kernelID ?? "")
                s["OS-EXT-SRV-ATTR:ramdisk_id"] = .string(i.ramdiskID ?? "")
                s["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/vda"
                s["OS-EXT-SRV-ATTR:user_data"] = i.userData.map(JSONValue.string) ?? .null
            }
            if call.version.atLeast(16) { s["host_status"] = i.host == nil ? "" : "UP" }
        }
        if let groups = networking?.securityGroups, !groups.isEmpty {
            s["security_groups"] = .array(groups.map { .object(["name": .string($0)]) })
        }
        if call.version.atLeast(9) { s["locked"] = .bool(i.locked) }
        if call.version.atLeast(19) { s["description"] = i.description.map(JSONValue.string) ?? .null }
        if call.version.atLeast(26) { s["tags"] = .array(i.tags.map(JSONValue.string)) }
        return .object(s)
    }
}
