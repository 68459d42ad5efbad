"""The subscriber that writes messages in the transaction of the event they report.

`record()` calls `on_event` for every audit event before the caller commits; each kind that
answers the event adds its rows to the same session. When the change rolls back, its messages
go with it, and when it commits they are there for the worker: nothing is sent from here.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from participation.events import subscribe
from participation.extensions import db
from participation.models import (
    Notification,
    NotificationChannel,
    NotificationMode,
    NotificationState,
    utcnow,
)
from participation.notifications.registry import Notice, kinds_for


@subscribe
def on_event(audit_event, actor, obj) -> None:
    """Write the messages of every kind that answers this event."""
    for registered in kinds_for(audit_event.action):
        for notice in registered.build(audit_event, actor, obj):
            write(registered.name, notice, audit_event)


def channels_for(kind: str, notice: Notice) -> tuple[tuple[NotificationChannel, ...], bool]:
    """The channels a notice goes on after its user's preference, and whether it waits for the digest."""
    from participation.notifications.preferences import mode_of

    mode = mode_of(notice.user, kind)
    if mode is None or mode is NotificationMode.IMMEDIATE:
        return notice.channels, False
    if mode is NotificationMode.OFF:
        return (), False
    in_app = tuple(channel for channel in notice.channels if channel is NotificationChannel.IN_APP)
    return in_app, mode is NotificationMode.DIGEST


def write(kind: str, notice: Notice, audit_event=None) -> list[Notification]:
    """The rows of one notice, added to the current transaction: an email row due now (the worker
    sends it) and an in-app row, delivered by being written, on the channels the user's preference
    leaves (a digest-bound message: the in-app row only, marked for the digest). Nothing for an
    inactive account. A notice with a key that was written before writes nothing again."""
    user = notice.user
    if user is None or not user.active:
        return []
    channels, for_digest = channels_for(kind, notice)
    if notice.key is not None:
        return _write_once(kind, notice, channels, for_digest, audit_event)
    return add_rows(kind, notice, channels, for_digest, audit_event)


def add_rows(kind, notice, channels, for_digest, audit_event=None) -> list[Notification]:
    """The notice's rows on `channels`, added to the session (the in-app one marked for the digest if asked)."""
    now = utcnow()
    rows = []
    for channel in channels:
        row = Notification(user=notice.user, kind=kind, channel=channel, payload=dict(notice.payload),
                           event=audit_event, created_at=now, attempts=0, dedup_key=notice.key,
                           awaits_digest=for_digest and channel is NotificationChannel.IN_APP)
        if channel is NotificationChannel.IN_APP:
            row.state, row.sent_at = NotificationState.SENT, now
        else:
            row.state, row.next_attempt_at = NotificationState.PENDING, now
        db.session.add(row)
        rows.append(row)
    return rows


def written(key: str) -> bool:
    return db.session.scalar(select(Notification.id).where(Notification.dedup_key == key).limit(1)) is not None


def _write_once(kind, notice, channels, for_digest, audit_event=None) -> list[Notification]:
    """A keyed notice in a savepoint: when another worker wrote the same key first, the unique
    index refuses ours and the savepoint takes it back, leaving the rest of the scan intact."""
    if written(notice.key):
        return []
    try:
        with db.session.begin_nested():
            rows = add_rows(kind, notice, channels, for_digest, audit_event)
            db.session.flush()
    except IntegrityError:
        return []
    return rows
