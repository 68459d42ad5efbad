"""follow-up of funded proposals: follow_ups and follow_up_updates

Revision ID: a7d0f3c8e429
Revises: f6c9e2b7d328
Create Date: 2026-12-02 17:00:00

Two new tables. A finalised session gives each funded proposal one follow_ups row (the responsible
OPD, budget year, allocated amount and the latest state); follow_up_updates holds the dated
entries, each with an optional photo in stored_files. Sessions finalised before this migration get
their rows from a button on their follow-up page, or from `flask import-follow-up`
(participation/followup/services.py `ensure_follow_ups`). Both ids are AUTOINCREMENT on SQLite: audit events name them.
"""
import sqlalchemy as sa
from alembic import op

revision = "a7d0f3c8e429"
down_revision = "f6c9e2b7d328"
branch_labels = None
depends_on = None

STATUSES = ("direncanakan", "berjalan", "selesai", "batal")


def upgrade():
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("opd_name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("opd_code", sa.String(length=50), server_default="", nullable=False),
        sa.Column("budget_year", sa.Integer(), nullable=False),
        sa.Column("allocated_amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Enum(*STATUSES, name="follow_up_status", native_enum=False, create_constraint=True,
                                    length=20), server_default="direncanakan", nullable=False),
        sa.Column("progress", sa.Integer(), server_default="0", nullable=False),
        sa.Column("realised_amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cancel_reason", sa.String(length=500), server_default="", nullable=False),
        sa.Column("responsible_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name=op.f("ck_follow_ups_progress_range")),
        sa.CheckConstraint("allocated_amount >= 0", name=op.f("ck_follow_ups_allocated_non_negative")),
        sa.CheckConstraint("realised_amount >= 0", name=op.f("ck_follow_ups_realised_non_negative")),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"], name=op.f("fk_follow_ups_proposal_id_proposals"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_id"], ["themed_sessions.id"],
                                name=op.f("fk_follow_ups_session_id_themed_sessions")),
        sa.ForeignKeyConstraint(["responsible_user_id"], ["users.id"],
                                name=op.f("fk_follow_ups_responsible_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
        sa.UniqueConstraint("proposal_id", name=op.f("uq_follow_ups_proposal_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_follow_ups_session_id"), "follow_ups", ["session_id"])
    op.create_table(
        "follow_up_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("follow_up_id", sa.Integer(), nullable=False),
        sa.Column("dated", sa.Date(), nullable=False),
        sa.Column("status", sa.Enum(*STATUSES, name="follow_up_update_status", native_enum=False,
                                    create_constraint=True, length=20), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("realised_amount", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("cancel_reason", sa.String(length=500), server_default="", nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=True),
        sa.Column("photo_name", sa.String(length=200), nullable=True),
        sa.Column("photo_type", sa.String(length=40), nullable=True),
        sa.Column("photo_size", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name=op.f("ck_follow_up_updates_progress_range")),
        sa.CheckConstraint("realised_amount >= 0", name=op.f("ck_follow_up_updates_realised_non_negative")),
        sa.ForeignKeyConstraint(["follow_up_id"], ["follow_ups.id"],
                                name=op.f("fk_follow_up_updates_follow_up_id_follow_ups"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["photo_id"], ["stored_files.id"],
                                name=op.f("fk_follow_up_updates_photo_id_stored_files")),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_follow_up_updates_author_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_updates")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_follow_up_updates_follow_up_id"), "follow_up_updates", ["follow_up_id"])


def downgrade():
    op.drop_index(op.f("ix_follow_up_updates_follow_up_id"), table_name="follow_up_updates")
    op.drop_table("follow_up_updates")
    op.drop_index(op.f("ix_follow_ups_session_id"), table_name="follow_ups")
    op.drop_table("follow_ups")
