"""an inconsistent AHP comparison applied on purpose: themed_sessions.ahp_override_reason

Revision ID: c2e7a9b3d622
Revises: f8b4d6c0e319
Create Date: 2026-12-02 12:40:00

Weights from an AHP comparison whose consistency ratio exceeds 0.10 are applied only with a
reason, kept beside the matrix and its CR so that the minutes can print it. The column is added
in place (SQLite: ALTER TABLE ... ADD COLUMN), nullable, so existing sessions read as having no
override and themed_sessions keeps its AUTOINCREMENT.
"""
import sqlalchemy as sa
from alembic import op

revision = "c2e7a9b3d622"
down_revision = "f8b4d6c0e319"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("themed_sessions", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("ahp_override_reason", sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table("themed_sessions", recreate="never") as batch_op:
        batch_op.drop_column("ahp_override_reason")
