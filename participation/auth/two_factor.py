"""Staff two-factor authentication: TOTP (RFC 6238) with single-use recovery codes.

Planner, facilitator and admin accounts need a second factor after the password. The secret is
made on the server, shown once as a QR code (inline SVG, drawn here) and as text, and stored
encrypted (Fernet, with a key derived from SECRET_KEY: a copy of the database alone does not
reveal it; rotating SECRET_KEY means every staff account enrolls again, after an admin reset).

Replay: the time step of every accepted code is kept, and a code of a step at or before it is
refused, so a code seen over someone's shoulder is useless once it has been used. Codes of the
step before and after the current one are accepted (clocks drift).

Failed codes are throttled in the database like passwords (participation/limits.py), per
account and per client IP; the check takes the keys' locks first, so concurrent workers neither
run more checks than allowed nor accept one code twice. Services flush, never commit.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from markupsafe import Markup, escape
from sqlalchemy import delete, func, select

from participation import limits
from participation.events import Actor, record
from participation.extensions import db
from participation.models import RecoveryCode, StaffTotp, User, utcnow

ISSUER = "Musrenbang Tematik"
STEP_SECONDS = 30
VALID_WINDOW = 1  # steps accepted on either side of the current one
RECOVERY_CODE_COUNT = 10
# Lower-case letters and digits without look-alikes (0/o, 1/l/i): read off paper without doubt.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 10  # about 49 bits each, throttled like passwords
TOTP_SHAPE = re.compile(r"\d{6}")
CODE_SEPARATORS = re.compile(r"[\s\-]+")


class TwoFactorError(Exception):
    """A second-factor operation was refused; the route turns it into a message."""


class CodeRefused(TwoFactorError):
    """The code was wrong (or replayed, or the throttle refused to check it)."""

    def __init__(self, result: CodeResult):
        super().__init__(result.reason)
        self.result = result


@dataclass(frozen=True)
class CodeResult:
    """The outcome of one code check."""

    accepted: bool
    factor: str | None = None  # "totp" or "recovery_code" when accepted
    reason: str | None = None  # "bad_code", "replayed" or "throttled" when refused
    retry_after: timedelta | None = None
    step: int | None = None  # the time step of an accepted TOTP code

    @property
    def throttled(self) -> bool:
        return self.retry_after is not None


def required_for(user: User) -> bool:
    """Whether `user` must pass a second factor after the password: every staff account."""
    return user.role.is_staff


# --- The secret -------------------------------------------------------------------------------

def _fernet() -> Fernet:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    key = hmac.new(secret, b"musrenbang staff totp secret v1", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str | None:
    """The plain secret, or None when it was encrypted under another SECRET_KEY."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def totp_of(user: User) -> StaffTotp | None:
    return db.session.scalar(select(StaffTotp).where(StaffTotp.user_id == user.id))


def is_enrolled(user: User) -> bool:
    """Whether `user` has confirmed a TOTP secret (typed back a code from it)."""
    totp = totp_of(user)
    return totp is not None and totp.confirmed


def new_secret() -> str:
    """A fresh random TOTP secret (160 bits, base32)."""
    return pyotp.random_base32(32)


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str, label: str) -> Markup:
    """The QR code of `uri` as inline SVG markup named `label` for screen readers (no script)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff")
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1))


def grouped(secret: str) -> str:
    """The secret in groups of four for typing by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


# --- Checking codes ---------------------------------------------------------------------------

def normalize_code(code: str | None) -> str:
    return CODE_SEPARATORS.sub("", code or "").lower()


def _matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step within the valid window whose code is `code`, or None."""
    totp = pyotp.TOTP(secret)
    current = int(now // STEP_SECONDS)
    match = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            match = step  # no early exit: the time taken does not tell which step matched
    return match


def _digest(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _use_recovery_code(user: User, code: str) -> bool:
    """Spend one of `user`'s unused recovery codes equal to `code`; whether one was found."""
    found = None
    for stored in db.session.scalars(select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))):
        if hmac.compare_digest(stored.digest, _digest(stored.salt, code)) and found is None:
            found = stored
    if found is None:
        return False
    found.used_at = utcnow()
    return True


def _throttle_keys(user: User, actor: Actor) -> list[tuple[limits.Limit, str]]:
    keys = [(limits.TWO_FACTOR_ACCOUNT, f"user:{user.id}")]
    if actor.ip:
        keys.append((limits.TWO_FACTOR_IP, actor.ip))
    return keys


