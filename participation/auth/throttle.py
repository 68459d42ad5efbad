"""Password checks with login throttling kept in the database.

At most LOGIN_MAX_FAILURES failed checks per account within LOGIN_FAILURE_WINDOW, counted across
every worker. Each check is reserved as a failure *before* the password is verified (a short
transaction under a per-account lock) and only that reservation is removed when the password turns
out right, so concurrent workers can never run more checks than allowed, and the slow argon2
verification runs outside any database lock. The window slides: there is no permanent lockout.

Unlike the other services this module commits, because the reservation must be visible to other
workers before the check runs.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from participation.auth.passwords import burn_verification, hash_password, needs_rehash, verify_password
from participation.database import advisory_lock
from participation.extensions import db
from participation.models import LoginFailure, User, utcnow

ACCOUNT_KEY_LENGTH = 254  # the longest valid email address


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one sign-in attempt."""

    account_key: str  # the attempted email, normalised and truncated
    user: User | None = None  # set only when the sign-in succeeds
    user_id: int | None = None  # the account tried, when it exists
    inactive: bool = False
    retry_after: timedelta | None = None

    @property
    def throttled(self) -> bool:
        return self.retry_after is not None

    @property
    def failure_reason(self) -> str | None:
        """Why the attempt failed, for the audit log; None when it succeeded."""
        if self.throttled:
            return "throttled"
        if self.inactive:
            return "inactive"
        if self.user is None:
            return "bad_password" if self.user_id is not None else "unknown_account"
        return None


def _lock_key(account_key: str) -> int:
    digest = hashlib.blake2b(account_key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _reserve(account_key: str, ip: str | None, now: datetime) -> tuple[int | None, timedelta | None]:
    """Count recent failures and reserve one more; returns (reservation id, retry-after)."""
    config = current_app.config
    window: timedelta = config["LOGIN_FAILURE_WINDOW"]
    advisory_lock(_lock_key(account_key))
    db.session.execute(
        delete(LoginFailure).where(
            LoginFailure.account_key == account_key, LoginFailure.created_at <= now - window
        )
    )
    count, oldest = db.session.execute(
        select(func.count(LoginFailure.id), func.min(LoginFailure.created_at)).where(
            LoginFailure.account_key == account_key
        )
    ).one()
    if count >= config["LOGIN_MAX_FAILURES"]:
        db.session.commit()
        return None, max(oldest + window - now, timedelta(seconds=1))
    reservation = LoginFailure(account_key=account_key, ip=ip, created_at=now)
    db.session.add(reservation)
    db.session.commit()
    return reservation.id, None


def check_credentials(email: str, password: str, ip: str | None) -> CheckResult:
    """Verify a sign-in attempt under the throttle; the caller commits what follows."""
    account_key = User.normalize_email(email)[:ACCOUNT_KEY_LENGTH]
    reservation_id, retry_after = _reserve(account_key, ip, utcnow())
    user = db.session.scalar(select(User).where(User.email == account_key))
    user_id = user.id if user is not None else None
    if retry_after is not None:
        return CheckResult(account_key, user_id=user_id, retry_after=retry_after)

    stored_hash = user.password_hash if user is not None else None
    db.session.commit()  # release the SQLite write lock before the slow hash
    if stored_hash is None:
        burn_verification(password)
        return CheckResult(account_key)
    if not verify_password(stored_hash, password):
        return CheckResult(account_key, user_id=user_id)

    # The password was right: this check was not a failure after all. Only this request's own
    # reservation goes; earlier failures keep counting, or alternating guesses with a known
    # password would reset the limit.
    db.session.execute(delete(LoginFailure).where(LoginFailure.id == reservation_id))
    user = db.session.get(User, user_id)
    if not user.active:
        return CheckResult(account_key, user_id=user_id, inactive=True)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return CheckResult(account_key, user=user, user_id=user_id)
