import Foundation
import QEMU

/// What a guest learns about itself, in the formats cloud-init reads: OpenStack's
/// `openstack/latest` documents (on the config drive and from the metadata service) and the
/// EC2 `meta-data` tree. One renderer for both, so they never disagree.
public struct InstanceMetadata: Sendable {
    public var id: String
    public var metadata: InstanceSpec.Metadata
    public var nics: [InstanceSpec.NIC]
    /// Fixed and floating IPv4 addresses, for EC2's `local-ipv4` and `public-ipv4`.
    public var fixedIPv4: String?
    public var floatingIPv4: String?
    /// Nova's `instance-0000000a`-style EC2 id and the flavor's name, for EC2 documents.
    public var ec2ID: String
    public var flavorName: String
    public var reservationID: String
    public var securityGroups: [String]

    /// What the config drive of `spec` holds.
    public init(_ spec: InstanceSpec) {
        self.init(id: spec.id, metadata: spec.metadata, nics: spec.nics)
    }

    public init(
        id: String, metadata: InstanceSpec.Metadata, nics: [InstanceSpec.NIC], fixedIPv4: String? = nil,
        floatingIPv4: String? = nil, ec2ID: String = "", flavorName: String = "", reservationID: String = "",
        securityGroups: [String] = []
    ) {
        self.id = id
        self.metadata = metadata
        self.nics = nics
        self.fixedIPv4 = fixedIPv4
        self.floatingIPv4 = floatingIPv4
        self.ec2ID = ec2ID
        self.flavorName = flavorName
        self.reservationID = reservationID
        self.securityGroups = securityGroups
    }

    /// `meta_data.json`, `network_data.json`, `vendor_data.json`, `vendor_data2.json` and,
    /// when the server has any, `user_data`, by file name.
    public func openStackFiles() throws -> [(name: String, data: Data)] {
        var meta: [String: QEMU.JSON] = [
            "uuid": .string(id),
            "name": .string(metadata.name),
            "hostname": .string(metadata.hostname),
            "launch_index": .int(Int64(metadata.launchIndex)),
            "availability_zone": .string(metadata.availabilityZone),
            "project_id": .string(metadata.projectID),
            "meta": .object(metadata.metadata.mapValues { .string($0) }),
            "devices": .array([]),
        ]
        if !metadata.publicKeys.isEmpty {
            meta["public_keys"] = .object(
                Dictionary(metadata.publicKeys.map { ($0.name, .string($0.key)) }, uniquingKeysWith: { first, _ in first }))
            meta["keys"] = .array(
                metadata.publicKeys.map { .object(["name": .string($0.name), "type": .string("ssh"), "data": .string($0.key)]) })
        }
        var files: [(name: String, data: Data)] = [
            ("meta_data.json", try QEMU.JSON.object(meta).serialized()),
            ("network_data.json", try networkData().serialized()),
            ("vendor_data.json", metadata.vendorData),
            ("vendor_data2.json", Data("{}".utf8)),
        ]
        if let userData = metadata.userData {
            files.append(("user_data", userData))
        }
        return files
    }

    /// Nova's `network_data.json`: one link per NIC; on it each address of a subnet with DHCP
    /// as `ipv4_dhcp`, and of a subnet without as `ipv4` with its netmask, default route and
    /// DNS servers, which is then the guest's only way to learn them.
    func networkData() -> QEMU.JSON {
        let links: [QEMU.JSON] = nics.map { nic in
            .object([
                "id": .string("tap" + nic.portID.prefix(11)), "type": "phy", "vif_id": .string(nic.portID),
                "ethernet_mac_address": .string(nic.mac), "mtu": .int(Int64(nic.mtu)),
            ])
        }
        var networks: [QEMU.JSON] = []
        var dnsServers: [String] = []
        for nic in nics {
            let link = QEMU.JSON.string("tap" + nic.portID.prefix(11))
            let addresses = nic.addresses ?? []
            let dynamic = addresses.isEmpty || addresses.contains(where: \.dhcp)
            if dynamic {
                networks.append(
                    .object([
                        "id": .string("network\(networks.count)"), "type": "ipv4_dhcp", "link": link,
                        "network_id": .string(nic.networkID),
                    ]))
            }
            for address in addresses where !address.dhcp {
                var network: [String: QEMU.JSON] = [
                    "id": .string("network\(networks.count)"), "type": "ipv4", "link": link,
                    "network_id": .string(nic.networkID), "ip_address": .string(address.address),
                    "netmask": .string(Self.netmask(of: address.cidr)),
                ]
                if let gateway = address.gateway {
                    network["routes"] = .array([
                        .object(["network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": .string(gateway)])
                    ])
                }
                networks.append(.object(network))
                dnsServers += address.dnsServers.filter { !dnsServers.contains($0) }
            }
        }
        let services: [QEMU.JSON] = dnsServers.map { .object(["type": "dns", "address": .string($0)]) }
        return .object(["links": .array(links), "networks": .array(networks), "services": .array(services)])
    }

    /// `255.255.255.0` for `10.0.0.0/24`.
    static func netmask(of cidr: String) -> String {
        let prefix = Int(cidr.split(separator: "/").last ?? "") ?? 32
        let mask: UInt32 = prefix <= 0 ? 0 : UInt32.max << (32 - UInt32(min(prefix, 32)))
        return [24, 16, 8, 0].map { String((mask >> UInt32($0)) & 0xff) }.joined(separator: ".")
    }

    /// The EC2 `meta-data` tree as path → value; a directory's listing is its children's names.
    public func ec2MetaData() -> [String: String] {
        // `ami-manifest-path` is "FIXME" in Nova's answers too; clients only list it.
        var tree: [String: String] = [
            "ami-id": "ami-00000001", "ami-launch-index": "\(metadata.launchIndex)", "ami-manifest-path": "FIXME",
            "hostname": metadata.hostname, "local-hostname": metadata.hostname, "public-hostname": metadata.hostname,
            "instance-id": ec2ID, "instance-type": flavorName, "instance-action": "none",
            "placement/availability-zone": metadata.availabilityZone, "reservation-id": reservationID,
            "security-groups": securityGroups.joined(separator: "\n"),
            "block-device-mapping/ami": "vda", "block-device-mapping/root": "/dev/vda",
        ]
        if let fixedIPv4 { tree["local-ipv4"] = fixedIPv4 }
        if let floatingIPv4 { tree["public-ipv4"] = floatingIPv4 }
        for (index, key) in metadata.publicKeys.enumerated() {
            tree["public-keys/\(index)/openssh-key"] = key.key
        }
        return tree
    }

    /// What `GET <path>` in the EC2 tree answers: a value, or a directory's listing (children
    /// as EC2 lists them, `public-keys` as `0=name`); nil when there is nothing there.
    public func ec2(_ path: String) -> String? {
        let tree = ec2MetaData()
        let clean = path.split(separator: "/").joined(separator: "/")
        if clean == "public-keys" {
            return metadata.publicKeys.enumerated().map { "\($0.offset)=\($0.element.name)" }.joined(separator: "\n")
        }
        if let value = tree[clean] { return value }
        let prefix = clean.isEmpty ? "" : clean + "/"
        let children = Set(
            tree.keys.filter { $0.hasPrefix(prefix) }.map { key -> String in
                let rest = key.dropFirst(prefix.count)
                let first = rest.split(separator: "/").first.map(String.init) ?? ""
                return rest.contains("/") ? first + "/" : first
            })
        return children.isEmpty ? nil : children.sorted().joined(separator: "\n")
    }
}
