"""Account operations. Services flush, never commit; the caller owns the transaction."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from participation.auth import identity
from participation import limits
from participation.auth.passwords import hash_password, password_problems
from participation.auth.throttle import CheckResult, check_credentials, check_password
from participation.events import Actor, record
from participation.extensions import db
from participation.models import Business, Role, User, utcnow


class AccountError(Exception):
    """A domain rule refused the operation; the message is shown to the user."""


class EmailTaken(AccountError):
    """Another account already uses this email address."""


class PasswordCheckRefused(AccountError):
    """The throttle refused to check the current password; `result` says why and for how long."""

    def __init__(self, result: CheckResult):
        super().__init__(result.failure_reason)
        self.result = result


class WeakPassword(AccountError):
    """The password breaks the policy; `problems` lists why."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


def email_taken(email: str) -> bool:
    """Whether an account with this email exists (case-insensitive)."""
    normalized = User.normalize_email(email)
    return db.session.scalar(select(func.count(User.id)).where(User.email == normalized)) > 0


def create_user(actor: Actor, *, email: str, name: str, role: Role, password: str,
                phone: str | None = None) -> User:
    """A new active account created by staff (or the command line); audited as `user.created`.
    Its address counts as verified: whoever made it knows it (staff accounts always)."""
    user = _new_user(email=email, name=name, role=role, password=password, verified=True)
    user.phone = phone
    after = {"email": user.email, "role": user.role.value}
    if phone:
        after["phone"] = phone
    record("user.created", actor, user, after=after)
    return user


def _new_user(*, email: str, name: str, role: Role, password: str, verified: bool) -> User:
    """A new active account; the password must meet the policy for `role`. An unverified one
    confirms its address through the link mailed on `user.register` (auth.recovery)."""
    email = User.normalize_email(email)
    if email_taken(email):
        raise EmailTaken(email)
    problems = password_problems(password, role=role, email=email, name=name)
    if problems:
        raise WeakPassword(problems)
    user = User(email=email, name=name, role=role, password_hash=hash_password(password),
                email_verified_at=utcnow() if verified else None)
    db.session.add(user)
    db.session.flush()
    return user


def apply_business_profile(business: Business, data: dict) -> Business:
    """Copy cleaned profile data onto `business`."""
    business.set_name(data["name"])
    business.kbli_list = data["kbli"]
    for key in ("nib", "legal_form", "scale", "capital", "annual_turnover", "workforce_men",
                "workforce_women", "address", "kelurahan", "kecamatan", "phone", "cert_halal",
                "cert_pirt", "cert_sni"):
        setattr(business, key, data[key])
    business.kelurahan_code = data.get("kelurahan_code")  # None: free text (no CITY_CODE)
    return business


def registration_retry_after(actor: Actor) -> timedelta | None:
    """How long until `actor`'s address may register again; None when it may now."""
    if not limits.applies_to(actor) or not actor.ip:
        return None
    return limits.retry_after(limits.REGISTRATIONS, actor.ip)


def register_owner(actor: Actor, *, email: str, name: str, password: str, profile: dict,
                   verified: bool = False, locale: str | None = None) -> User:
    """A business owner's account and business profile, created together (the owner acts).

    The address is unverified (unless `verified`, the demo's): the `user.register` event mails
    the confirmation link; until it is opened the owner may write drafts but not submit.

    At most REGISTRATION_LIMIT per client IP per REGISTRATION_WINDOW (raises RateLimited); the
    count is part of this transaction, so a registration that fails does not count.
    """
    if limits.applies_to(actor) and actor.ip:
        limits.enforce([(limits.REGISTRATIONS, actor.ip)], ip=actor.ip)
    user = _new_user(email=email, name=name, role=Role.PROPONENT, password=password, verified=verified)
    user.locale = locale  # the language the form was filled in: the confirmation mail's
    business = apply_business_profile(Business(owner_name=name, user=user), profile)
    db.session.add(business)
    db.session.flush()
    record("user.register", actor.as_(user), user, after={"role": user.role.value, "business_id": business.id})
    return user


