import UpdraftCore

/// The extensions `GET /v2.0/extensions` advertises: only what Updraft serves, since
/// clients and tempest decide what to call from this list.
struct NeutronExtensions: Sendable {
    let alias: String
    let name: String
    let description: String

    var json: JSONValue {
        .object([
            "alias": .string(alias), "name": .string(name), "description": .string(description),
            "updated": "2026-11-29T00:00:00-00:00", "links": .array([]),
        ])
    }

    static let all: [NeutronExtensions] = [
        .init(
            alias: "external-net", name: "Neutron external network",
            description: "Adds external network attribute to network resource."),
        .init(
            alias: "router", name: "Neutron L3 Router",
            description:
                "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."
        ),
        .init(
            alias: "ext-gw-mode", name: "Neutron L3 Configurable external gateway mode",
            description: "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"),
        .init(alias: "extraroute", name: "Neutron Extra Route", description: "Extra routes configuration for L3 router"),
        .init(alias: "security-group", name: "security-group", description: "The security groups extension."),
        .init(alias: "port-security", name: "Port Security", description: "Provides port security"),
        .init(alias: "allowed-address-pairs", name: "Allowed Address Pairs", description: "Provides allowed address pairs"),
        .init(
            alias: "binding", name: "Port Binding", description: "Expose port bindings of a virtual port to external application"),
        .init(
            alias: "provider", name: "Provider Network", description: "Expose mapping of virtual networks to physical networks"),
        .init(
            alias: "quotas", name: "Quota management support", description: "Expose functions for quotas management per project"),
        .init(
            alias: "quota_details", name: "Quota details management support",
            description: "Expose functions for quotas usage statistics per project"),
        .init(
            alias: "project-id", name: "project_id field enabled",
            description: "Extension that indicates that project_id field is enabled."),
        .init(
            alias: "standard-attr-description", name: "standard-attr-description",
            description: "Extension to add descriptions to standard attributes"),
        .init(
            alias: "standard-attr-timestamp", name: "Resource timestamps",
            description: "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."),
        .init(
            alias: "standard-attr-revisions", name: "Resource revision numbers",
            description: "This extension will display the revision number of neutron resources."),
        .init(
            alias: "standard-attr-tag", name: "Tag support for resources with standard attribute",
            description: "Enables to set tag on resources with standard attribute."),
        .init(alias: "sorting", name: "Sorting support", description: "Extension that indicates that sorting is enabled."),
        .init(
            alias: "pagination", name: "Pagination support", description: "Extension that indicates that pagination is enabled."),
        .init(alias: "net-mtu", name: "Network MTU", description: "Provides MTU attribute for a network resource."),
        .init(
            alias: "net-mtu-writable", name: "Network MTU (writable)",
            description: "Provides a writable MTU attribute for a network resource."),
        .init(alias: "availability_zone", name: "Availability Zone", description: "The availability zone extension."),
        .init(
            alias: "network_availability_zone", name: "Network Availability Zone",
            description: "Availability zone support for network."),
        .init(
            alias: "router_availability_zone", name: "Router Availability Zone",
            description: "Availability zone support for router."),
        .init(
            alias: "auto-allocated-topology", name: "Auto Allocated Topology Services",
            description: "Auto Allocated Topology Services."),
        .init(
            alias: "network-ip-availability", name: "Network IP Availability",
            description: "Provides IP availability data for each network and subnet."),
        .init(
            alias: "stateful-security-group", name: "Stateful security group",
            description: "Indicates if the security group is stateful or not"),
        .init(
            alias: "security-groups-normalized-cidr", name: "Security Groups Normalized CIDR",
            description: "Add new field with normalized remote_ip_prefix cidr in SG rule"),
        .init(
            alias: "empty-string-filtering", name: "Empty String Filtering Extension",
            description: "Allow filtering by attributes with empty string value"),
    ]
}
