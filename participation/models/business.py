"""Business profiles (IKM/UMKM), linked to an owner account or entered from paper."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.extensions import db
from participation.models.base import LabelledEnum, enum_column, table_args, utcnow
from participation.models.user import Role

if TYPE_CHECKING:
    from participation.models.session import ThemedSession
    from participation.models.user import User


class Scale(LabelledEnum):
    """Business scale under PP 7/2021."""

    MIKRO = "mikro", _l("Micro")
    KECIL = "kecil", _l("Small")
    MENENGAH = "menengah", _l("Medium")


class LegalForm(LabelledEnum):
    """Common legal forms of small businesses."""

    PERORANGAN = "perorangan", _l("Sole proprietorship")
    UD = "ud", _l("UD (trading business)")
    CV = "cv", _l("CV (limited partnership)")
    PT = "pt", _l("PT (limited company)")
    KOPERASI = "koperasi", _l("Cooperative")


# PP 7/2021 art. 35: business capital excluding land and buildings, and annual sales.
CAPITAL_LIMITS = ((1_000_000_000, Scale.MIKRO), (5_000_000_000, Scale.KECIL), (10_000_000_000, Scale.MENENGAH))
TURNOVER_LIMITS = ((2_000_000_000, Scale.MIKRO), (15_000_000_000, Scale.KECIL), (50_000_000_000, Scale.MENENGAH))

# Matched after punctuation became spaces, so "P.T.", "C.V." and "U D" arrive as "p t", "c v", "u d".
_LEGAL_PREFIX = re.compile(r"^(?:p ?t|c ?v|u ?d|p ?d|koperasi|kop)\b\s*")


def derive_scale(capital: int | None, turnover: int | None) -> Scale | None:
    """The scale implied by declared capital, else by annual turnover; None above menengah."""
    for amount, limits in ((capital, CAPITAL_LIMITS), (turnover, TURNOVER_LIMITS)):
        if amount is None:
            continue
        for limit, scale in limits:
            if amount <= limit:
                return scale
        return None
    return None


def normalize_business_name(name: str) -> str:
    """Key used to match duplicates: case, accents, punctuation and CV/UD/PT prefixes ignored.

    The prefix may be dotted or spaced: "C.V. Maju Jaya", "CV Maju Jaya" and "c v maju jaya"
    share the key "maju jaya".
    """
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^\w\s]", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    previous = None
    while previous != text:
        previous, text = text, _LEGAL_PREFIX.sub("", text).strip()
    return text


class Business(db.Model):
    """A business profile. The NIB alone is not unique: one NIB may hold several activities."""

    __tablename__ = "businesses"
    __table_args__ = table_args(sa.Index("ix_businesses_nib_name_key", "nib", "name_key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    nib: Mapped[str] = mapped_column(sa.String(13))
    name: Mapped[str] = mapped_column(sa.String(200))
    name_key: Mapped[str] = mapped_column(sa.String(200))
    owner_name: Mapped[str] = mapped_column(sa.String(120))
    kbli_codes: Mapped[str] = mapped_column(sa.String(200))
    scale: Mapped[Scale] = mapped_column(enum_column(Scale, "scale"))
    legal_form: Mapped[LegalForm | None] = mapped_column(enum_column(LegalForm, "legal_form"))
    capital: Mapped[int | None] = mapped_column(sa.BigInteger)
    annual_turnover: Mapped[int | None] = mapped_column(sa.BigInteger)
    workforce_men: Mapped[int] = mapped_column(default=0, server_default="0")
    workforce_women: Mapped[int] = mapped_column(default=0, server_default="0")
    address: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    kelurahan: Mapped[str] = mapped_column(sa.String(100))
    kecamatan: Mapped[str] = mapped_column(sa.String(100))
    # The kelurahan's Kemendagri code (33.72.01.1001) when CITY_CODE is set and the place was
    # chosen from the list or matched to it (`flask match-places`); None for free text.
    kelurahan_code: Mapped[str | None] = mapped_column(sa.String(13))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    cert_halal: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    cert_pirt: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    cert_sni: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User | None] = relationship(back_populates="business")
    identity_changes: Mapped[list[IdentityChange]] = relationship(
        back_populates="business", order_by="IdentityChange.id", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Business {self.id} {self.nib}>"

    @property
    def kbli_list(self) -> list[str]:
        """The KBLI codes as a list."""
        return [code for code in self.kbli_codes.split(",") if code]

    @kbli_list.setter
    def kbli_list(self, codes) -> None:
        self.kbli_codes = ",".join(sorted(set(codes)))

    def set_name(self, name: str) -> None:
        """Set the display name and its matching key together."""
        self.name = name
        self.name_key = normalize_business_name(name)

    @property
    def workforce(self) -> int:
        """Total workers."""
        return (self.workforce_men or 0) + (self.workforce_women or 0)

    def can_view(self, user) -> bool:
        """The owner and staff may see the full profile (NIB, phone)."""
        return user.is_authenticated and (user.id == self.user_id or user.role.is_staff)

    def can_edit(self, user) -> bool:
        """Only the owner edits their own profile here."""
        return user.is_authenticated and user.id == self.user_id

    @property
    def has_account(self) -> bool:
        """An owner registered it; a facilitator's or an import's rows must not attach to it unasked."""
        return self.user_id is not None

    @property
    def waits_as_separate_registration(self) -> bool:
        """Registered at the door beside an account's business, and not yet reviewed by staff."""
        return db.session.scalar(sa.select(sa.exists().where(
            SeparateRegistration.business_id == self.id,
            SeparateRegistration.status == SeparateRegistrationStatus.PENDING))) or False

    @property
    def pending_identity_change(self) -> IdentityChange | None:
        """The owner's change of NIB or name waiting for staff review, if any."""
        return next((change for change in self.identity_changes if change.is_pending), None)


