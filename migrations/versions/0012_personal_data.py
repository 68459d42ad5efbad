"""personal data: erased accounts, daily housekeeping, and the narrow exceptions to append-only

Revision ID: 9e5b4a6c2f75
Revises: 8d4a3f5b1e64
Create Date: 2026-12-02 06:00:00

Two new tables: account_erasures (one row per account erased at its owner's request; ids are
AUTOINCREMENT on SQLite like every audited table) and housekeeping_runs (the last daily run of
the worker's housekeeping, one row per task, so that several workers run it once a day).

The append-only triggers of audit_events (0001) and ranking_snapshots (0003) are replaced by ones
that allow exactly two kinds of UPDATE, everything else still refused (DELETE always):

- audit_events: the `ip` set to NULL with every other column unchanged (addresses dropped after
  AUDIT_IP_RETENTION_DAYS, and an erased account's own), at any time;
- audit_events `before`/`after` and ranking_snapshots `payload` rewritten, every other column
  unchanged, only while an account erasure is in progress: a row of account_erasures without
  `completed_at`, which exists only inside the erasing transaction (it commits completed), so
  no other transaction ever sees one.

The trigger names stay the same, so migration 0006's rebuild-and-recreate still finds them.
"""
import sqlalchemy as sa
from alembic import op

revision = "9e5b4a6c2f75"
down_revision = "8d4a3f5b1e64"
branch_labels = None
depends_on = None

ERASING = "EXISTS (SELECT 1 FROM account_erasures WHERE completed_at IS NULL)"

# SQLite: NEW and OLD compared with IS (NULL-safe); JSON is stored as text.
SQLITE_AUDIT_UPDATE = f"""
    CREATE TRIGGER audit_events_no_update
    BEFORE UPDATE ON audit_events
    WHEN NOT (
        NEW.id IS OLD.id AND NEW.created_at IS OLD.created_at AND NEW.actor_id IS OLD.actor_id
        AND NEW.action IS OLD.action AND NEW.object_type IS OLD.object_type
        AND NEW.object_id IS OLD.object_id AND NEW.channel IS OLD.channel
        AND (NEW.ip IS OLD.ip OR NEW.ip IS NULL)
        AND ((NEW.before IS OLD.before AND NEW.after IS OLD.after) OR {ERASING})
    )
    BEGIN
        SELECT RAISE(ABORT, 'audit_events is append-only');
    END
"""
SQLITE_SNAPSHOT_UPDATE = f"""
    CREATE TRIGGER ranking_snapshots_no_update
    BEFORE UPDATE ON ranking_snapshots
    WHEN NOT (
        NEW.id IS OLD.id AND NEW.session_id IS OLD.session_id AND NEW.version IS OLD.version
        AND NEW.method IS OLD.method AND NEW.normalization IS OLD.normalization
        AND NEW.selection IS OLD.selection AND NEW.reason IS OLD.reason
        AND NEW.created_by_id IS OLD.created_by_id AND NEW.created_at IS OLD.created_at
        AND (NEW.payload IS OLD.payload OR {ERASING})
    )
    BEGIN
        SELECT RAISE(ABORT, 'ranking_snapshots are immutable');
    END
"""
SQLITE_ORIGINAL = {
    "audit_events_no_update": """
        CREATE TRIGGER audit_events_no_update
        BEFORE UPDATE ON audit_events
        BEGIN
            SELECT RAISE(ABORT, 'audit_events is append-only');
        END
    """,
    "ranking_snapshots_no_update": """
        CREATE TRIGGER ranking_snapshots_no_update
        BEFORE UPDATE ON ranking_snapshots
        BEGIN
            SELECT RAISE(ABORT, 'ranking_snapshots are immutable');
        END
    """,
}

# PostgreSQL: the same functions, replaced in place (the triggers keep pointing at them). The json
# type has no equality, so payloads are compared as text.
POSTGRES_AUDIT = f"""
    CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE'
           AND NEW.id = OLD.id AND NEW.created_at = OLD.created_at
           AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id AND NEW.action = OLD.action
           AND NEW.object_type IS NOT DISTINCT FROM OLD.object_type
           AND NEW.object_id IS NOT DISTINCT FROM OLD.object_id
           AND NEW.channel IS NOT DISTINCT FROM OLD.channel
           AND (NEW.ip IS NULL OR NEW.ip = OLD.ip)
           AND ((NEW.before::text IS NOT DISTINCT FROM OLD.before::text
                 AND NEW.after::text IS NOT DISTINCT FROM OLD.after::text) OR {ERASING})
        THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_events is append-only';
    END;
    $$ LANGUAGE plpgsql
"""
POSTGRES_SNAPSHOTS = f"""
    CREATE OR REPLACE FUNCTION ranking_snapshots_immutable() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE'
           AND NEW.id = OLD.id AND NEW.session_id = OLD.session_id AND NEW.version = OLD.version
           AND NEW.method = OLD.method AND NEW.normalization = OLD.normalization
           AND NEW.selection = OLD.selection AND NEW.reason = OLD.reason
           AND NEW.created_by_id IS NOT DISTINCT FROM OLD.created_by_id AND NEW.created_at = OLD.created_at
           AND {ERASING}
        THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'ranking_snapshots are immutable';
    END;
    $$ LANGUAGE plpgsql
"""
POSTGRES_ORIGINAL = {
    "audit_events_append_only": "audit_events is append-only",
    "ranking_snapshots_immutable": "ranking_snapshots are immutable",
}


def upgrade():
    op.create_table(
        "account_erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_account_erasures_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_erasures")),
        sa.UniqueConstraint("user_id", name=op.f("uq_account_erasures_user_id")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "housekeeping_runs",
        sa.Column("task", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("task", name=op.f("pk_housekeeping_runs")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_AUDIT)
        op.execute(POSTGRES_SNAPSHOTS)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute(SQLITE_AUDIT_UPDATE)
        op.execute("DROP TRIGGER IF EXISTS ranking_snapshots_no_update")
        op.execute(SQLITE_SNAPSHOT_UPDATE)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for function, message in POSTGRES_ORIGINAL.items():
            op.execute(f"""
                CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
                BEGIN
                    RAISE EXCEPTION '{message}';
                END;
                $$ LANGUAGE plpgsql
            """)
    else:
        for name, sql in SQLITE_ORIGINAL.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
            op.execute(sql)
    op.drop_table("housekeeping_runs")
    op.drop_table("account_erasures")
