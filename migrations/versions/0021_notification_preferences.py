"""notification preferences, scheduled messages and the daily digest

Revision ID: f8b4d6c0e319
Revises: d3f8b0c4e723
Create Date: 2026-12-02 12:45:00

- `notification_preferences`: a user's choice per kind of message (immediately, daily digest,
  in the app only, or not at all); no row means the kind's default.
- `notifications.dedup_key` with a unique index over (dedup_key, channel): a reminder or daily
  message is written once, whatever the number of workers scanning (NULLs never collide).
- `notifications.awaits_digest`: an in-app message still to be gathered into its user's digest.
Added columns and a new index only: no table is rebuilt on SQLite.
"""
import sqlalchemy as sa
from alembic import op

revision = "f8b4d6c0e319"
down_revision = "d3f8b0c4e723"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.Enum("immediate", "digest", "in_app", "off", name="notification_mode",
                                  native_enum=False, create_constraint=True, length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notification_preferences_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_notification_preferences")),
    )
    op.add_column("notifications", sa.Column("dedup_key", sa.String(length=120), nullable=True))
    op.add_column("notifications", sa.Column("awaits_digest", sa.Boolean(), server_default=sa.false(),
                                             nullable=False))
    op.create_index("ux_notifications_dedup_key", "notifications", ["dedup_key", "channel"], unique=True)


def downgrade():
    op.drop_index("ux_notifications_dedup_key", table_name="notifications")
    with op.batch_alter_table("notifications", recreate="never") as batch:  # in place, keeping AUTOINCREMENT
        batch.drop_column("awaits_digest")
        batch.drop_column("dedup_key")
    op.drop_table("notification_preferences")
