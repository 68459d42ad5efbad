"""Account recovery: password reset by mail or by an admin's one-time link, and email verification.

Where the secret lives: nowhere. A link's token is `<user id>.<issued, unix seconds>.<MAC>`, the
MAC an HMAC-SHA256 (keyed from SECRET_KEY, one key per purpose) over the id, the issue time and
what the token is bound to:

- a reset token: the account's current password hash and session epoch. Setting a password (by
  this link, the account page, an admin...) changes the hash, and signing out everywhere or a
  deactivation moves the epoch, so every link issued before dies, the used one included: a link
  works once. It also dies PASSWORD_RESET_LIFETIME (30 minutes) after it was issued.
- a verification token: the address it was sent to, for EMAIL_VERIFICATION_LIFETIME.

Nothing secret is stored: the notification row holds only the issue time, and the worker
computes the link from it when it sends (`notifications.account_kinds`). A reader of the
notifications table (or of a backup) cannot make a working link without SECRET_KEY; changing
SECRET_KEY kills every link in flight.

Services flush, never commit; each records its own event.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import select

from participation import limits
from participation.auth.passwords import hash_password, password_problems
from participation.database import lock_for_update
from participation.events import Actor, record
from participation.extensions import db
from participation.models import Role, User
from participation.models import utcnow as _utcnow

RESET = "password-reset"
VERIFY = "email-verification"


def utcnow() -> datetime:
    """The clock of this module (tests move it to expire links without sleeping)."""
    return _utcnow()


class InvalidLink(Exception):
    """The link is malformed, forged, expired, already used or for an account that cannot use it."""


class WeakPassword(Exception):
    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


def _key(purpose: str) -> bytes:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, f"musrenbang {purpose} link".encode(), hashlib.sha256).digest()


def _bound_to(purpose: str, user: User) -> str:
    if purpose == RESET:
        return f"{user.password_hash}\0{user.session_epoch or 0}"
    return user.email


def _mac(purpose: str, user: User, issued: int) -> str:
    message = f"{user.id}\0{issued}\0{_bound_to(purpose, user)}".encode()
    digest = hmac.new(_key(purpose), message, hashlib.sha256).digest()[:24]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _timestamp(moment: datetime) -> int:
    return int(moment.replace(tzinfo=timezone.utc).timestamp())


def make_token(purpose: str, user: User, issued_at: datetime) -> str:
    issued = _timestamp(issued_at)
    return f"{user.id}.{issued}.{_mac(purpose, user, issued)}"


def lifetime(purpose: str) -> timedelta:
    setting = "PASSWORD_RESET_LIFETIME" if purpose == RESET else "EMAIL_VERIFICATION_LIFETIME"
    return current_app.config[setting]


def _parse(token: str) -> tuple[int, int, str]:
    parts = token.split(".") if isinstance(token, str) and len(token) <= 120 else []
    if len(parts) != 3 or not (parts[0].isdigit() and parts[1].isdigit()) or len(parts[0]) > 12:
        raise InvalidLink("malformed")
    return int(parts[0]), int(parts[1]), parts[2]


def check_token(purpose: str, token: str, *, lock: bool = False) -> User:
    """The account a valid, unexpired token names (locked for update when `lock`), or InvalidLink."""
    user_id, issued, mac = _parse(token)
    query = select(User).where(User.id == user_id)
    user = db.session.scalar(lock_for_update(query) if lock else query)
    if user is None or not user.active:
        raise InvalidLink("no account")
    if not hmac.compare_digest(mac, _mac(purpose, user, issued)):
        raise InvalidLink("forged or used")
    age = _timestamp(utcnow()) - issued
    if age < -60 or age > lifetime(purpose).total_seconds():
        raise InvalidLink("expired")
    return user


def issued_at(payload: dict) -> datetime:
    return datetime.fromisoformat(payload["issued_at"])


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat(timespec="seconds")


# Password reset -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResetRequest:
    """What a request did, for the audit and the tests (the page shows the same either way)."""

    user: User | None


def request_reset(email: str, actor: Actor) -> ResetRequest:
    """Someone asks for a reset link for `email`: throttled per address and per IP (RateLimited),
    audited as `password.reset_requested`, whether or not an account has the address. For an
    active account the event writes the mail (notifications.account_kinds, email only).

    Both paths do the same work up to the one notification row: the same two limit checks and
    hits (the address is counted even when nobody has it), one indexed look-up, one audit row.
    """
    normalized = User.normalize_email(email)
    if limits.applies_to(actor):
        checks = [(limits.RESET_REQUESTS, normalized)]
        checks += [(limits.RESET_REQUESTS_IP, actor.ip)] if actor.ip else []
        limits.enforce(checks, ip=actor.ip)
    user = db.session.scalar(select(User).where(User.email == normalized))
    eligible = user if user is not None and user.active else None
    now = utcnow()
    record("password.reset_requested", actor, eligible, object_type="User",
           object_id=eligible.id if eligible else None,
           after={"email": normalized, "account": eligible is not None, "issued_at": _iso(now),
                  "expires_at": _iso(now + lifetime(RESET))})
    return ResetRequest(eligible)


def issue_reset_link(user: User, actor: Actor) -> tuple[str, datetime]:
    """An admin's one-time reset link for an owner who cannot receive mail; audited as
    `user.reset_link_issued` (without the link). Returns the link and when it expires."""
    from participation.notifications.render import public_url

    if not user.active or user.role is not Role.PROPONENT:
        raise InvalidLink("not an active owner")
    now = utcnow().replace(microsecond=0)
    expires = now + lifetime(RESET)
    record("user.reset_link_issued", actor, user, after={"expires_at": _iso(expires)})
    return public_url("recovery.reset", token=make_token(RESET, user, now)), expires


def reset_password(token: str, new_password: str, actor: Actor) -> User:
    """Set a new password through a reset link: the link is checked again under the account's
    row lock (two tabs sending one link: the second finds it used), the password policy applies,
    every session ends (the epoch moves) and the link with it. Audited as `user.password_reset`."""
    user = check_token(RESET, token, lock=True)
    problems = password_problems(new_password, role=user.role, email=user.email, name=user.name)
    if problems:
        raise WeakPassword(problems)
    user.password_hash = hash_password(new_password)
    user.end_all_sessions()
    db.session.flush()
    record("user.password_reset", actor.as_(user), user)
    return user


# Email verification ---------------------------------------------------------------------------

class AlreadyVerified(Exception):
    """Nothing to send again: the address is confirmed."""


def resend_verification(user: User, actor: Actor) -> None:
    """Send the confirmation link again (at most VERIFICATION_RESEND_LIMIT per window, RateLimited);
    audited as `user.verification_resent`, which writes the mail."""
    if user.email_verified_at is not None:
        raise AlreadyVerified(user.id)
    if limits.applies_to(actor):
        limits.enforce([(limits.VERIFICATION_RESENDS, str(user.id))], ip=actor.ip)
    record("user.verification_resent", actor, user, after={"email": user.email, "issued_at": _iso(utcnow())})


def verify_email(token: str, actor: Actor) -> tuple[User, bool]:
    """Confirm the address a verification link was sent to; (user, whether it was news).
    Audited as `user.email_verified` the first time."""
    user = check_token(VERIFY, token, lock=True)
    if user.email_verified_at is not None:
        return user, False
    user.email_verified_at = utcnow()
    record("user.email_verified", actor, user, after={"email": user.email})
    return user, True
