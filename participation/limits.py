"""Abuse limits counted in the database, so that they hold across workers and hosts (DESIGN §8).

One table of counted hits (scope, key, ip, time). A limit allows at most `count` hits of one key
within a sliding `window`; both come from the configuration, named by the limit. Counting and
adding happen under an advisory lock on (scope, key) (PostgreSQL; SQLite's BEGIN IMMEDIATE
already serialises writers) that lasts until the caller's transaction ends, so concurrent
workers never let more hits through than allowed. A hit belongs to the caller's transaction: a
registration that rolls back takes its hit with it. There is no permanent lockout: a key is let
through again as soon as its oldest hit leaves the window.
"""
from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l, ngettext
from sqlalchemy import delete, func, or_, select

from participation.database import advisory_lock
from participation.extensions import db
from participation.models import RateLimitHit, utcnow


@dataclass(frozen=True)
class Limit:
    """At most config[count_setting] hits per key within config[window_setting]."""

    scope: str
    count_setting: str
    window_setting: str
    label: object  # lazy text for the admins' overview
    message: object = None  # lazy text shown with the 429, before "try again in ..."

    @property
    def count(self) -> int:
        return current_app.config[self.count_setting]

    @property
    def window(self) -> timedelta:
        return current_app.config[self.window_setting]


LOGIN_ACCOUNT = Limit("login.account", "LOGIN_MAX_FAILURES", "LOGIN_FAILURE_WINDOW",
                      _l("Failed password checks per account"))
LOGIN_IP = Limit("login.ip", "LOGIN_IP_MAX_FAILURES", "LOGIN_FAILURE_WINDOW",
                 _l("Failed password checks per IP address"))
LOGIN_IP_BURST = Limit("login.ip_burst", "LOGIN_IP_BURST_FAILURES", "LOGIN_IP_BURST_WINDOW",
                       _l("Failed password checks per IP address in a short time"))
LOGIN_SUBNET = Limit("login.subnet", "LOGIN_SUBNET_MAX_FAILURES", "LOGIN_FAILURE_WINDOW",
                     _l("Failed password checks per network (IPv4 /24, IPv6 /64)"))
LOGIN_SLOW = Limit("login.slow", "LOGIN_SLOW_CHECKS", "LOGIN_SLOW_INTERVAL",
                   _l("Checks of an account over its limit, from an address that has not failed on it"))
REGISTRATIONS = Limit("register.ip", "REGISTRATION_LIMIT", "REGISTRATION_WINDOW",
                      _l("Registrations per IP address"),
                      _l("Too many accounts have been registered from your network recently."))
SUBMISSIONS = Limit("proposal.account", "SUBMISSION_LIMIT", "SUBMISSION_WINDOW",
                    _l("New and submitted proposals per account"),
                    _l("You have written or submitted many proposals in a short time."))
SUBMISSIONS_IP = Limit("proposal.ip", "SUBMISSION_IP_LIMIT", "SUBMISSION_WINDOW",
                       _l("New and submitted proposals per IP address"),
                       _l("Many proposals have been written or submitted from your network in a short time."))
# Password reset requests (auth.recovery): counted per typed address, whether or not an account
# has it, so that the answer never tells which addresses exist.
RESET_REQUESTS = Limit("reset.account", "RESET_REQUEST_LIMIT", "RESET_REQUEST_WINDOW",
                       _l("Password reset requests per email address"),
                       _l("A password reset has been requested for this address several times already."))
RESET_REQUESTS_IP = Limit("reset.ip", "RESET_REQUEST_IP_LIMIT", "RESET_REQUEST_WINDOW",
                          _l("Password reset requests per IP address"),
                          _l("Many password resets have been requested from your network."))
VERIFICATION_RESENDS = Limit("verify.account", "VERIFICATION_RESEND_LIMIT", "VERIFICATION_RESEND_WINDOW",
                             _l("Email confirmations sent again per account"),
                             _l("The confirmation has been sent to your address several times already."))
TWO_FACTOR_ACCOUNT = Limit("2fa.account", "TWO_FACTOR_MAX_FAILURES", "TWO_FACTOR_FAILURE_WINDOW",
                          _l("Failed two-factor codes per staff account"))
TWO_FACTOR_IP = Limit("2fa.ip", "TWO_FACTOR_IP_MAX_FAILURES", "TWO_FACTOR_FAILURE_WINDOW",
                      _l("Failed two-factor codes per IP address"))
# The API (participation/api/auth.py): every request, per personal token and per client IP.
API_TOKEN = Limit("api.token", "API_RATE_LIMIT", "API_RATE_WINDOW", _l("API requests per personal access token"))
API_IP = Limit("api.ip", "API_IP_RATE_LIMIT", "API_RATE_WINDOW", _l("API requests per IP address"))

