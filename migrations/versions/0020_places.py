"""places: the Kemendagri code of a business's and a proposal's kelurahan

Revision ID: d3f8b0c4e723
Revises: a9c5e7d1f420
Create Date: 2026-12-02 12:30:00

Two nullable columns. With CITY_CODE set, the forms and imports store the code of the kelurahan
chosen from the city's list (idn-area-data); existing free-text rows keep NULL until
`flask match-places --apply` matches them. Adding a nullable column needs no table rebuild on
SQLite.
"""
import sqlalchemy as sa
from alembic import op

revision = "d3f8b0c4e723"
down_revision = "a9c5e7d1f420"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("businesses", sa.Column("kelurahan_code", sa.String(length=13), nullable=True))
    op.add_column("proposals", sa.Column("kelurahan_code", sa.String(length=13), nullable=True))


def downgrade():
    # ALTER TABLE ... DROP COLUMN in place on both databases (SQLite has it since 3.35): a batch
    # rebuild of businesses would DROP a table that proposals and invitations reference, which
    # SQLite refuses with foreign keys on, and would lose the tables' AUTOINCREMENT.
    op.execute("ALTER TABLE proposals DROP COLUMN kelurahan_code")
    op.execute("ALTER TABLE businesses DROP COLUMN kelurahan_code")
