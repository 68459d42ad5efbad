"""abuse limits counted in the database (login, registration, submission)

Revision ID: 5a1f0c2e8b31
Revises: 3e8a41c7b5d2
Create Date: 2026-12-02 03:00:00

One table of counted hits, `rate_limit_hits` (scope, key, ip, created_at), replaces the
per-account `login_failures`: login throttling now counts per account, IP and network, and
registrations and proposal submissions are counted in it too (participation/limits.py). The old
rows are short-lived reservations (15 minutes) and are not carried over: the worst case is that
an account under attack during the upgrade gets its window back once.

SQLite: the new table carries AUTOINCREMENT (see 0006); a sign-in deletes its own reservations by id.
"""
import sqlalchemy as sa
from alembic import op

revision = "5a1f0c2e8b31"
down_revision = "3e8a41c7b5d2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rate_limit_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_hits")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_rate_limit_hits_scope_key_created_at", "rate_limit_hits",
                    ["scope", "key", "created_at"], unique=False)
    op.create_index("ix_rate_limit_hits_scope_created_at", "rate_limit_hits", ["scope", "created_at"],
                    unique=False)
    op.drop_index("ix_login_failures_account_key_created_at", table_name="login_failures")
    op.drop_table("login_failures")


def downgrade():
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_key", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_login_failures_account_key_created_at", "login_failures",
                    ["account_key", "created_at"], unique=False)
    op.drop_index("ix_rate_limit_hits_scope_created_at", table_name="rate_limit_hits")
    op.drop_index("ix_rate_limit_hits_scope_key_created_at", table_name="rate_limit_hits")
    op.drop_table("rate_limit_hits")
