"""The account's own messages: a password reset link and the confirmation of an email address.

Email only (an in-app copy would show a signed-out person nothing, and the link is for the
mailbox). The payload holds the issue and expiry times, never the token: the link is computed
from them when the worker renders the mail (auth.recovery explains the token).
"""
from __future__ import annotations

from participation.models import NotificationChannel, User
from participation.notifications.registry import Notice, kind

EMAIL_ONLY = (NotificationChannel.EMAIL,)


def _reset_link(payload: dict, user) -> tuple[str, dict]:
    from participation.auth import recovery

    return "recovery.reset", {"token": recovery.make_token(recovery.RESET, user, recovery.issued_at(payload))}


def _verify_link(payload: dict, user) -> tuple[str, dict]:
    from participation.auth import recovery

    return "recovery.verify", {"token": recovery.make_token(recovery.VERIFY, user, recovery.issued_at(payload))}


@kind("password_reset", on="password.reset_requested", link=lambda payload: ("recovery.forgot", {}),
      secret_link=_reset_link)
def password_reset(event, actor, user) -> list[Notice]:
    """The reset link, to the account that has the address asked for (nothing when none has)."""
    if not isinstance(user, User) or not user.active:
        return []
    after = event.after or {}
    return [Notice(user, {"issued_at": after["issued_at"], "expires_at": after["expires_at"],
                          "email": user.email}, EMAIL_ONLY)]


@kind("email_verification", on=("user.register", "user.verification_resent"),
      link=lambda payload: ("auth.account", {}), secret_link=_verify_link)
def email_verification(event, actor, user) -> list[Notice]:
    """The confirmation link, to an owner whose address is not confirmed yet."""
    from participation.auth import recovery

    if not isinstance(user, User) or user.email_verified_at is not None:
        return []
    issued = recovery.utcnow().replace(microsecond=0)
    return [Notice(user, {"issued_at": issued.isoformat(), "email": user.email,
                          "expires_at": (issued + recovery.lifetime(recovery.VERIFY)).isoformat()}, EMAIL_ONLY)]
