"""Accounts and roles."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.extensions import db
from participation.models.base import LabelledEnum, enum_column, table_args, utcnow

if TYPE_CHECKING:
    from participation.models.business import Business


class Role(LabelledEnum):
    """The four roles of DESIGN §2; the values are a contract."""

    PROPONENT = "proponent", _l("Business owner")
    PLANNER = "planner", _l("Planner")
    FACILITATOR = "facilitator", _l("Facilitator")
    ADMIN = "admin", _l("Administrator")

    @property
    def is_staff(self) -> bool:
        """Staff accounts are created by an admin and need longer passwords."""
        return self is not Role.PROPONENT


class User(db.Model):
    """A person who signs in; one role each."""

    __tablename__ = "users"
    __table_args__ = table_args()

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    # Bumped on logout, password change and deactivation; a session cookie carries the
    # epoch it was issued under and stops working once the epoch moves on.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    locale: Mapped[str | None] = mapped_column(sa.String(5))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # When the owner opened the link mailed to the address (auth.recovery); staff accounts and
    # accounts made by an admin or a script are verified when created. None: not confirmed yet.
    email_verified_at: Mapped[datetime | None]
    # A staff member's phone (+62…), set by the admin; the platform compares it with business
    # owners' numbers to suggest conflicts of interest.
    phone: Mapped[str | None] = mapped_column(sa.String(20))

    business: Mapped[Business | None] = relationship(back_populates="user", uselist=False)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"

    # Flask-Login protocol. The id handed to the session includes the epoch.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """The session token: user id and session epoch."""
        return f"{self.id}:{self.session_epoch}"

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def needs_email_verification(self) -> bool:
        """A business owner whose address is not confirmed: may write drafts, not submit."""
        return self.role is Role.PROPONENT and self.email_verified_at is None

    def has_role(self, *roles: Role) -> bool:
        """Whether the user holds one of `roles`."""
        return self.role in roles

    def end_all_sessions(self) -> None:
        """Invalidate every session cookie issued so far."""
        self.session_epoch = (self.session_epoch or 0) + 1

    @property
    def is_proponent(self) -> bool:
        """A business owner: proposes, and keeps a business profile."""
        return self.role is Role.PROPONENT

    def can_create_sessions(self) -> bool:
        """Planners and admins create themed sessions."""
        return self.role in (Role.PLANNER, Role.ADMIN)

    def can_import_businesses(self) -> bool:
        """Planners and admins import business registers from a file."""
        return self.role in (Role.PLANNER, Role.ADMIN)

    def can_edit_letterhead(self) -> bool:
        """Facilitators and admins keep the institution's letterhead for the documents."""
        return self.role in (Role.FACILITATOR, Role.ADMIN)

    def can_manage_users(self) -> bool:
        """Only administrators create staff accounts and deactivate users."""
        return self.role is Role.ADMIN

    def can_deactivate(self, other: User) -> bool:
        """An admin may deactivate anyone except themselves."""
        return self.can_manage_users() and other.id != self.id

    @property
    def masked_email(self) -> str:
        """The email with the mailbox hidden but its first letter, e.g. s***@contoh.id."""
        mailbox, _, domain = self.email.partition("@")
        return f"{mailbox[:1]}***@{domain}"

    @staticmethod
    def normalize_email(email: str) -> str:
        """Emails are unique case-insensitively; store them trimmed and lower-case."""
        return email.strip().lower()
