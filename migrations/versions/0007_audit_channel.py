"""audit events record the channel an operation came through (web, cli, demo, api)

Revision ID: 3e8a41c7b5d2
Revises: d9fcba8c9c09
Create Date: 2026-12-02 00:30:00

One nullable column. On SQLite this is a plain ALTER TABLE ... ADD COLUMN, which keeps the
table (and its AUTOINCREMENT and append-only triggers from 0006) as it is. Rows written before
this migration have no channel; they came through the web or the command line, which the old
`after` payloads marked with "via": "cli".
"""
import sqlalchemy as sa
from alembic import op

revision = "3e8a41c7b5d2"
down_revision = "d9fcba8c9c09"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("audit_events", sa.Column("channel", sa.String(length=8), nullable=True))


def downgrade():
    # SQLite (3.35+) drops a column in place; the table keeps AUTOINCREMENT and its triggers.
    op.drop_column("audit_events", "channel")