LIMITS = (LOGIN_ACCOUNT, LOGIN_IP, LOGIN_IP_BURST, LOGIN_SUBNET, LOGIN_SLOW, REGISTRATIONS, SUBMISSIONS, SUBMISSIONS_IP,
          RESET_REQUESTS, RESET_REQUESTS_IP, VERIFICATION_RESENDS, TWO_FACTOR_ACCOUNT, TWO_FACTOR_IP,
          API_TOKEN, API_IP)
KEY_LENGTH = 254


class RateLimited(Exception):
    """A limit refused the operation; `retry_after` says when a hit frees up."""

    def __init__(self, limit: Limit, retry_after: timedelta):
        super().__init__(limit.scope)
        self.limit = limit
        self.retry_after = retry_after


def applies_to(actor) -> bool:
    """Whether abuse limits apply to `actor`: visitors of the web and the API, not scripts or the demo."""
    from participation.events import Channel

    return actor.channel in (Channel.WEB, Channel.API)


def subnet_of(ip: str) -> str:
    """The network an address shares with its neighbours: /24 for IPv4, /64 for IPv6."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _lock(limit: Limit, key: str) -> None:
    digest = hashlib.blake2b(f"{limit.scope}\0{key}".encode(), digest_size=8).digest()
    advisory_lock(int.from_bytes(digest, "big", signed=True))


def retry_after(limit: Limit, key: str, now: datetime | None = None) -> timedelta | None:
    """How long until `key` may have another hit; None when it may now. Locks the key (see above)."""
    now = now or utcnow()
    key = key[:KEY_LENGTH]
    _lock(limit, key)
    window = limit.window
    count, oldest = db.session.execute(
        select(func.count(RateLimitHit.id), func.min(RateLimitHit.created_at)).where(
            RateLimitHit.scope == limit.scope, RateLimitHit.key == key,
            RateLimitHit.created_at > now - window)
    ).one()
    if count < limit.count:
        return None
    if oldest is None:  # a limit of 0: nothing is ever let through
        return window
    return max(oldest + window - now, timedelta(seconds=1))


def add(limit: Limit, key: str, *, ip: str | None = None, now: datetime | None = None) -> RateLimitHit:
    """Count one hit of `key` in the caller's transaction (after `retry_after` said yes)."""
    hit = RateLimitHit(scope=limit.scope, key=key[:KEY_LENGTH], ip=ip, created_at=now or utcnow())
    db.session.add(hit)
    db.session.flush()
    return hit


def enforce(checks: list[tuple[Limit, str]], *, ip: str | None = None,
            now: datetime | None = None) -> list[RateLimitHit]:
    """Count one hit for every (limit, key), or none and raise RateLimited if any is full.

    Keys are locked in the order given; callers keep one order (account before address) so that
    two workers never wait on each other's locks.
    """
    now = now or utcnow()
    refusals = [(wait, limit) for limit, key in checks
                if (wait := retry_after(limit, key, now)) is not None]
    if refusals:
        wait, limit = max(refusals, key=lambda refusal: refusal[0])
        raise RateLimited(limit, wait)
    return [add(limit, key, ip=ip, now=now) for limit, key in checks]


def hits_from(limit: Limit, key: str, ip: str, now: datetime | None = None) -> int:
    """How many of `key`'s hits within the window came from `ip`."""
    now = now or utcnow()
    return db.session.scalar(select(func.count(RateLimitHit.id)).where(
        RateLimitHit.scope == limit.scope, RateLimitHit.key == key[:KEY_LENGTH], RateLimitHit.ip == ip,
        RateLimitHit.created_at > now - limit.window))


def remove(hit_ids) -> None:
    """Take back hits that turned out not to count (a reservation for a check that succeeded)."""
    ids = [hit_id for hit_id in hit_ids if hit_id is not None]
    if ids:
        db.session.execute(delete(RateLimitHit).where(RateLimitHit.id.in_(ids)))


def prune(now: datetime | None = None) -> None:
    """Delete every hit that has left its limit's window (cheap with the (scope, created_at) index)."""
    now = now or utcnow()
    windows: dict[str, timedelta] = {}
    for limit in LIMITS:
        windows[limit.scope] = max(windows.get(limit.scope, timedelta(0)), limit.window)
    db.session.execute(delete(RateLimitHit).where(or_(*(
        (RateLimitHit.scope == scope) & (RateLimitHit.created_at <= now - window)
        for scope, window in windows.items()))))


def window_text(window: timedelta) -> str:
    """A window in words: "15 minutes", "1 hour", "30 seconds"."""
    seconds = int(window.total_seconds())
    if seconds % 3600 == 0:
        return ngettext("%(num)d hour", "%(num)d hours", seconds // 3600)
    if seconds % 60 == 0:
        return ngettext("%(num)d minute", "%(num)d minutes", seconds // 60)
    return ngettext("%(num)d second", "%(num)d seconds", seconds)


def overview() -> list[dict]:
    """Every limit as the admins' page shows it: what, how many per window, the settings' names."""
    return [{"label": limit.label, "count": limit.count, "window": window_text(limit.window),
             "settings": (limit.count_setting, limit.window_setting)} for limit in LIMITS]
