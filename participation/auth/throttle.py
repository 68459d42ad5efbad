"""Password checks under login throttling kept in the database (participation/limits.py).

Failed checks are counted within LOGIN_FAILURE_WINDOW per account, per client IP and per
network (IPv4 /24, IPv6 /64), across every worker. Each check is reserved as a failure in every
scope *before* the password is verified (a short transaction under the keys' locks) and only
those reservations are removed when the password turns out right, so concurrent workers can
never run more checks than allowed, and the slow argon2 verification runs outside any database
lock. The windows slide: there is no permanent lockout.

An address or network over its limit is refused without a check: a password spray from one
place is stopped after a handful of tries, and spaced out before that (LOGIN_IP_BURST_FAILURES a
minute), so that a few addresses cannot keep the host's hashing slots to themselves. An account over its limit is refused to the
addresses that failed on it, but not to its owner elsewhere: from an address that has not
failed on it the account may still be checked LOGIN_SLOW_CHECKS times per LOGIN_SLOW_INTERVAL,
so a flood of wrong guesses slows the owner down for seconds instead of locking them out.

The email typed in is kept (in these rows and in the audit log) only when it is shaped like an
email address; anything else, a password typed into the wrong box say, is kept as a keyed digest.

Unlike the other services this module commits, because the reservation must be visible to other
workers before the check runs.
"""
from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from participation import limits
from participation.auth.passwords import (HashingBusy, burn_verification, hash_password, needs_rehash, slot_free,
                                          verify_password)
from participation.extensions import db
from participation.models import User, utcnow