class IdentityChangeStatus(LabelledEnum):
    """pending → approved / rejected, or withdrawn by the owner's next save."""

    PENDING = "pending", _l("Waiting for review"), "warning"
    APPROVED = "approved", _l("Approved"), "success"
    REJECTED = "rejected", _l("Rejected"), "danger"
    WITHDRAWN = "withdrawn", _l("Withdrawn"), "secondary"


class IdentityChangeReason(LabelledEnum):
    """Why an owner's change of NIB or name waits for staff."""

    HAS_PROPOSALS = "has_proposals", _l("The business has proposals")
    NIB_IN_USE = "nib_in_use", _l("Another business with this NIB has proposals or was registered at the door")


class IdentityChange(db.Model):
    """An owner's change of NIB or business name, held for staff review.

    The NIB and name are what paper forms, walk-ins and imports are matched by; changed freely,
    they would let an account take over another business's identity and its later paper forms.
    """

    __tablename__ = "business_identity_changes"
    __table_args__ = table_args()

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(sa.ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    old_nib: Mapped[str] = mapped_column(sa.String(13))
    old_name: Mapped[str] = mapped_column(sa.String(200))
    nib: Mapped[str] = mapped_column(sa.String(13))
    name: Mapped[str] = mapped_column(sa.String(200))
    reason: Mapped[IdentityChangeReason] = mapped_column(enum_column(IdentityChangeReason, "identity_change_reason"))
    status: Mapped[IdentityChangeStatus] = mapped_column(
        enum_column(IdentityChangeStatus, "identity_change_status"), default=IdentityChangeStatus.PENDING,
        server_default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]

    business: Mapped[Business] = relationship(back_populates="identity_changes")
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    def __repr__(self) -> str:
        return f"<IdentityChange {self.id} b={self.business_id} {self.status.value}>"

    @property
    def is_pending(self) -> bool:
        return self.status is IdentityChangeStatus.PENDING

    def can_review(self, user) -> bool:
        """Admins, and the planners and facilitators of any session the business takes part in."""
        from participation.models.proposal import Proposal
        from participation.models.session import Invitation, ThemedSession

        if not user.is_authenticated or not user.role.is_staff:
            return False
        if user.role is Role.ADMIN:
            return True
        session_ids = sa.union(sa.select(Proposal.session_id).where(Proposal.business_id == self.business_id),
                               sa.select(Invitation.session_id).where(Invitation.business_id == self.business_id))
        sessions = db.session.scalars(sa.select(ThemedSession).where(ThemedSession.id.in_(session_ids)))
        return any(themed_session.can_facilitate(user) for themed_session in sessions)


class SeparateRegistrationStatus(LabelledEnum):
    """pending → merged (one business after all) / kept_separate (two businesses, checked)."""

    PENDING = "pending", _l("Waiting for review"), "warning"
    MERGED = "merged", _l("Merged into the account's business"), "success"
    KEPT_SEPARATE = "kept_separate", _l("Kept separate"), "secondary"


class SeparateRegistration(db.Model):
    """A business a facilitator registered beside one with an account (the same NIB and name),
    because the person at the door could not be confirmed as that account's owner; held for staff.

    Staff check the NIB certificate and the account, then either merge the door business into
    the account's business (its proposals and invitations move over: one owner after all) or keep
    the two apart with a reason (an impostor's account, or another activity under the same NIB).
    After a merge the door business is gone (`business_id` NULL); the audit event keeps the details.
    """

    __tablename__ = "separate_registrations"
    __table_args__ = table_args()

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int | None] = mapped_column(sa.ForeignKey("businesses.id", ondelete="SET NULL"), index=True)
    account_business_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("businesses.id", ondelete="SET NULL"), index=True)
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("themed_sessions.id", ondelete="SET NULL"))
    registered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[SeparateRegistrationStatus] = mapped_column(
        enum_column(SeparateRegistrationStatus, "separate_registration_status"),
        default=SeparateRegistrationStatus.PENDING, server_default="pending")
    note: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]

    business: Mapped[Business | None] = relationship(foreign_keys=[business_id])
    account_business: Mapped[Business | None] = relationship(foreign_keys=[account_business_id])
    themed_session: Mapped[ThemedSession | None] = relationship()
    registered_by: Mapped[User | None] = relationship(foreign_keys=[registered_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    def __repr__(self) -> str:
        return f"<SeparateRegistration {self.id} b={self.business_id} a={self.account_business_id} {self.status.value}>"

    @property
    def is_pending(self) -> bool:
        return self.status is SeparateRegistrationStatus.PENDING

    def can_review(self, user) -> bool:
        """Admins, and the planners and facilitators of the session it was registered in."""
        if not user.is_authenticated or not user.role.is_staff:
            return False
        if user.role is Role.ADMIN:
            return True
        return self.themed_session is not None and self.themed_session.can_facilitate(user)
