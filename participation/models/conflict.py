"""Conflicts of interest: a staff member's tie to a business, which keeps them from judging it."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.extensions import db
from participation.models.base import LabelledEnum, enum_column, table_args, utcnow
from participation.models.user import User

if TYPE_CHECKING:
    from participation.models.business import Business


class ConflictKind(LabelledEnum):
    """What ties the staff member to the business."""

    OWNERSHIP = "ownership", _l("Ownership")
    FAMILY = "family", _l("Family")
    EMPLOYMENT = "employment", _l("Employment")
    ASSOCIATION = "association", _l("Association")
    OTHER = "other", _l("Other")

    @property
    def preselected(self) -> bool:
        """The kind a suggestion's one-click form starts at: a match says there may be a tie, not which."""
        return self is ConflictKind.OTHER


class ConflictOfInterest(db.Model):
    """A staff member's declared conflict with a business (DESIGN §3).

    While active (not withdrawn) the staff member neither rates nor decides the business's
    proposals, and their ratings of them leave the aggregate. A declaration made by mistake is
    withdrawn, never deleted: the audit trail and the minutes keep it. At most one declaration of
    a (user, business) pair is active at a time.
    """

    __tablename__ = "conflicts_of_interest"
    __table_args__ = table_args(
        sa.Index("ux_conflicts_of_interest_active", "user_id", "business_id", unique=True,
                 sqlite_where=sa.text("withdrawn_at IS NULL"), postgresql_where=sa.text("withdrawn_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    business_id: Mapped[int] = mapped_column(sa.ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ConflictKind] = mapped_column(enum_column(ConflictKind, "conflict_kind"))
    note: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who entered it: the staff member themself, or a planner or admin on a colleague's behalf.
    declared_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    business: Mapped[Business] = relationship()
    declared_by: Mapped[User | None] = relationship(foreign_keys=[declared_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])

    def __repr__(self) -> str:
        return f"<ConflictOfInterest u={self.user_id} b={self.business_id} {self.kind.value}>"

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None

    def can_withdraw(self, user) -> bool:
        """The staff member concerned, or a planner or admin, withdraws a declaration made by mistake."""
        from participation.models.user import Role

        return self.active and user.is_authenticated and (
            user.id == self.user_id or user.role in (Role.PLANNER, Role.ADMIN))
