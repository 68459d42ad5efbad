"""files stored in the database (proposal attachments)

Revision ID: 6b2e1d3f9c42
Revises: 5a1f0c2e8b31
Create Date: 2026-12-02 03:00:00

Attachments lived under instance/uploads/<attachment_key> on one host's disk: another host could
not serve them, a backup of the database did not carry them, and a failed save left its file
behind. They now live in `stored_files` (bytea on PostgreSQL, BLOB on SQLite), linked from
proposals.attachment_id, and are written in the proposal's own transaction.

Upgrade: creates the table, adds proposals.attachment_id and copies every file named by a
proposal's attachment_key from the instance folder into it (a missing or unreadable file is logged
and skipped: its proposal keeps the name, as before, but offers no download), then drops
attachment_key. The files on disk are left where they are (the migration's transaction may still
roll back); once the upgrade is committed the instance/uploads folder is no longer read and may be
deleted. On SQLite the column is added in place (ALTER TABLE ... ADD COLUMN ... REFERENCES), so
proposals keeps its AUTOINCREMENT and its children are not touched.

Downgrade: writes each stored file back to instance/uploads under a new key, sets attachment_key,
drops attachment_id and the table. SQLite cannot drop a column that has a foreign key, so there the
proposals table is rebuilt with foreign keys off (as 0006 does), keeping its sqlite_sequence value.
"""
import hashlib
import logging
import re
import secrets
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "6b2e1d3f9c42"
down_revision = "5a1f0c2e8b31"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
FOREIGN_KEY = "fk_proposals_attachment_id_stored_files"
KEY = re.compile(r"[0-9a-f]{32}")

stored_files = sa.table(
    "stored_files",
    sa.column("id", sa.Integer), sa.column("sha256", sa.String), sa.column("size", sa.Integer),
    sa.column("content_type", sa.String), sa.column("data", sa.LargeBinary), sa.column("created_at", sa.DateTime),
)
proposals = sa.table(
    "proposals",
    sa.column("id", sa.Integer), sa.column("attachment_key", sa.String), sa.column("attachment_id", sa.Integer),
    sa.column("attachment_type", sa.String),
)


def upload_dir() -> Path:
    """Where revision 0008 and before kept attachments."""
    return Path(current_app.instance_path) / "uploads"


def upgrade():
    op.create_table(
        "stored_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("size >= 0", name=op.f("ck_stored_files_size_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_files")),
        sqlite_autoincrement=True,
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # PDFs, JPEGs and PNGs are compressed already; stored uncompressed out of line, a
        # substring() of the bytea reads only the pages of that piece (chunked downloads).
        op.execute("ALTER TABLE stored_files ALTER COLUMN data SET STORAGE EXTERNAL")
        op.add_column("proposals", sa.Column("attachment_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(FOREIGN_KEY), "proposals", "stored_files", ["attachment_id"], ["id"])
    else:
        op.execute(f"ALTER TABLE proposals ADD COLUMN attachment_id INTEGER "
                   f"CONSTRAINT {FOREIGN_KEY} REFERENCES stored_files (id)")
    _move_files_in(bind)
    with op.batch_alter_table("proposals", recreate="never") as batch_op:
        batch_op.drop_column("attachment_key")


def _move_files_in(bind) -> None:
    """Copy each proposal's file from the instance folder into stored_files and link it."""
    rows = bind.execute(sa.select(proposals.c.id, proposals.c.attachment_key, proposals.c.attachment_type)
                        .where(proposals.c.attachment_key.is_not(None)).order_by(proposals.c.id)).all()
    moved = 0
    for proposal_id, key, content_type in rows:
        path = upload_dir() / key
        try:
            if not KEY.fullmatch(key):
                raise FileNotFoundError(key)
            data = path.read_bytes()
        except OSError as error:
            log.warning("proposal %s: attachment %s not found (%s); skipped", proposal_id, path, error)
            continue
        file_id = bind.execute(stored_files.insert().values(
            sha256=hashlib.sha256(data).hexdigest(), size=len(data),
            content_type=content_type or "application/octet-stream", data=data,
            created_at=sa.func.current_timestamp(),
        ).returning(stored_files.c.id)).scalar_one()
        bind.execute(proposals.update().where(proposals.c.id == proposal_id).values(attachment_id=file_id))
        moved += 1
    if rows:
        log.info("moved %d of %d attachments from %s into stored_files; the folder may be deleted",
                 moved, len(rows), upload_dir())


def downgrade():
    bind = op.get_bind()
    op.add_column("proposals", sa.Column("attachment_key", sa.String(length=64), nullable=True))
    _write_files_out(bind)
    if bind.dialect.name == "postgresql":
        op.drop_constraint(op.f(FOREIGN_KEY), "proposals", type_="foreignkey")
        op.drop_column("proposals", "attachment_id")
    else:
        _sqlite_drop_attachment_id()
    op.drop_table("stored_files")


def _write_files_out(bind) -> None:
    """Write each linked file back to the instance folder under a new key (the old layout)."""
    rows = bind.execute(sa.select(proposals.c.id, proposals.c.attachment_id)
                        .where(proposals.c.attachment_id.is_not(None)).order_by(proposals.c.id)).all()
    if rows:
        upload_dir().mkdir(parents=True, exist_ok=True)
    for proposal_id, file_id in rows:
        data = bind.execute(sa.select(stored_files.c.data).where(stored_files.c.id == file_id)).scalar_one()
        key = secrets.token_hex(16)
        (upload_dir() / key).write_bytes(data)
        bind.execute(proposals.update().where(proposals.c.id == proposal_id)
                     .values(attachment_key=key, attachment_id=None))


def _sqlite_drop_attachment_id() -> None:
    """Rebuild proposals without attachment_id, with foreign keys off so no cascade fires (see 0006)."""
    context = op.get_context()
    if context.as_sql:
        raise RuntimeError("0009's downgrade rebuilds a SQLite table from the live schema; run it without --sql")
    with context.autocommit_block():
        connection = op.get_bind()
        if connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql("COMMIT")  # the BEGIN IMMEDIATE hook opened one (see 0006)
        foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                sequence = connection.exec_driver_sql(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'proposals'").scalar()
                triggers = connection.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'proposals' "
                    "AND sql IS NOT NULL").scalars().all()
                with op.batch_alter_table("proposals", recreate="always",
                                          table_kwargs={"sqlite_autoincrement": True}) as batch_op:
                    batch_op.drop_column("attachment_id")
                for sql in triggers:
                    connection.exec_driver_sql(sql)
                if sequence is not None:  # copying the rows kept only max(id); no id comes back
                    params = {"seq": sequence}
                    if not connection.execute(sa.text(
                            "UPDATE sqlite_sequence SET seq = :seq WHERE name = 'proposals'"), params).rowcount:
                        connection.execute(sa.text(
                            "INSERT INTO sqlite_sequence (name, seq) VALUES ('proposals', :seq)"), params)
                problems = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if problems:
                    raise RuntimeError(f"foreign keys broken by the rebuild: {problems[:10]}")
            except BaseException:
                connection.exec_driver_sql("ROLLBACK")
                raise
            connection.exec_driver_sql("COMMIT")
        finally:
            connection.exec_driver_sql(f"PRAGMA foreign_keys = {1 if foreign_keys else 0}")
