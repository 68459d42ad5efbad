"""Each user's choice per kind of message, and the digest's one-click unsubscribe.

A kind with `choices` (registry.py) goes to a user as they chose: immediately by email (and in the
app), gathered into the daily digest email, or in the app only; an opt-in kind (the staff's daily
summary) also "not at all", its default. Receipts and outcomes have no choices: authors always get
them by email.

The digest mails carry List-Unsubscribe (RFC 2369) with List-Unsubscribe-Post (RFC 8058): an https
link with a signed token naming the user, which works without signing in. Using it moves every
kind the user gets by digest to "in the app only": nothing is lost, no more digest mail comes.
"""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from participation.events import Actor, record
from participation.extensions import db
from participation.models import NotificationMode, NotificationPreference, User
from participation.notifications.registry import KINDS, preferable

UNSUBSCRIBE_SALT = "notifications.unsubscribe-digest"


def _stored(user: User) -> dict[str, NotificationMode]:
    return {row.kind: row.mode for row in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id))}


def modes_of(user: User) -> dict[str, NotificationMode]:
    """The user's mode for every kind that has choices (a kind's default where none is stored)."""
    stored = _stored(user)
    modes = {}
    for registered in preferable():
        mode = stored.get(registered.name, registered.default)
        modes[registered.name] = mode if mode in registered.choices else registered.default
    return modes


def mode_of(user: User, kind: str) -> NotificationMode | None:
    """How `user` gets `kind`: None for a kind without choices (always by email and in the app)."""
    registered = KINDS[kind]
    if not registered.choices:
        return None
    row = db.session.get(NotificationPreference, (user.id, kind))
    if row is None or row.mode not in registered.choices:
        return registered.default
    return row.mode


def save(user: User, modes: dict[str, NotificationMode], actor: Actor) -> dict:
    """Store the user's choices (only kinds with choices, only allowed modes); the changes."""
    current = modes_of(user)
    stored = _stored(user)
    changes = {}
    for name, mode in modes.items():
        registered = KINDS.get(name)
        if registered is None or mode not in registered.choices:
            raise ValueError(name)
        if current[name] == mode and name in stored:
            continue
        row = db.session.get(NotificationPreference, (user.id, name))
        if row is None:
            db.session.add(NotificationPreference(user_id=user.id, kind=name, mode=mode))
        else:
            row.mode = mode
        if current[name] != mode:
            changes[name] = (current[name].value, mode.value)
    db.session.flush()
    if changes:
        record("notification_preferences.saved", actor, user, before={k: v[0] for k, v in changes.items()},
               after={k: v[1] for k, v in changes.items()})
    return changes


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user: User) -> str:
    """The signed token of the digest's unsubscribe link (it names the user and their address)."""
    return _serializer().dumps({"u": user.id, "e": user.email})


def unsubscribe_url(user: User) -> str:
    """The digest's one-click unsubscribe address: works without signing in, by its signed token."""
    from participation.notifications.render import public_url

    return public_url("notifications.unsubscribe", token=unsubscribe_token(user))


def user_of_token(token: str) -> User | None:
    """The active user a token was made for; None for a forged token or an address that changed."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = db.session.get(User, data["u"])
    if user is None or not user.active or user.email != data.get("e"):
        return None
    return user


def unsubscribe_digest(user: User, actor: Actor) -> list[str]:
    """Move every kind the user gets by digest to "in the app only"; the kinds moved."""
    moved = [name for name, mode in modes_of(user).items() if mode is NotificationMode.DIGEST]
    for name in moved:
        row = db.session.get(NotificationPreference, (user.id, name))
        if row is None:
            db.session.add(NotificationPreference(user_id=user.id, kind=name, mode=NotificationMode.IN_APP))
        else:
            row.mode = NotificationMode.IN_APP
    db.session.flush()
    record("notifications.unsubscribed", actor, user, after={"kinds": moved})
    return moved
