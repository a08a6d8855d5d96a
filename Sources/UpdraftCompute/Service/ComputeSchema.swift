import UpdraftDatabase

/// The compute tables. Timestamps are seconds since the epoch; JSON columns hold text.
public enum ComputeSchema {
    public static let migrations: [Migration] = [
        Migration(
            "compute-1",
            [
                """
                CREATE TABLE flavors (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, vcpus BIGINT NOT NULL,
                  ram BIGINT NOT NULL, disk BIGINT NOT NULL, ephemeral BIGINT NOT NULL DEFAULT 0, swap BIGINT NOT NULL DEFAULT 0,
                  rxtx_factor DOUBLE PRECISION NOT NULL DEFAULT 1, is_public BOOLEAN NOT NULL, disabled BOOLEAN NOT NULL DEFAULT FALSE,
                  description TEXT, extra_specs TEXT NOT NULL DEFAULT '{}', created_at DOUBLE PRECISION NOT NULL)
                """,
                """
                CREATE TABLE flavor_projects (flavor_id TEXT NOT NULL REFERENCES flavors(id) ON DELETE CASCADE,
                  project_id TEXT NOT NULL, PRIMARY KEY (flavor_id, project_id))
                """,
                """
                CREATE TABLE keypairs (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, name TEXT NOT NULL,
                  public_key TEXT NOT NULL, fingerprint TEXT NOT NULL, type TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
                  UNIQUE (user_id, name))
                """,
                """
                CREATE TABLE compute_nodes (hostname TEXT PRIMARY KEY, id BIGINT NOT NULL UNIQUE, uuid TEXT NOT NULL,
                  hypervisor_type TEXT NOT NULL, hypervisor_version BIGINT NOT NULL, accelerator TEXT NOT NULL,
                  accelerator_note TEXT, vcpus BIGINT NOT NULL, memory_mb BIGINT NOT NULL, disk_gb BIGINT NOT NULL,
                  host_ip TEXT NOT NULL, disabled BOOLEAN NOT NULL DEFAULT FALSE, disabled_reason TEXT,
                  forced_down BOOLEAN NOT NULL DEFAULT FALSE, updated_at DOUBLE PRECISION NOT NULL)
                """,
                """
                CREATE TABLE instances (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT NOT NULL,
                  project_id TEXT NOT NULL, user_id TEXT NOT NULL, image_id TEXT NOT NULL, flavor TEXT NOT NULL, old_flavor TEXT,
                  vcpus BIGINT NOT NULL, memory_mb BIGINT NOT NULL, root_gb BIGINT NOT NULL,
                  vm_state TEXT NOT NULL, task_state TEXT, power_state BIGINT NOT NULL, host TEXT, availability_zone TEXT NOT NULL,
                  key_name TEXT, key_data TEXT, user_data TEXT, metadata TEXT NOT NULL DEFAULT '{}', tags TEXT NOT NULL DEFAULT '[]',
                  config_drive BOOLEAN NOT NULL, launch_index BIGINT NOT NULL, reservation_id TEXT NOT NULL, hostname TEXT NOT NULL,
                  description TEXT, locked BOOLEAN NOT NULL DEFAULT FALSE, locked_reason TEXT,
                  access_ipv4 TEXT NOT NULL DEFAULT '', access_ipv6 TEXT NOT NULL DEFAULT '', progress BIGINT NOT NULL DEFAULT 0,
                  created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, launched_at DOUBLE PRECISION,
                  terminated_at DOUBLE PRECISION, fault TEXT, shelved_image_id TEXT, kernel_id TEXT, ramdisk_id TEXT,
                  deleted BOOLEAN NOT NULL DEFAULT FALSE)
                """,
                "CREATE INDEX instances_project ON instances (project_id, deleted, created_at)",
                "CREATE INDEX instances_listing ON instances (deleted, created_at, seq)",
                "CREATE INDEX instances_host ON instances (host, deleted)",
                """
                CREATE TABLE instance_actions (id INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, action TEXT NOT NULL,
                  request_id TEXT NOT NULL, user_id TEXT NOT NULL, project_id TEXT NOT NULL, start_time DOUBLE PRECISION NOT NULL,
                  updated_at DOUBLE PRECISION NOT NULL, message TEXT)
                """,
                "CREATE INDEX instance_actions_instance ON instance_actions (instance_id)",
                """
                CREATE TABLE instance_action_events (action_id BIGINT NOT NULL REFERENCES instance_actions(id) ON DELETE CASCADE,
                  event TEXT NOT NULL, start_time DOUBLE PRECISION NOT NULL, finish_time DOUBLE PRECISION, result TEXT,
                  traceback TEXT)
                """,
                "CREATE INDEX instance_action_events_action ON instance_action_events (action_id)",
                // Every state change with the flavor in force: SU accounting is derived from it.
                """
                CREATE TABLE instance_state_history (instance_id TEXT NOT NULL, project_id TEXT NOT NULL,
                  at DOUBLE PRECISION NOT NULL, vm_state TEXT NOT NULL, task_state TEXT, power_state BIGINT NOT NULL,
                  vcpus BIGINT NOT NULL, ram BIGINT NOT NULL, disk BIGINT NOT NULL, flavor_name TEXT NOT NULL)
                """,
                "CREATE INDEX instance_state_history_instance ON instance_state_history (instance_id, at)",
                "CREATE INDEX instance_state_history_project ON instance_state_history (project_id, at)",
                """
                CREATE TABLE compute_quotas (project_id TEXT NOT NULL, resource TEXT NOT NULL, hard_limit BIGINT NOT NULL,
                  PRIMARY KEY (project_id, resource))
                """,
            ]),
        // What networks a server asked for and which security groups its ports get.
        Migration(
            "compute-2",
            [
                "ALTER TABLE instances ADD COLUMN requested_nics TEXT NOT NULL DEFAULT '[]'",
                "ALTER TABLE instances ADD COLUMN security_groups TEXT NOT NULL DEFAULT '[]'",
            ]),
        // Volumes attached to servers (Nova's block device mappings): what a create asked for, and
        // once made, the volume, its attachment and where its bytes are.
        Migration(
            "compute-3",
            [
                """
                CREATE TABLE block_device_mappings (id TEXT PRIMARY KEY, instance_id TEXT NOT NULL, volume_id TEXT,
                  attachment_id TEXT, device TEXT NOT NULL, boot_index BIGINT, tag TEXT,
                  delete_on_termination BOOLEAN NOT NULL, status TEXT NOT NULL, connection TEXT,
                  source_type TEXT NOT NULL DEFAULT 'volume', source_id TEXT, volume_size BIGINT,
                  created_at DOUBLE PRECISION NOT NULL)
                """,
                "CREATE INDEX block_device_mappings_instance ON block_device_mappings (instance_id)",
            ]),
        // The history rows accounting charges by: the flavor's resource class, and the order rows
        // of the same instant were written in.
        Migration(
            "compute-4",
            [
                "ALTER TABLE instance_state_history ADD COLUMN resource_class TEXT NOT NULL DEFAULT 'cpu'",
                "ALTER TABLE instance_state_history ADD COLUMN seq BIGINT NOT NULL DEFAULT 0",
                "CREATE INDEX instance_state_history_seq ON instance_state_history (instance_id, seq)",
            ]),
    ]
}
