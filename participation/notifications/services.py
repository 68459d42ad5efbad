"""What people do with messages: read them (the owner), send a failed one again (an admin)."""
from __future__ import annotations

from sqlalchemy import func, or_, select, update

from participation.events import Actor, record
from participation.extensions import db
from participation.models import (
    Notification,
    NotificationChannel,
    NotificationState,
    User,
    utcnow,
)


class NotResendable(Exception):
    """Only a failed email, or one waiting for its next attempt, can be sent again."""


def inbox(user: User, limit: int = 100) -> list[Notification]:
    """The user's in-app messages, newest first (ties: the later id first)."""
    return list(db.session.scalars(
        select(Notification).where(Notification.user_id == user.id,
                                   Notification.channel == NotificationChannel.IN_APP)
        .order_by(Notification.id.desc()).limit(limit)))


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.channel == NotificationChannel.IN_APP,
        Notification.read_at.is_(None)))


def mark_read(notification: Notification, actor: Actor) -> bool:
    """Mark one of the actor's in-app messages read; False when it already was."""
    if notification.read_at is not None:
        return False
    notification.read_at = utcnow()
    record("notification.read", actor, notification)
    return True


def mark_all_read(user: User, actor: Actor) -> int:
    """Mark every unread in-app message of `user` read; how many were."""
    count = db.session.execute(
        update(Notification).where(Notification.user_id == user.id,
                                   Notification.channel == NotificationChannel.IN_APP,
                                   Notification.read_at.is_(None))
        .values(read_at=utcnow())).rowcount or 0
    if count:
        record("notifications.all_read", actor, user, after={"count": count})
    return count


def resendable(notification: Notification) -> bool:
    return notification.channel is NotificationChannel.EMAIL and (
        notification.state is NotificationState.FAILED or notification.waits_for_retry)


def troubled(limit: int = 200) -> list[Notification]:
    """Email messages that failed or wait for a retry, the most recent trouble first (then by id)."""
    return list(db.session.scalars(
        select(Notification).where(
            Notification.channel == NotificationChannel.EMAIL,
            or_(Notification.state == NotificationState.FAILED,
                (Notification.state == NotificationState.PENDING) & (Notification.attempts > 0)))
        .order_by(Notification.state, Notification.id.desc()).limit(limit)))


def resend(notification: Notification, actor: Actor) -> Notification:
    """Put a failed (or waiting) email back in the queue, due now, with a fresh set of attempts."""
    if not resendable(notification):
        raise NotResendable(notification.state.value)
    before = {"state": notification.state.value, "attempts": notification.attempts,
              "last_error": notification.last_error}
    notification.state = NotificationState.PENDING
    notification.attempts = 0
    notification.next_attempt_at = utcnow()
    notification.lease_until = notification.claimed_by = None
    record("notification.resent", actor, notification, before=before,
           after={"state": "pending", "kind": notification.kind, "user_id": notification.user_id})
    return notification

