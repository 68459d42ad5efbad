"""business identity: profile changes held for staff review

Revision ID: 7c3f2e4a0d53
Revises: 6b2e1d3f9c42
Create Date: 2026-12-02 03:00:00

An owner's change of the NIB or name of a business that has proposals (or to a NIB another
business uses) waits in business_identity_changes until staff approve or reject it.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "7c3f2e4a0d53"
down_revision = "6b2e1d3f9c42"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "business_identity_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("old_nib", sa.String(length=13), nullable=False),
        sa.Column("old_name", sa.String(length=200), nullable=False),
        sa.Column("nib", sa.String(length=13), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Enum("has_proposals", "nib_in_use", name="identity_change_reason", native_enum=False,
                                    create_constraint=True, length=20), nullable=False),
        sa.Column("status", sa.Enum("pending", "approved", "rejected", "withdrawn", name="identity_change_status",
                                    native_enum=False, create_constraint=True, length=20),
                  server_default="pending", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"],
                                name=op.f("fk_business_identity_changes_business_id_businesses"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"],
                                name=op.f("fk_business_identity_changes_decided_by_id_users")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_business_identity_changes_requested_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_identity_changes")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("business_identity_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_business_identity_changes_business_id"), ["business_id"], unique=False)


def downgrade():
    with op.batch_alter_table("business_identity_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_business_identity_changes_business_id"))
    op.drop_table("business_identity_changes")
