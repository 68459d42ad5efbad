"""SIPD codes: a category's default OPD and sub-activity, a proposal's volume, unit and overrides

Revision ID: e5b8d1a6c227
Revises: d4a7c0f5b126
Create Date: 2026-12-02 17:00:00

DESIGN §10: categories carry a default OPD (kode/nama SKPD), a Permendagri 90/2019 sub-activity
(kode_sub_giat/giat_teks) and a kind of spending (jenis_belanja); proposals gain volume and
satuan, and a planner's per-proposal OPD and sub-activity (NULL: the category's default). Every
column is added in place (SQLite: ALTER TABLE ... ADD COLUMN) with a server default or nullable,
so existing rows read as "not set" and no referenced table is rebuilt.
"""
import sqlalchemy as sa
from alembic import op

revision = "e5b8d1a6c227"
down_revision = "d4a7c0f5b126"
branch_labels = None
depends_on = None

CATEGORY_COLUMNS = (
    ("kode_skpd", 22, ""),
    ("nama_skpd", 200, ""),
    ("kode_sub_giat", 17, ""),
    ("giat_teks", 300, ""),
    ("jenis_belanja", 60, "Belanja Barang dan Jasa"),
)
PROPOSAL_OVERRIDES = (("kode_skpd", 22), ("nama_skpd", 200), ("kode_sub_giat", 17), ("giat_teks", 300))


def upgrade():
    with op.batch_alter_table("categories", recreate="never") as batch_op:
        for name, length, default in CATEGORY_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=False, server_default=default))
    with op.batch_alter_table("proposals", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("volume", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("satuan", sa.String(length=50), nullable=False, server_default=""))
        for name, length in PROPOSAL_OVERRIDES:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))


def downgrade():
    with op.batch_alter_table("proposals", recreate="never") as batch_op:
        for name, _length in reversed(PROPOSAL_OVERRIDES):
            batch_op.drop_column(name)
        batch_op.drop_column("satuan")
        batch_op.drop_column("volume")
    with op.batch_alter_table("categories", recreate="never") as batch_op:
        for name, _length, _default in reversed(CATEGORY_COLUMNS):
            batch_op.drop_column(name)
