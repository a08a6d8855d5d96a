import UpdraftDatabase

/// The image tables. Timestamps are seconds since the epoch; tags and properties are JSON text.
public enum ImageSchema {
    public static let migrations: [Migration] = [
        Migration(
            "image-1",
            [
                """
                CREATE TABLE images (id TEXT PRIMARY KEY, name TEXT, status TEXT NOT NULL, visibility TEXT NOT NULL,
                  protected BOOLEAN NOT NULL, os_hidden BOOLEAN NOT NULL, checksum TEXT, os_hash_algo TEXT, os_hash_value TEXT,
                  owner TEXT, size BIGINT, virtual_size BIGINT, min_ram BIGINT NOT NULL, min_disk BIGINT NOT NULL,
                  disk_format TEXT, container_format TEXT, tags TEXT NOT NULL DEFAULT '[]',
                  properties TEXT NOT NULL DEFAULT '{}', created_at DOUBLE PRECISION NOT NULL,
                  updated_at DOUBLE PRECISION NOT NULL)
                """,
                "CREATE INDEX images_owner ON images (owner)",
                "CREATE INDEX images_hash ON images (os_hash_value)",
                """
                CREATE TABLE image_members (image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
                  member_id TEXT NOT NULL, status TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
                  updated_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (image_id, member_id))
                """,
                "CREATE INDEX image_members_member ON image_members (member_id)",
            ])
    ]
}