def sign_in(email: str, password: str, actor: Actor) -> CheckResult:
    """Check a sign-in (throttled per account and IP); every attempt is audited, failures with why.

    A staff account's right password is audited as `login.password_accepted`: the sign-in
    succeeds only with the second factor (auth.two_factor)."""
    result = check_credentials(email, password, actor.ip)
    if result.user is not None and result.user.role.is_staff:
        # Not signed in yet: staff pass a second factor first (auth.two_factor records login.success).
        record("login.password_accepted", actor.as_(result.user), result.user)
    elif result.user is not None:
        record("login.success", actor.as_(result.user), result.user)
    else:
        record("login.failure", actor, object_type="User", object_id=result.user_id,
               after={"reason": result.failure_reason, "email": result.account_key})
    return result


def sign_out(user: User, actor: Actor) -> None:
    """End every session of `user` (the cookie alone is not trusted to be gone)."""
    user.end_all_sessions()
    record("logout", actor, user)


def save_business_profile(user: User, data: dict, actor: Actor) -> Business:
    """Create or update the owner's business profile from cleaned form data.

    A change of NIB or name that needs staff review (see auth.identity) is held as the business's
    pending change, audited as `business.identity_change_requested`; the rest of the profile is
    saved at once. Saving the current NIB and name again withdraws a pending change.
    """
    business = user.business
    if business is None:
        business = Business(owner_name=user.name, user=user)
        db.session.add(business)
    before = profile_data(business) if business.id else None
    held = None
    if business.id is not None:
        if identity.changes_identity(business, data["nib"], data["name"]):
            reason = identity.review_reason(business, data["nib"])
            if reason is not None:
                held = identity.hold_identity_change(business, data["nib"], data["name"], reason, actor)
                data = {**data, "nib": business.nib, "name": business.name}
        else:
            identity.withdraw_identity_change(business)
    apply_business_profile(business, data)
    db.session.flush()
    after = _auditable(profile_data(business))
    if held is None:
        record("business.updated", actor, business, before=_auditable(before), after=after)
    else:
        record("business.identity_change_requested", actor, business, before=_auditable(before),
               after={**after, "change_id": held.id, "reason": held.reason.value,
                      "requested": {"nib": held.nib, "business_name": held.name}})
    return business


def profile_data(business: Business) -> dict:
    """The profile as the business form names its fields (the form's data and the audit's)."""
    return {
        "business_name": business.name,
        "nib": business.nib,
        "kbli_codes": ", ".join(business.kbli_list),
        "legal_form": business.legal_form.value if business.legal_form else "",
        "scale": business.scale.value if business.scale else "",
        "capital": business.capital,
        "annual_turnover": business.annual_turnover,
        "workforce_men": business.workforce_men,
        "workforce_women": business.workforce_women,
        "address": business.address,
        "kelurahan": business.kelurahan,
        "kecamatan": business.kecamatan,
        "kelurahan_code": business.kelurahan_code,
        "phone": business.phone,
        "cert_halal": business.cert_halal,
        "cert_pirt": business.cert_pirt,
        "cert_sni": business.cert_sni,
    }


def _auditable(data: dict | None) -> dict | None:
    return None if data is None else {key: value for key, value in data.items() if value not in (None, "")}


def change_password(user: User, current_password: str, new_password: str, actor: Actor) -> None:
    """Replace the password after checking the current one (throttled like signing in); ends every
    other session."""
    result = check_password(user, current_password, actor.ip)
    if result.throttled or result.busy:
        raise PasswordCheckRefused(result)
    if result.user is None:
        raise AccountError("current password is wrong")
    problems = password_problems(new_password, role=user.role, email=user.email, name=user.name)
    if problems:
        raise WeakPassword(problems)
    user.password_hash = hash_password(new_password)
    user.end_all_sessions()
    record("user.password_changed", actor, user)


def set_locale(user: User, locale: str, actor: Actor) -> None:
    """Keep the user's language for their next sign-in (recorded only when it changes)."""
    if user.locale != locale:
        before = {"locale": user.locale}
        user.locale = locale
        record("user.locale_set", actor, user, before=before, after={"locale": locale})


def set_active(user: User, active: bool, actor: Actor) -> None:
    """Activate or deactivate an account; deactivation ends its sessions at once.

    An admin never deactivates their own account (the page offers no button for it; this holds
    for every door to the service).
    """
    if not active and actor.user is not None and not actor.user.can_deactivate(user):
        raise AccountError("cannot deactivate this account")
    before = {"active": user.active}
    user.active = active
    if not active:
        user.end_all_sessions()
    record("user.activated" if active else "user.deactivated", actor, user, before=before,
           after={"active": user.active})
