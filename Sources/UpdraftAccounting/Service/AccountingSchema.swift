import UpdraftDatabase

/// The tables accounting owns: allocations and their ledger entries, notices, trials, and the
/// two running sums that make every balance cheap to read: each allocation's SUs of stretches
/// that have ended (`closed_used`) and each burning instance's open stretch (`ledger_open`),
/// both kept in the transaction that writes the history row, and rebuilt from the history when
/// the rates change.
public enum AccountingSchema {
    public static let migrations: [Migration] = [
        Migration(
            "accounting-1",
            [
                """
                CREATE TABLE allocations (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, project_id TEXT NOT NULL,
                  resource TEXT NOT NULL, award DOUBLE PRECISION NOT NULL, start_at DOUBLE PRECISION NOT NULL,
                  end_at DOUBLE PRECISION NOT NULL, tier TEXT, description TEXT, created_at DOUBLE PRECISION NOT NULL,
                  updated_at DOUBLE PRECISION NOT NULL)
                """,
                "CREATE UNIQUE INDEX allocations_project_resource ON allocations (project_id, resource)",
                // Every change to an allocation, kept after the allocation is deleted: the audit trail.
                """
                CREATE TABLE allocation_entries (id BIGINT PRIMARY KEY, allocation_id TEXT NOT NULL, project_id TEXT NOT NULL,
                  at DOUBLE PRECISION NOT NULL, kind TEXT NOT NULL, sus DOUBLE PRECISION, end_at DOUBLE PRECISION,
                  user_id TEXT, note TEXT)
                """,
                "CREATE INDEX allocation_entries_allocation ON allocation_entries (allocation_id, id)",
                // What the expiry lifecycle has done to an unusable allocation: NULL while it is
                // usable, then `noticed`, `shelved`, `deleted`.
                "ALTER TABLE allocations ADD COLUMN lifecycle_stage TEXT",
                // The only flavors instances on the allocation may use (a JSON list), or NULL for any.
                "ALTER TABLE allocations ADD COLUMN flavors TEXT",
                // Who has had a trial allocation: one per user, ever.
                """
                CREATE TABLE trial_users (user_id TEXT PRIMARY KEY, project_id TEXT NOT NULL,
                  created_at DOUBLE PRECISION NOT NULL)
                """,
                // Notices for a project's members: what the lifecycle did or will do.
                """
                CREATE TABLE accounting_notices (id BIGINT PRIMARY KEY, project_id TEXT NOT NULL, allocation_id TEXT NOT NULL,
                  at DOUBLE PRECISION NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL)
                """,
                "CREATE INDEX accounting_notices_project ON accounting_notices (project_id, id)",
                "ALTER TABLE allocations ADD COLUMN closed_used DOUBLE PRECISION NOT NULL DEFAULT 0",
                """
                CREATE TABLE ledger_open (instance_id TEXT PRIMARY KEY, project_id TEXT NOT NULL, resource TEXT NOT NULL,
                  since DOUBLE PRECISION NOT NULL, per_hour DOUBLE PRECISION NOT NULL)
                """,
                "CREATE INDEX ledger_open_project ON ledger_open (project_id, resource)",
                // What the running sums were built with (the rates); another value rebuilds them.
                "CREATE TABLE accounting_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            ])
    ]
}
