"""SQLite: AUTOINCREMENT on every table keyed by an integer id, so no id is handed out twice

Revision ID: d9fcba8c9c09
Revises: 5b1d0c2e9f47
Create Date: 2026-12-01 23:50:00

DESIGN §3: ids of audited objects are never reused. A plain SQLite INTEGER PRIMARY KEY hands out
max(id) + 1, so deleting the newest row (a draft proposal, say) gave its id to the next proposal,
and the audit events about the deleted one (object_type 'Proposal', object_id '<id>') then named
another proposal. With AUTOINCREMENT SQLite keeps the highest id ever given out in
sqlite_sequence and never goes back below it.

SQLite cannot add AUTOINCREMENT to an existing table, so each table is rebuilt (Alembic batch
"move and copy": create the new table, copy every row with its id, drop the old table, rename,
recreate the indexes). Constraints, foreign keys and indexes come from reflecting the table as it
is; its triggers (the append-only audit log and ranking snapshots) are read from sqlite_master
before the rebuild and recreated after it, since dropping a table drops its triggers.

Foreign key enforcement must be off for the rebuild: with it on, dropping the old table runs an
implicit DELETE that would fire ON DELETE CASCADE / SET NULL in the referencing tables and wipe or
detach their rows, or fail. PRAGMA foreign_keys cannot change inside a transaction, so the work
runs in an autocommit block (which commits the migrations before this one) inside an explicit
transaction of its own; PRAGMA foreign_key_check must come back empty before it commits.

Each table's sequence starts at the highest of: its current largest id, its existing
sqlite_sequence value (when the table is already AUTOINCREMENT), and the largest id named by an
audit event about that kind of object, so that no id an audit event mentions, including ids of
rows deleted before this migration, is handed out again. The upgrade may run again safely.

PostgreSQL: nothing to do, sequences never hand out a value twice.

Later migrations beware: reflection does not see AUTOINCREMENT, so a batch operation that
recreates one of these tables on SQLite must pass table_kwargs={"sqlite_autoincrement": True},
and the rebuild drops the table's sqlite_sequence row (copying the rows restores only max(id)).
"""
import sqlalchemy as sa
from alembic import op

revision = "d9fcba8c9c09"
down_revision = "5b1d0c2e9f47"
branch_labels = None
depends_on = None

# Every table with a single integer primary key, each with the object_type that audit events use
# for its rows (the model class name, frozen here). Tables without such a key are left alone:
# session_members (composite key) and receipt_counters (keyed by its scope string).
TABLES = {
    "users": "User",
    "login_failures": "LoginFailure",
    "audit_events": "AuditEvent",
    "businesses": "Business",
    "themed_sessions": "ThemedSession",
    "categories": "Category",
    "criteria": "Criterion",
    "invitations": "Invitation",
    "proposals": "Proposal",
    "proposal_status_changes": "ProposalStatusChange",
    "ratings": "Rating",
    "decisions": "Decision",
    "ranking_snapshots": "RankingSnapshot",
    "letterheads": "Letterhead",
    "agenda_items": "AgendaItem",
}


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    context = op.get_context()
    if context.as_sql:
        raise RuntimeError("0006 rebuilds SQLite tables from the live schema; run it without --sql")
    with context.autocommit_block():
        connection = op.get_bind()
        # An engine "begin" hook (participation.database emits BEGIN IMMEDIATE) opens a real
        # transaction even for the autocommit block; the PRAGMA below would be ignored inside it.
        if connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql("COMMIT")
        foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                for table, object_type in TABLES.items():
                    _rebuild(connection, table, object_type)
                problems = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if problems:
                    raise RuntimeError(f"foreign keys broken by the rebuild: {problems[:10]}")
            except BaseException:
                connection.exec_driver_sql("ROLLBACK")
                raise
            connection.exec_driver_sql("COMMIT")
        finally:
            connection.exec_driver_sql(f"PRAGMA foreign_keys = {1 if foreign_keys else 0}")


def _rebuild(connection, table: str, object_type: str) -> None:
    """Recreate `table` with AUTOINCREMENT, keeping rows, constraints, indexes and triggers."""
    triggers = connection.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :table AND sql IS NOT NULL"),
        {"table": table},
    ).scalars().all()
    floor = max(_sequence(connection, table), _audited_max(connection, object_type))

    with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
        pass

    for sql in triggers:
        connection.exec_driver_sql(sql)
    # Copying the rows set the sequence to max(id); raise it to what was handed out before.
    if floor > _sequence(connection, table):
        updated = connection.execute(sa.text("UPDATE sqlite_sequence SET seq = :seq WHERE name = :table"),
                                     {"seq": floor, "table": table}).rowcount
        if not updated:
            connection.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:table, :seq)"),
                               {"seq": floor, "table": table})


def _sequence(connection, table: str) -> int:
    """The table's sqlite_sequence value, 0 when it has none (not AUTOINCREMENT, or never used)."""
    if not connection.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'").first():
        return 0
    return connection.execute(sa.text("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = :table"),
                              {"table": table}).scalar()


def _audited_max(connection, object_type: str) -> int:
    """The largest numeric object_id that audit events record for `object_type`, else 0."""
    return connection.execute(
        sa.text("SELECT COALESCE(MAX(CAST(object_id AS INTEGER)), 0) FROM audit_events "
                "WHERE object_type = :type AND object_id <> '' AND length(object_id) <= 18 "
                "AND object_id NOT GLOB '*[^0-9]*'"),
        {"type": object_type},
    ).scalar()


def downgrade():
    # Deliberately nothing: AUTOINCREMENT only stops SQLite from handing out an id twice, which
    # is harmless to the code of revision 0005, while rebuilding every table without it would
    # bring back the id reuse (and audit events naming the wrong row). Upgrading again rebuilds
    # the tables once more, which is also harmless.
    pass
