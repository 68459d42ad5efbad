"""Account operations. Services flush, never commit; the caller owns the transaction."""
from __future__ import annotations

from sqlalchemy import func, select

from participation.auth.passwords import hash_password, password_problems, verify_password
from participation.auth.throttle import CheckResult, check_credentials
from participation.events import Actor, record
from participation.extensions import db
from participation.models import Business, Role, User


class AccountError(Exception):
    """A domain rule refused the operation; the message is shown to the user."""


class EmailTaken(AccountError):
    """Another account already uses this email address."""


class WeakPassword(AccountError):
    """The password breaks the policy; `problems` lists why."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


def email_taken(email: str) -> bool:
    """Whether an account with this email exists (case-insensitive)."""
    normalized = User.normalize_email(email)
    return db.session.scalar(select(func.count(User.id)).where(User.email == normalized)) > 0


def create_user(actor: Actor, *, email: str, name: str, role: Role, password: str) -> User:
    """A new active account created by staff (or the command line); audited as `user.created`."""
    user = _new_user(email=email, name=name, role=role, password=password)
    record("user.created", actor, user, after={"email": user.email, "role": user.role.value})
    return user


def _new_user(*, email: str, name: str, role: Role, password: str) -> User:
    """A new active account; the password must meet the policy for `role`."""
    email = User.normalize_email(email)
    if email_taken(email):
        raise EmailTaken(email)
    problems = password_problems(password, role=role, email=email, name=name)
    if problems:
        raise WeakPassword(problems)
    user = User(email=email, name=name, role=role, password_hash=hash_password(password))
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
    return business


def register_owner(actor: Actor, *, email: str, name: str, password: str, profile: dict) -> User:
    """A business owner's account and business profile, created together (the owner acts)."""
    user = _new_user(email=email, name=name, role=Role.PROPONENT, password=password)
    business = apply_business_profile(Business(owner_name=name, user=user), profile)
    db.session.add(business)
    db.session.flush()
    record("user.register", actor.as_(user), user, after={"role": user.role.value, "business_id": business.id})
    return user


def sign_in(email: str, password: str, actor: Actor) -> CheckResult:
    """Check a sign-in (throttled per account and IP); every attempt is audited, failures with why."""
    result = check_credentials(email, password, actor.ip)
    if result.user is not None:
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
    """Create or update the owner's business profile from cleaned form data."""
    business = user.business
    if business is None:
        business = Business(owner_name=user.name, user=user)
        db.session.add(business)
    before = profile_data(business) if business.id else None
    apply_business_profile(business, data)
    db.session.flush()
    record("business.updated", actor, business, before=_auditable(before),
           after=_auditable(profile_data(business)))
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
        "phone": business.phone,
        "cert_halal": business.cert_halal,
        "cert_pirt": business.cert_pirt,
        "cert_sni": business.cert_sni,
    }


def _auditable(data: dict | None) -> dict | None:
    return None if data is None else {key: value for key, value in data.items() if value not in (None, "")}


def change_password(user: User, current_password: str, new_password: str, actor: Actor) -> None:
    """Replace the password after checking the current one; ends every other session."""
    if not verify_password(user.password_hash, current_password):
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
    """Activate or deactivate an account; deactivation ends its sessions at once."""
    before = {"active": user.active}
    user.active = active
    if not active:
        user.end_all_sessions()
    record("user.activated" if active else "user.deactivated", actor, user, before=before,
           after={"active": user.active})