def _check(user: User, code: str | None, actor: Actor, *, secret: str | None = None, recovery: bool,
           now: float | None = None) -> CodeResult:
    """Check a TOTP code (or, when `recovery`, also a recovery code) under the throttle.

    The code is checked against the stored secret, or against `secret` (an enrollment not yet
    confirmed). Takes the throttle's locks on the account and the address (one order: account
    first), then the user's TOTP row, so that two requests with the same code are decided one
    after the other. A refused code counts against both; an accepted one does not.
    """
    keys = _throttle_keys(user, actor)
    at = utcnow()
    waits = [wait for limit, key in keys if (wait := limits.retry_after(limit, key, at)) is not None]
    if waits:
        return CodeResult(False, reason="throttled", retry_after=max(waits))
    totp = None
    if secret is None:
        totp = db.session.scalar(select(StaffTotp).where(StaffTotp.user_id == user.id).with_for_update()
                                 .execution_options(populate_existing=True))
        secret = decrypt_secret(totp.secret) if totp is not None else None
    code = normalize_code(code)
    result = CodeResult(False, reason="bad_code")
    if secret is not None and TOTP_SHAPE.fullmatch(code):
        step = _matching_step(secret, code, time.time() if now is None else now)
        if step is not None and totp is not None and totp.last_step is not None and step <= totp.last_step:
            result = CodeResult(False, reason="replayed")
        elif step is not None:
            if totp is not None:
                totp.last_step = step
            result = CodeResult(True, factor="totp", step=step)
    elif recovery and len(code) == RECOVERY_LENGTH and _use_recovery_code(user, code):
        result = CodeResult(True, factor="recovery_code")
    if not result.accepted:
        for limit, key in keys:
            limits.add(limit, key, ip=actor.ip, now=at)
    db.session.flush()
    return result


def new_recovery_codes(user: User) -> list[str]:
    """Replace every recovery code of `user` with RECOVERY_CODE_COUNT new ones; the plain codes,
    to be shown once (only digests are kept)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        code = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        salt = secrets.token_hex(16)
        db.session.add(RecoveryCode(user_id=user.id, salt=salt, digest=_digest(salt, code)))
        codes.append(f"{code[:5]}-{code[5:]}")
    db.session.flush()
    return codes


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


# --- Services ---------------------------------------------------------------------------------

def confirm_enrollment(user: User, secret: str, code: str | None, actor: Actor, *,
                       now: float | None = None) -> list[str]:
    """Keep `secret` as the user's second factor once a code from it is typed back; returns the
    new recovery codes (to be shown once).

    Audited as `user.two_factor_enrolled`; a wrong code raises CodeRefused and is audited as
    `login.failure` (the caller commits, so that the failure counts). The code's step counts as
    used: it cannot then sign in a second time.
    """
    if totp_of(user) is not None:
        raise TwoFactorError("already enrolled")
    result = _check(user, code, actor, secret=secret, recovery=False, now=now)
    if not result.accepted:
        _record_failure(user, result, actor)
        raise CodeRefused(result)
    db.session.add(StaffTotp(user_id=user.id, secret=encrypt_secret(secret), confirmed_at=utcnow(),
                             last_step=result.step))
    codes = new_recovery_codes(user)
    record("user.two_factor_enrolled", actor.as_(user), user, after={"recovery_codes": len(codes)})
    return codes


def complete_sign_in(user: User, code: str | None, actor: Actor, *, now: float | None = None) -> CodeResult:
    """The second step of a staff sign-in: a TOTP code or a recovery code.

    Audited as `login.success` (with the factor used) or `login.failure` (with why).
    """
    if not is_enrolled(user):
        raise TwoFactorError("not enrolled")
    result = _check(user, code, actor, recovery=True, now=now)
    if result.accepted:
        record("login.success", actor.as_(user), user, after={"factor": result.factor})
    else:
        _record_failure(user, result, actor)
    return result


def regenerate_recovery_codes(user: User, code: str | None, actor: Actor, *, now: float | None = None) -> list[str]:
    """New recovery codes for a signed-in staff user who types a current TOTP code; the old ones stop working."""
    if not is_enrolled(user):
        raise TwoFactorError("not enrolled")
    result = _check(user, code, actor, recovery=False, now=now)
    if not result.accepted:
        _record_failure(user, result, actor)
        raise CodeRefused(result)
    codes = new_recovery_codes(user)
    record("user.recovery_codes_regenerated", actor, user, after={"recovery_codes": len(codes)})
    return codes


def reset_two_factor(user: User, actor: Actor) -> None:
    """An admin removes another account's second factor: it enrolls again at its next sign-in.

    Ends the account's sessions (a reset is what one does when a phone is lost or stolen).
    Audited as `user.two_factor_reset`.
    """
    if actor.user is not None and actor.user.id == user.id:
        raise TwoFactorError("cannot reset one's own second factor")
    before = {"enrolled": is_enrolled(user), "recovery_codes": recovery_codes_left(user)}
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(delete(StaffTotp).where(StaffTotp.user_id == user.id))
    user.end_all_sessions()
    db.session.flush()
    record("user.two_factor_reset", actor, user, before=before, after={"enrolled": False})


def _record_failure(user: User, result: CodeResult, actor: Actor) -> None:
    record("login.failure", actor, object_type="User", object_id=user.id,
           after={"reason": f"two_factor_{result.reason}", "email": user.email})
