"""The subscriber that writes messages in the transaction of the event they report.

`record()` calls `on_event` for every audit event before the caller commits; each kind that
answers the event adds its rows to the same session. When the change rolls back, its messages
go with it, and when it commits they are there for the worker: nothing is sent from here.
"""
from __future__ import annotations

from participation.events import subscribe
from participation.extensions import db
from participation.models import (
    Notification,
    NotificationChannel,
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


def write(kind: str, notice: Notice, audit_event=None) -> list[Notification]:
    """The rows of one notice, added to the current transaction: an email row due now (the worker
    sends it) and an in-app row, delivered by being written. Nothing for an inactive account."""
    user = notice.user
    if user is None or not user.active:
        return []
    now = utcnow()
    rows = []
    for channel in notice.channels:
        row = Notification(user=user, kind=kind, channel=channel, payload=dict(notice.payload),
                           event=audit_event, created_at=now, attempts=0)
        if channel is NotificationChannel.IN_APP:
            row.state, row.sent_at = NotificationState.SENT, now
        else:
            row.state, row.next_attempt_at = NotificationState.PENDING, now
        db.session.add(row)
        rows.append(row)
    return rows