ACCOUNT_KEY_LENGTH = 254  # the longest valid email address
EMAIL_SHAPE = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
DIGEST_PREFIX = "digest:"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one password check."""

    account_key: str  # the attempted email, normalised, or its digest (see account_key)
    user: User | None = None  # set only when the check succeeds
    user_id: int | None = None  # the account tried, when it exists
    inactive: bool = False
    retry_after: timedelta | None = None
    throttled_by: str | None = None  # "account", "network" or "slow" (see the module docstring)
    busy: bool = False  # no hashing slot was free: nothing was checked

    @property
    def throttled(self) -> bool:
        return self.retry_after is not None

    @property
    def failure_reason(self) -> str | None:
        """Why the attempt failed, for the audit log; None when it succeeded."""
        if self.throttled:
            return "throttled"
        if self.busy:
            return "busy"
        if self.inactive:
            return "inactive"
        if self.user is None:
            return "bad_password" if self.user_id is not None else "unknown_account"
        return None


@dataclass(frozen=True)
class Reservation:
    """The failure rows reserved for one check, or why none were."""

    hit_ids: tuple[int, ...] = ()
    slow_hit_id: int | None = None  # the over-the-limit turn taken, kept even when the check succeeds
    retry_after: timedelta | None = None
    refused_by: str | None = None


def account_key(email: str) -> str:
    """What the throttle and the audit log keep of a typed email: the address, or a keyed digest."""
    normalized = User.normalize_email(email)
    if len(normalized) <= ACCOUNT_KEY_LENGTH and EMAIL_SHAPE.fullmatch(normalized):
        return normalized
    secret = current_app.config["SECRET_KEY"].encode()
    return DIGEST_PREFIX + hmac.new(secret, normalized.encode(), "sha256").hexdigest()[:40]


def _reserve(key: str, ip: str | None, now: datetime) -> Reservation:
    """Decide whether a check may run and reserve its failures; commits either way."""
    limits.prune(now)
    reservation = _decide(key, ip, now)
    db.session.commit()
    return reservation


def _decide(key: str, ip: str | None, now: datetime) -> Reservation:
    """Whether one check may run (see the module docstring), with its failures reserved if so."""
    # One lock order everywhere: the account, then the address, then the network.
    account_wait = limits.retry_after(limits.LOGIN_ACCOUNT, key, now)
    slow = False
    if account_wait is not None:
        if ip is None or limits.hits_from(limits.LOGIN_ACCOUNT, key, ip, now):
            return Reservation(retry_after=account_wait, refused_by="account")
        wait = limits.retry_after(limits.LOGIN_SLOW, key, now)
        if wait is not None:
            return Reservation(retry_after=wait, refused_by="slow")
        slow = True
    addresses = [(limits.LOGIN_IP, ip), (limits.LOGIN_IP_BURST, ip),
                 (limits.LOGIN_SUBNET, limits.subnet_of(ip))] if ip else []
    waits = [wait for limit, address in addresses if (wait := limits.retry_after(limit, address, now))]
    if waits:
        return Reservation(retry_after=max(waits), refused_by="network")
    hits = [limits.add(limits.LOGIN_ACCOUNT, key, ip=ip, now=now)]
    hits += [limits.add(limit, address, ip=ip, now=now) for limit, address in addresses]
    slow_hit = limits.add(limits.LOGIN_SLOW, key, ip=ip, now=now) if slow else None
    return Reservation(hit_ids=tuple(hit.id for hit in hits), slow_hit_id=slow_hit and slow_hit.id)


def _verify(reservation: Reservation, stored_hash: str | None, password: str) -> bool | None:
    """Run the hash outside any transaction; None when no hashing slot came free."""
    db.session.commit()  # release the SQLite write lock before the slow hash
    try:
        if stored_hash is None:
            burn_verification(password)
            return False
        return verify_password(stored_hash, password)
    except HashingBusy:
        # Nothing was checked, so nothing failed: the reservations (and the turn) go back.
        limits.remove((*reservation.hit_ids, reservation.slow_hit_id))
        return None


def check_credentials(email: str, password: str, ip: str | None) -> CheckResult:
    """Verify a sign-in attempt under the throttle; the caller commits what follows."""
    key = account_key(email)
    if not slot_free():  # answered before any writing: a flood's refusals must stay cheap
        user_id = db.session.scalar(select(User.id).where(User.email == key))
        return CheckResult(key, user_id=user_id, busy=True)
    reservation = _reserve(key, ip, utcnow())
    user = db.session.scalar(select(User).where(User.email == key))
    user_id = user.id if user is not None else None
    if reservation.retry_after is not None:
        return CheckResult(key, user_id=user_id, retry_after=reservation.retry_after,
                           throttled_by=reservation.refused_by)
    matched = _verify(reservation, user.password_hash if user is not None else None, password)
    if matched is None:
        return CheckResult(key, user_id=user_id, busy=True)
    if not matched:
        return CheckResult(key, user_id=user_id)

    # The password was right: this check was not a failure after all. Only this request's own
    # reservations go; earlier failures keep counting, or alternating guesses with a known
    # password would reset the limit.
    limits.remove(reservation.hit_ids)
    user = db.session.get(User, user_id)
    if not user.active:
        return CheckResult(key, user_id=user_id, inactive=True)
    if needs_rehash(user.password_hash):
        try:
            user.password_hash = hash_password(password)
        except HashingBusy:
            pass  # the next sign-in rehashes
    user.last_login_at = utcnow()
    return CheckResult(key, user=user, user_id=user_id)


def check_password(user: User, password: str, ip: str | None) -> CheckResult:
    """Check a signed-in user's current password under the same throttle as signing in.

    Commits the outcome at once, so that a right password stops counting as a failure even when
    the operation it guards is then refused (a new password that breaks the policy, say).
    """
    key, user_id, stored_hash = account_key(user.email), user.id, user.password_hash
    if not slot_free():
        return CheckResult(key, user_id=user_id, busy=True)
    reservation = _reserve(key, ip, utcnow())
    if reservation.retry_after is not None:
        return CheckResult(key, user_id=user_id, retry_after=reservation.retry_after,
                           throttled_by=reservation.refused_by)
    matched = _verify(reservation, stored_hash, password)
    if matched:
        limits.remove(reservation.hit_ids)
    db.session.commit()
    if matched is None:
        return CheckResult(key, user_id=user_id, busy=True)
    return CheckResult(key, user=db.session.get(User, user_id) if matched else None, user_id=user_id)
