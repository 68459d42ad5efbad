"""password reset and email verification: users.email_verified_at

Revision ID: e7a3c5b9d218
Revises: c3e1a9d20f17
Create Date: 2026-12-02 12:40:00

One new column. Reset and verification links are signed tokens that are never stored (see
participation/auth/recovery.py), so no table holds them. Every account that exists before this
migration is taken as verified (it was made before verification existed, and owners have used
it since); only owners who register from now on confirm their address.
"""
import sqlalchemy as sa
from alembic import op

revision = "e7a3c5b9d218"
down_revision = "c3e1a9d20f17"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", recreate="never") as batch:  # in place: a rebuild would DROP users, which every table references
        batch.add_column(sa.Column("email_verified_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE users SET email_verified_at = created_at")


def downgrade():
    with op.batch_alter_table("users", recreate="never") as batch:  # in place: a rebuild would DROP users, which every table references
        batch.drop_column("email_verified_at")
