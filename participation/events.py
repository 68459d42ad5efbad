"""The one place where "something happened" is written: the audit row, and the hook behind it.

Every state-changing service ends by calling `record(event, actor, obj, ...)`. It appends the
`AuditEvent` to the caller's transaction and then calls each subscriber, so that whatever reacts
to an event (notifications, later) is written in the same transaction as the change it reports:
a rolled-back change leaves neither an audit row nor a message behind.

Nothing here reads the request: the web builds its `Actor` in `security.web_actor()`, the CLI and
the demo build theirs with `Actor.cli()` and `Actor.demo()`.
"""
from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from participation.extensions import db
from participation.models import AuditEvent

if TYPE_CHECKING:
    from participation.models import User


class Channel(str, enum.Enum):
    """Which door an operation came through."""

    WEB = "web"
    CLI = "cli"
    DEMO = "demo"
    API = "api"


@dataclass(frozen=True)
class Actor:
    """Who acts, from where: the user (None for an anonymous visitor or a script), IP and channel."""

    user: User | None = None
    ip: str | None = None
    channel: Channel = Channel.WEB

    @classmethod
    def cli(cls, user: User | None = None) -> Actor:
        return cls(user=user, channel=Channel.CLI)

    @classmethod
    def demo(cls, user: User | None = None) -> Actor:
        return cls(user=user, channel=Channel.DEMO)

    def as_(self, user: User | None) -> Actor:
        """The same origin acting as `user` (a sign-in or a registration names its user only now)."""
        return Actor(user=user, ip=self.ip, channel=self.channel)

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None


Subscriber = Callable[[AuditEvent, Actor, object], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> Subscriber:
    """Call `subscriber(event, actor, obj)` after every recorded event (usable as a decorator)."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)
    return subscriber


def unsubscribe(subscriber: Subscriber) -> None:
    if subscriber in _subscribers:
        _subscribers.remove(subscriber)


def record(event: str, actor: Actor, obj=None, *, object_type: str | None = None, object_id=None,
           before: dict | None = None, after: dict | None = None) -> AuditEvent:
    """Append the audit row of `event` to the current transaction and tell the subscribers."""
    if obj is not None:
        object_type = object_type or type(obj).__name__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    audit_event = AuditEvent(
        action=event,
        actor=actor.user,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        before=before,
        after=after,
        ip=actor.ip,
        channel=actor.channel.value,
    )
    db.session.add(audit_event)
    for subscriber in list(_subscribers):
        subscriber(audit_event, actor, obj)
    return audit_event
