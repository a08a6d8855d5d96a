import UpdraftDatabase

/// The block-storage tables. Timestamps are seconds since the epoch; metadata maps are JSON
/// text. A volume's attachments are rows of `volume_attachments`, so two servers can never
/// hold one attachment, and compute's record of a server's volumes points at them by id.
/// A transfer keeps only a salted hash of its key; an upload to an image records the image
/// it fills, so a restart can delete it and put the volume back. A backup's bytes are in the
/// object store; its row says where, and a restore in progress is a row of `volume_restores`,
/// so a restart runs it again.
public enum BlockStorageSchema {
    public static let migrations: [Migration] = [
        Migration(
            "block-storage-1",
            [
                """
                CREATE TABLE volume_types (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT,
                  is_public BOOLEAN NOT NULL, extra_specs TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
                  updated_at DOUBLE PRECISION NOT NULL)
                """,
                """
                CREATE TABLE volume_type_access (type_id TEXT NOT NULL REFERENCES volume_types(id) ON DELETE CASCADE,
                  project_id TEXT NOT NULL, PRIMARY KEY (type_id, project_id))
                """,
                """
                CREATE TABLE volumes (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, user_id TEXT NOT NULL,
                  name TEXT, description TEXT, size BIGINT NOT NULL, status TEXT NOT NULL,
                  previous_status TEXT, availability_zone TEXT NOT NULL, type_id TEXT NOT NULL,
                  bootable BOOLEAN NOT NULL, readonly BOOLEAN, snapshot_id TEXT, source_volid TEXT, image_id TEXT,
                  metadata TEXT NOT NULL, image_metadata TEXT NOT NULL, multiattach BOOLEAN NOT NULL,
                  created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL)
                """,
                "CREATE INDEX volumes_project ON volumes (project_id, created_at)",
                """
                CREATE TABLE volume_attachments (id TEXT PRIMARY KEY, volume_id TEXT NOT NULL REFERENCES volumes(id),
                  instance_id TEXT, status TEXT NOT NULL, attach_mode TEXT NOT NULL, host TEXT, device TEXT,
                  attached_at DOUBLE PRECISION, created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL)
                """,
                "CREATE INDEX volume_attachments_volume ON volume_attachments (volume_id)",
                "CREATE INDEX volume_attachments_instance ON volume_attachments (instance_id)",
                """
                CREATE TABLE volume_snapshots (id TEXT PRIMARY KEY, volume_id TEXT NOT NULL REFERENCES volumes(id),
                  project_id TEXT NOT NULL, user_id TEXT NOT NULL, name TEXT, description TEXT, size BIGINT NOT NULL,
                  status TEXT NOT NULL, progress TEXT, metadata TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
                  updated_at DOUBLE PRECISION NOT NULL)
                """,
                "CREATE INDEX volume_snapshots_project ON volume_snapshots (project_id, created_at)",
                "CREATE INDEX volume_snapshots_volume ON volume_snapshots (volume_id)",
                """
                CREATE TABLE volume_quotas (project_id TEXT NOT NULL, resource TEXT NOT NULL, hard_limit BIGINT NOT NULL,
                  PRIMARY KEY (project_id, resource))
                """,
            ]),
        Migration(
            "block-storage-2",
            [
                """
                CREATE TABLE volume_transfers (id TEXT PRIMARY KEY,
                  volume_id TEXT NOT NULL REFERENCES volumes(id) ON DELETE CASCADE, project_id TEXT NOT NULL,
                  user_id TEXT NOT NULL, name TEXT, salt TEXT NOT NULL, crypt_hash TEXT NOT NULL,
                  no_snapshots BOOLEAN NOT NULL, created_at DOUBLE PRECISION NOT NULL)
                """,
                "CREATE UNIQUE INDEX volume_transfers_volume ON volume_transfers (volume_id)",
                "CREATE INDEX volume_transfers_project ON volume_transfers (project_id, created_at)",
                """
                CREATE TABLE volume_uploads (volume_id TEXT PRIMARY KEY REFERENCES volumes(id) ON DELETE CASCADE,
                  image_id TEXT NOT NULL, disk_format TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)
                """,
            ]),
        Migration(
            "block-storage-3",
            [
                """
                CREATE TABLE volume_backups (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, user_id TEXT NOT NULL,
                  volume_id TEXT NOT NULL, snapshot_id TEXT, parent_id TEXT, name TEXT, description TEXT,
                  container TEXT NOT NULL, account TEXT NOT NULL, object_prefix TEXT NOT NULL, status TEXT NOT NULL,
                  fail_reason TEXT,
                  size BIGINT NOT NULL,
                  object_count BIGINT NOT NULL, availability_zone TEXT NOT NULL, metadata TEXT NOT NULL,
                  data_timestamp DOUBLE PRECISION NOT NULL, created_at DOUBLE PRECISION NOT NULL,
                  updated_at DOUBLE PRECISION NOT NULL)
                """,
                "CREATE INDEX volume_backups_project ON volume_backups (project_id, created_at)",
                "CREATE INDEX volume_backups_volume ON volume_backups (volume_id, data_timestamp)",
                "CREATE INDEX volume_backups_parent ON volume_backups (parent_id)",
                """
                CREATE TABLE volume_restores (volume_id TEXT PRIMARY KEY REFERENCES volumes(id) ON DELETE CASCADE,
                  backup_id TEXT NOT NULL, final_status TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)
                """,
            ]),
    ]
}
