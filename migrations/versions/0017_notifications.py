"""notifications: the transactional outbox of email and in-app messages

Revision ID: c3e1a9d20f17
Revises: d4f2b8e61a16
Create Date: 2026-12-02 09:30:00

One new table. A row is written in the transaction of the event it reports (`event_id`), so a
rolled-back change leaves no message; the worker (`flask send-notifications`, `flask run-jobs`)
sends the due email rows under a lease. Its id is AUTOINCREMENT on SQLite like every table whose
rows the admin pages and audit events name (notification.resent).
"""
import sqlalchemy as sa
from alembic import op

revision = "c3e1a9d20f17"
down_revision = "d4f2b8e61a16"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.Enum("email", "in_app", name="notification_channel", native_enum=False,
                                     create_constraint=True, length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.Enum("pending", "sending", "sent", "failed", name="notification_state",
                                   native_enum=False, create_constraint=True, length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["audit_events.id"],
                                name=op.f("fk_notifications_event_id_audit_events")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_notifications_due", "notifications", ["channel", "state", "next_attempt_at"])
    op.create_index("ix_notifications_user_channel", "notifications", ["user_id", "channel", "id"])


def downgrade():
    op.drop_index("ix_notifications_user_channel", table_name="notifications")
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.drop_table("notifications")
