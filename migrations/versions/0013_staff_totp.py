"""staff two-factor authentication: TOTP secrets and recovery codes

Revision ID: af6c5b7d3086
Revises: 9e5b4a6c2f75
Create Date: 2026-12-02 06:00:00

Two new tables. staff_totp holds one row per staff account that has started enrolling (the
secret encrypted with a key derived from SECRET_KEY, the last accepted time step against
replay); recovery_codes holds salted SHA-256 digests of single-use codes, AUTOINCREMENT on
SQLite like every audited table.
"""
import sqlalchemy as sa
from alembic import op

revision = "af6c5b7d3086"
down_revision = "9e5b4a6c2f75"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "staff_totp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_staff_totp_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_totp")),
        sa.UniqueConstraint("user_id", name=op.f("uq_staff_totp_user_id")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_recovery_codes_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_recovery_codes_user_id"), "recovery_codes", ["user_id"])


def downgrade():
    op.drop_index(op.f("ix_recovery_codes_user_id"), table_name="recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_table("staff_totp")
