"""separate registrations: a door business kept apart from an account's, held for staff review

Revision ID: a5c9e2f7d315
Revises: b07d6c8e4197
Create Date: 2026-12-02 09:30:00

When a facilitator registers a business at the door (or from a paper form) beside one with an
account, because the person could not be confirmed as that account's owner, a row here waits
until staff merge the two or keep them apart with a reason.
"""
from alembic import op
import sqlalchemy as sa

revision = "a5c9e2f7d315"
down_revision = "b07d6c8e4197"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "separate_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=True),
        sa.Column("account_business_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("registered_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.Enum("pending", "merged", "kept_separate", name="separate_registration_status",
                                    native_enum=False, create_constraint=True, length=20),
                  server_default="pending", nullable=False),
        sa.Column("note", sa.String(length=500), server_default="", nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_business_id"], ["businesses.id"],
                                name=op.f("fk_separate_registrations_account_business_id_businesses"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"],
                                name=op.f("fk_separate_registrations_business_id_businesses"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"],
                                name=op.f("fk_separate_registrations_decided_by_id_users")),
        sa.ForeignKeyConstraint(["registered_by_id"], ["users.id"],
                                name=op.f("fk_separate_registrations_registered_by_id_users")),
        sa.ForeignKeyConstraint(["session_id"], ["themed_sessions.id"],
                                name=op.f("fk_separate_registrations_session_id_themed_sessions"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_separate_registrations")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("separate_registrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_separate_registrations_account_business_id"), ["account_business_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_separate_registrations_business_id"), ["business_id"], unique=False)


def downgrade():
    with op.batch_alter_table("separate_registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_separate_registrations_business_id"))
        batch_op.drop_index(batch_op.f("ix_separate_registrations_account_business_id"))
    op.drop_table("separate_registrations")
