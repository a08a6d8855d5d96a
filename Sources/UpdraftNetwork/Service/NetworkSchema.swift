import UpdraftDatabase

/// The networking tables. Timestamps are seconds since the epoch; list-valued attributes
/// are JSON text. An address is allocated once per subnet by the primary key of
/// `ip_allocations`, so two ports can never hold one address.
public enum NetworkSchema {
    public static let migrations: [Migration] = [
        Migration(
            "network-1",
            [
                """
                CREATE TABLE networks (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL,
                  description TEXT NOT NULL, admin_state_up BOOLEAN NOT NULL, shared BOOLEAN NOT NULL,
                  external BOOLEAN NOT NULL, is_default BOOLEAN NOT NULL, mtu BIGINT NOT NULL, port_security BOOLEAN NOT NULL,
                  network_type TEXT NOT NULL, physical_network TEXT, segmentation_id BIGINT,
                  created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, revision BIGINT NOT NULL)
                """,
                """
                CREATE TABLE subnets (id TEXT PRIMARY KEY, project_id TEXT NOT NULL,
                  network_id TEXT NOT NULL REFERENCES networks(id), name TEXT NOT NULL, description TEXT NOT NULL,
                  ip_version BIGINT NOT NULL, cidr TEXT NOT NULL, gateway_ip TEXT, allocation_pools TEXT NOT NULL,
                  dns_nameservers TEXT NOT NULL, host_routes TEXT NOT NULL, enable_dhcp BOOLEAN NOT NULL,
                  ipv6_ra_mode TEXT, ipv6_address_mode TEXT,
                  created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, revision BIGINT NOT NULL)
                """,
                "CREATE INDEX subnets_network ON subnets (network_id)",
                """
                CREATE TABLE ports (id TEXT PRIMARY KEY, project_id TEXT NOT NULL,
                  network_id TEXT NOT NULL REFERENCES networks(id), name TEXT NOT NULL, description TEXT NOT NULL,
                  mac_address TEXT NOT NULL, admin_state_up BOOLEAN NOT NULL, status TEXT NOT NULL,
                  device_id TEXT NOT NULL, device_owner TEXT NOT NULL, port_security BOOLEAN NOT NULL,
                  allowed_address_pairs TEXT NOT NULL, host_id TEXT NOT NULL,
                  created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, revision BIGINT NOT NULL,
                  UNIQUE (network_id, mac_address))
                """,
                "CREATE INDEX ports_device ON ports (device_id)",
                """
                CREATE TABLE ip_allocations (subnet_id TEXT NOT NULL REFERENCES subnets(id), ip_address TEXT NOT NULL,
                  port_id TEXT NOT NULL REFERENCES ports(id) ON DELETE CASCADE, network_id TEXT NOT NULL,
                  PRIMARY KEY (subnet_id, ip_address))
                """,
                "CREATE INDEX ip_allocations_port ON ip_allocations (port_id)",
                """
                CREATE TABLE security_groups (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL,
                  description TEXT NOT NULL, stateful BOOLEAN NOT NULL,
                  created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, revision BIGINT NOT NULL)
                """,
                """
                CREATE TABLE security_group_rules (id TEXT PRIMARY KEY,
                  security_group_id TEXT NOT NULL REFERENCES security_groups(id) ON DELETE CASCADE,
                  project_id TEXT NOT NULL, description TEXT NOT NULL, direction TEXT NOT NULL, ethertype TEXT NOT NULL,
                  protocol TEXT, port_range_min BIGINT, port_range_max BIGINT, remote_ip_prefix TEXT, remote_group_id TEXT,
                  created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, revision BIGINT NOT NULL)
                """,
                """
                CREATE TABLE port_security_groups (port_id TEXT NOT NULL REFERENCES ports(id) ON DELETE CASCADE,
                  security_group_id TEXT NOT NULL REFERENCES security_groups(id), PRIMARY KEY (port_id, security_group_id))
                """,
                """
                CREATE TABLE routers (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL,
                  description TEXT NOT NULL, admin_state_up BOOLEAN NOT NULL, status TEXT NOT NULL,
                  gateway_network_id TEXT, enable_snat BOOLEAN NOT NULL, routes TEXT NOT NULL,
                  created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, revision BIGINT NOT NULL)
                """,
                """
                CREATE TABLE floating_ips (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, description TEXT NOT NULL,
                  floating_network_id TEXT NOT NULL, floating_ip_address TEXT NOT NULL, floating_port_id TEXT NOT NULL,
                  port_id TEXT, fixed_ip_address TEXT, router_id TEXT, status TEXT NOT NULL,
                  created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, revision BIGINT NOT NULL)
                """,
                """
                CREATE TABLE network_tags (resource_id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (resource_id, tag))
                """,
                """
                CREATE TABLE network_quotas (project_id TEXT NOT NULL, resource TEXT NOT NULL, hard_limit BIGINT NOT NULL,
                  PRIMARY KEY (project_id, resource))
                """,
            ]),
        Migration(
            "network-2",
            [
                """
                CREATE TABLE auto_allocated_topologies (project_id TEXT PRIMARY KEY, network_id TEXT NOT NULL,
                  router_id TEXT NOT NULL)
                """
            ]),
    ]
}
