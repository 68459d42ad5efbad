"""Account operations. Services flush, never commit; the caller owns the transaction."""
from __future__ import annotations

from sqlalchemy import func, select

from participation.auth.passwords import hash_password, password_problems, verify_password
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


def create_user(*, email: str, name: str, role: Role, password: str) -> User:
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


def register_owner(*, email: str, name: str, password: str, profile: dict) -> User:
    """A business owner's account and business profile, created together."""
    user = create_user(email=email, name=name, role=Role.PROPONENT, password=password)
    business = apply_business_profile(Business(owner_name=name, user=user), profile)
    db.session.add(business)
    db.session.flush()
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Replace the password after checking the current one; ends every other session."""
    if not verify_password(user.password_hash, current_password):
        raise AccountError("current password is wrong")
    problems = password_problems(new_password, role=user.role, email=user.email, name=user.name)
    if problems:
        raise WeakPassword(problems)
    user.password_hash = hash_password(new_password)
    user.end_all_sessions()


def set_active(user: User, active: bool) -> None:
    """Activate or deactivate an account; deactivation ends its sessions at once."""
    user.active = active
    if not active:
        user.end_all_sessions()
