"""Notifications: one message to one user, written in the transaction of the change it reports."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.extensions import db
from participation.models.base import LabelledEnum, enum_column, table_args, utcnow


class NotificationChannel(LabelledEnum):
    """How a message reaches its user: by email, or on the notifications page."""

    EMAIL = "email", _l("Email")
    IN_APP = "in_app", _l("In the app")


class NotificationState(LabelledEnum):
    """pending → sending (a worker holds it under a lease) → sent, or back to pending for a retry,
    or failed once the retries are spent. An in-app message is sent when it is written."""

    PENDING = "pending", _l("Waiting"), "secondary"
    SENDING = "sending", _l("Sending"), "info"
    SENT = "sent", _l("Sent"), "success"
    FAILED = "failed", _l("Failed"), "danger"


class Notification(db.Model):
    """A message for `user` of `kind` (participation/notifications/kinds.py), rendered from `payload`
    in the user's language when it is sent or shown."""

    __tablename__ = "notifications"
    __table_args__ = table_args(
        sa.Index("ix_notifications_due", "channel", "state", "next_attempt_at"),
        sa.Index("ix_notifications_user_channel", "user_id", "channel", "id"),
        # A scheduled message (a reminder, a daily summary or digest) is written at most once per
        # channel, whatever the number of workers scanning at the same time.
        sa.Index("ux_notifications_dedup_key", "dedup_key", "channel", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    channel: Mapped[NotificationChannel] = mapped_column(enum_column(NotificationChannel, "notification_channel"))
    # What the message needs (receipt number, title, session, deadline...), as it was when the
    # event happened; the text itself is rendered at send time in the recipient's language.
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    state: Mapped[NotificationState] = mapped_column(enum_column(NotificationState, "notification_state"),
                                                     default=NotificationState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    # Held by the worker `claimed_by` until `lease_until` while it sends; a lapsed lease is due again.
    lease_until: Mapped[datetime | None] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(sa.String(80))
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    read_at: Mapped[datetime | None] = mapped_column()
    # The audit event the message reports.
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("audit_events.id"))
    # What makes a scheduled message unique (e.g. "draft_reminder:42"); None for the others.
    dedup_key: Mapped[str | None] = mapped_column(sa.String(120))
    # An in-app message whose user gets this kind by daily digest, not yet gathered into one.
    awaits_digest: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    user = relationship("User")
    event = relationship("AuditEvent")

    @property
    def is_unread(self) -> bool:
        return self.read_at is None

    @property
    def waits_for_retry(self) -> bool:
        """An email that failed at least once and waits for its next attempt."""
        return self.state is NotificationState.PENDING and self.attempts > 0

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} {self.channel.value} {self.state.value}>"


class NotificationMode(LabelledEnum):
    """How a user gets a kind of message that follows their preference."""

    IMMEDIATE = "immediate", _l("By email, immediately")
    DIGEST = "digest", _l("In one daily digest email")
    IN_APP = "in_app", _l("In the app only, no email")
    OFF = "off", _l("Not at all")


class NotificationPreference(db.Model):
    """A user's choice for one kind of message (no row: the kind's default)."""

    __tablename__ = "notification_preferences"
    __table_args__ = table_args()

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    mode: Mapped[NotificationMode] = mapped_column(enum_column(NotificationMode, "notification_mode"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<NotificationPreference {self.user_id} {self.kind} {self.mode.value}>"
