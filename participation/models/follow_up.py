"""Follow-up (tindak lanjut) of the funded proposals of a finalised session, and its dated updates."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.extensions import db
from participation.models.base import LabelledEnum, enum_column, table_args, utcnow
from participation.models.user import Role, User

if TYPE_CHECKING:
    from participation.models.files import StoredFile
    from participation.models.proposal import Proposal
    from participation.models.session import ThemedSession


class FollowUpStatus(LabelledEnum):
    """Where a funded proposal is on its way to delivery (the codes of DESIGN §6's import)."""

    PLANNED = "direncanakan", _l("Planned"), "secondary"
    IN_PROGRESS = "berjalan", _l("In progress"), "primary"
    COMPLETED = "selesai", _l("Completed"), "success"
    CANCELLED = "batal", _l("Cancelled"), "danger"


class FollowUp(db.Model):
    """One funded proposal's follow-up: who delivers it, with what budget, and its latest state.

    The latest state (status, progress, realised budget, cancel reason) is copied from the newest
    update, so lists and the public page read one row per proposal.
    """

    __tablename__ = "follow_ups"
    __table_args__ = table_args(
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        sa.CheckConstraint("allocated_amount >= 0", name="allocated_non_negative"),
        sa.CheckConstraint("realised_amount >= 0", name="realised_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), unique=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("themed_sessions.id"), index=True)
    opd_name: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    opd_code: Mapped[str] = mapped_column(sa.String(50), default="", server_default="")
    budget_year: Mapped[int]
    allocated_amount: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[FollowUpStatus] = mapped_column(
        enum_column(FollowUpStatus, "follow_up_status"), default=FollowUpStatus.PLANNED,
        server_default="direncanakan")
    progress: Mapped[int] = mapped_column(default=0, server_default="0")
    realised_amount: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    cancel_reason: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    # An OPD officer an admin put in charge; planners of the session (and admins) may always record.
    responsible_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    proposal: Mapped[Proposal] = relationship()
    themed_session: Mapped[ThemedSession] = relationship()
    responsible_user: Mapped[User | None] = relationship()
    updates: Mapped[list[FollowUpUpdate]] = relationship(
        back_populates="follow_up", order_by=lambda: (FollowUpUpdate.dated, FollowUpUpdate.id),
        cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<FollowUp {self.id} p={self.proposal_id} {self.status.value} {self.progress}%>"

    def can_record(self, user) -> bool:
        """The session's planners, admins, and the OPD officer assigned to this follow-up."""
        if not user.is_authenticated:
            return False
        return self.themed_session.can_manage(user) or (
            self.responsible_user_id is not None and self.responsible_user_id == user.id)

    @staticmethod
    def can_assign(user) -> bool:
        """Only an admin puts an OPD officer in charge."""
        return user.is_authenticated and user.role is Role.ADMIN

    def can_view_photos(self, user) -> bool:
        """Who records, the session's staff and the proposal's owner see the photos of its updates."""
        return self.can_record(user) or self.themed_session.can_facilitate(user) or self.proposal.is_owned_by(user)


class FollowUpUpdate(db.Model):
    """One dated entry in a follow-up: what the state became, with a note and an optional photo."""

    __tablename__ = "follow_up_updates"
    __table_args__ = table_args(
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        sa.CheckConstraint("realised_amount >= 0", name="realised_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(sa.ForeignKey("follow_ups.id", ondelete="CASCADE"), index=True)
    dated: Mapped[date]
    status: Mapped[FollowUpStatus] = mapped_column(enum_column(FollowUpStatus, "follow_up_update_status"))
    progress: Mapped[int]
    realised_amount: Mapped[int] = mapped_column(sa.BigInteger)
    note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    cancel_reason: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    photo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    photo_name: Mapped[str | None] = mapped_column(sa.String(200))
    photo_type: Mapped[str | None] = mapped_column(sa.String(40))
    photo_size: Mapped[int | None]
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    follow_up: Mapped[FollowUp] = relationship(back_populates="updates")
    photo_file: Mapped[StoredFile | None] = relationship(cascade="all, delete-orphan", single_parent=True)
    author: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<FollowUpUpdate {self.id} f={self.follow_up_id} {self.dated} {self.status.value}>"
