"""Personal access tokens: issued on the account page, shown once, stored hashed (DESIGN §9).

A token reads `mt_<8 characters>_<secret>`. The first part is its prefix: shown on the account
page so that the owner can tell tokens apart, unique, and the key it is looked up by. The secret
is 256 random bits, kept only as its SHA-256 and compared in constant time. A token acts as its
user with the user's current role and permissions; it stops working when it is revoked, when it
expires, or while its user is deactivated. It does not follow the user's session epoch: signing
out of the web or changing the password ends browser sessions, not the scripts the owner runs
(revoking is how a token is ended). Every issue and revocation is audited; the secret never
reaches the audit, the logs or the database.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from participation.events import Actor, record
from participation.extensions import db
from participation.models import ApiToken, TokenScope, User, utcnow

PREFIX_MARK = "mt_"
PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
PREFIX_LENGTH = 8
SECRET_BYTES = 32
NAME_MAX = 80
MAX_ACTIVE_TOKENS = 20
TOKEN_SHAPE = re.compile(rf"({PREFIX_MARK}[a-z0-9]{{{PREFIX_LENGTH}}})_([A-Za-z0-9_-]{{43}})")


class TokenRefused(Exception):
    """A token could not be issued as asked; `field` names the form field the message belongs to."""

    def __init__(self, field: str, message):
        super().__init__(field)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class IssuedToken:
    """A new token and its whole text, which exists only here: show it once, never store it."""

    token: ApiToken
    raw: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")


def local_today(now: datetime | None = None) -> date:
    """Today's date in the app's time zone (`now` is naive UTC, as stored)."""
    now = now or utcnow()
    return now.replace(tzinfo=ZoneInfo("UTC")).astimezone(_zone()).date()


def default_expiry(now: datetime | None = None) -> date:
    return local_today(now) + current_app.config["API_TOKEN_DEFAULT_LIFETIME"]


def latest_expiry(now: datetime | None = None) -> date:
    return local_today(now) + current_app.config["API_TOKEN_MAX_LIFETIME"]


def end_of(day: date) -> datetime:
    """The first moment after `day` in the app's time zone, as naive UTC: the token works all that day."""
    local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=_zone())
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def last_day(token: ApiToken) -> date:
    """The last local day `token` works (it expires at the start of the next)."""
    return local_today(token.expires_at - timedelta(microseconds=1))


def active_tokens_of(user: User, now: datetime | None = None) -> int:
    now = now or utcnow()
    return db.session.scalar(select(func.count(ApiToken.id)).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now))


def _check(user: User, name: str, scopes: list[str], expires_on: date | None, now: datetime) -> str:
    name = (name or "").strip()
    if not name:
        raise TokenRefused("name", _l("Give the token a name, such as the script that will use it."))
    if len(name) > NAME_MAX:
        raise TokenRefused("name", _l("The name is too long (at most %(num)d characters).", num=NAME_MAX))
    known = {scope.value for scope in TokenScope}
    if not scopes or not set(scopes) <= known:
        raise TokenRefused("scopes", _l("Choose what the token may do: read, write or both."))
    if expires_on is None:
        raise TokenRefused("expires_on", _l("Enter the date the token stops working."))
    if expires_on < local_today(now):
        raise TokenRefused("expires_on", _l("The expiry date has already passed."))
    if expires_on > latest_expiry(now):
        raise TokenRefused("expires_on", _l("A token can last at most one year: choose an earlier date."))
    if active_tokens_of(user, now) >= MAX_ACTIVE_TOKENS:
        raise TokenRefused("name", _l("You already have %(num)d tokens in use. Revoke one you no longer "
                                      "need first.", num=MAX_ACTIVE_TOKENS))
    return name


def _new_prefix() -> str:
    while True:
        prefix = PREFIX_MARK + "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        if db.session.scalar(select(ApiToken.id).where(ApiToken.prefix == prefix)) is None:
            return prefix


def issue(user: User, name: str, scopes: list[str], expires_on: date | None, actor: Actor,
          *, now: datetime | None = None) -> IssuedToken:
    """Make a token for `user` working through the day `expires_on`; raises TokenRefused."""
    now = now or utcnow()
    name = _check(user, name, scopes, expires_on, now)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    ordered = " ".join(scope.value for scope in TokenScope if scope.value in scopes)
    token = ApiToken(user=user, name=name, prefix=_new_prefix(), secret_hash=_digest(secret), scopes=ordered,
                     created_at=now, expires_at=end_of(expires_on))
    db.session.add(token)
    db.session.flush()
    record("api_token.issued", actor, token,
           after={"user_id": user.id, "name": name, "prefix": token.prefix, "scopes": ordered,
                  "expires_at": token.expires_at.isoformat()})
    return IssuedToken(token, f"{token.prefix}_{secret}")


def find(raw: str | None) -> ApiToken | None:
    """The token whose whole text is `raw`, usable or not; None when no token has it."""
    match = TOKEN_SHAPE.fullmatch(raw or "")
    if match is None:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.prefix == match.group(1)))
    if token is None or not hmac.compare_digest(token.secret_hash, _digest(match.group(2))):
        return None
    return token


def authenticate(raw: str | None, *, ip: str | None = None, now: datetime | None = None) -> ApiToken | None:
    """The usable token `raw` names, its last use noted; None for an unknown, revoked or expired
    token or one whose user is deactivated."""
    now = now or utcnow()
    token = find(raw)
    if token is None or not token.is_usable(now):
        return None
    token.last_used_at = now
    token.last_used_ip = ip
    return token


def tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens, newest first (then by id, newest first)."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def token_of(user: User, token_id: int) -> ApiToken | None:
    """The user's token `token_id`; None for another's or a missing one."""
    token = db.session.get(ApiToken, token_id)
    return token if token is not None and token.user_id == user.id else None


def revoke(token: ApiToken, actor: Actor, *, now: datetime | None = None) -> ApiToken:
    """Stop `token` from working from now on (revoking twice changes nothing and records nothing)."""
    if token.revoked:
        return token
    token.revoked_at = now or utcnow()
    db.session.flush()
    record("api_token.revoked", actor, token,
           before={"revoked_at": None},
           after={"user_id": token.user_id, "prefix": token.prefix, "revoked_at": token.revoked_at.isoformat()})
    return token
