import UpdraftDatabase

/// The identity tables. Timestamps are seconds since the epoch; JSON columns hold text.
public enum IdentitySchema {
    public static let migrations: [Migration] = [
        Migration(
            "identity-1",
            [
                """
                CREATE TABLE domains (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',
                  enabled BOOLEAN NOT NULL, tags TEXT NOT NULL DEFAULT '[]', created_at DOUBLE PRECISION NOT NULL)
                """,
                """
                CREATE TABLE projects (id TEXT PRIMARY KEY, name TEXT NOT NULL, domain_id TEXT NOT NULL REFERENCES domains(id),
                  parent_id TEXT, description TEXT NOT NULL DEFAULT '', enabled BOOLEAN NOT NULL, tags TEXT NOT NULL DEFAULT '[]',
                  created_at DOUBLE PRECISION NOT NULL, UNIQUE (domain_id, name))
                """,
                """
                CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL, domain_id TEXT NOT NULL REFERENCES domains(id),
                  enabled BOOLEAN NOT NULL, password_hash TEXT, default_project_id TEXT, extra TEXT NOT NULL DEFAULT '{}',
                  failed_logins BIGINT NOT NULL DEFAULT 0, locked_until DOUBLE PRECISION, password_changed_at DOUBLE PRECISION,
                  created_at DOUBLE PRECISION NOT NULL, UNIQUE (domain_id, name))
                """,
                """
                CREATE TABLE identity_groups (id TEXT PRIMARY KEY, name TEXT NOT NULL, domain_id TEXT NOT NULL REFERENCES domains(id),
                  description TEXT NOT NULL DEFAULT '', UNIQUE (domain_id, name))
                """,
                """
                CREATE TABLE group_members (group_id TEXT NOT NULL REFERENCES identity_groups(id) ON DELETE CASCADE,
                  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, PRIMARY KEY (group_id, user_id))
                """,
                """
                CREATE TABLE roles (id TEXT PRIMARY KEY, name TEXT NOT NULL, domain_id TEXT NOT NULL DEFAULT '',
                  description TEXT NOT NULL DEFAULT '', UNIQUE (domain_id, name))
                """,
                """
                CREATE TABLE implied_roles (prior_role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
                  implied_role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE, PRIMARY KEY (prior_role_id, implied_role_id))
                """,
                """
                CREATE TABLE assignments (actor_type TEXT NOT NULL, actor_id TEXT NOT NULL, target_type TEXT NOT NULL,
                  target_id TEXT NOT NULL, role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
                  PRIMARY KEY (actor_type, actor_id, target_type, target_id, role_id))
                """,
                "CREATE INDEX assignments_target ON assignments (target_type, target_id)",
                """
                CREATE TABLE regions (id TEXT PRIMARY KEY, description TEXT NOT NULL DEFAULT '', parent_region_id TEXT)
                """,
                """
                CREATE TABLE services (id TEXT PRIMARY KEY, type TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
                  description TEXT NOT NULL DEFAULT '', enabled BOOLEAN NOT NULL)
                """,
                """
                CREATE TABLE endpoints (id TEXT PRIMARY KEY, service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
                  interface TEXT NOT NULL, region_id TEXT, url TEXT NOT NULL, enabled BOOLEAN NOT NULL)
                """,
                """
                CREATE TABLE application_credentials (id TEXT PRIMARY KEY, name TEXT NOT NULL,
                  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, project_id TEXT NOT NULL,
                  secret_hash TEXT NOT NULL, description TEXT NOT NULL DEFAULT '', expires_at DOUBLE PRECISION,
                  unrestricted BOOLEAN NOT NULL, roles TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, UNIQUE (user_id, name))
                """,
                """
                CREATE TABLE credentials (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                  project_id TEXT, type TEXT NOT NULL, sealed_blob TEXT NOT NULL, access_key TEXT, created_at DOUBLE PRECISION NOT NULL)
                """,
                "CREATE INDEX credentials_access ON credentials (access_key)",
                """
                CREATE TABLE revocation_events (subject TEXT NOT NULL, value TEXT NOT NULL, revoked_at DOUBLE PRECISION NOT NULL,
                  PRIMARY KEY (subject, value))
                """,
            ]),
        Migration(
            "identity-2",
            ["CREATE TABLE policies (id TEXT PRIMARY KEY, type TEXT NOT NULL, blob TEXT NOT NULL)"]),
        Migration(
            "identity-3",
            [
                """
                CREATE TABLE trusts (id TEXT PRIMARY KEY, trustor_user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                  trustee_user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, project_id TEXT NOT NULL,
                  impersonation BOOLEAN NOT NULL, expires_at DOUBLE PRECISION, remaining_uses BIGINT, roles TEXT NOT NULL,
                  created_at DOUBLE PRECISION NOT NULL)
                """
            ]),
        Migration(
            "identity-4",
            [
                """
                CREATE TABLE inherited_assignments (actor_type TEXT NOT NULL, actor_id TEXT NOT NULL, target_type TEXT NOT NULL,
                  target_id TEXT NOT NULL, role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
                  PRIMARY KEY (actor_type, actor_id, target_type, target_id, role_id))
                """
            ]),
        Migration(
            "identity-5",
            [
                """
                CREATE TABLE access_rules (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                  service TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, UNIQUE (user_id, service, method, path))
                """,
                """
                CREATE TABLE application_credential_access_rules (
                  application_credential_id TEXT NOT NULL REFERENCES application_credentials(id) ON DELETE CASCADE,
                  access_rule_id TEXT NOT NULL REFERENCES access_rules(id), PRIMARY KEY (application_credential_id, access_rule_id))
                """,
            ]),
        // A project's own properties (`field_of_science`, `institution`), kept and written back flat.
        Migration("identity-6", ["ALTER TABLE projects ADD COLUMN extra TEXT NOT NULL DEFAULT '{}'"]),
    ]
}
