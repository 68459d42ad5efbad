"""Planner review: ratings, decisions and immutable ranking snapshots."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.extensions import db
from participation.models.base import LabelledEnum, enum_column, table_args, utcnow
from participation.models.user import User

if TYPE_CHECKING:
    from participation.models.proposal import Proposal
    from participation.models.session import Criterion, ThemedSession


class Rating(db.Model):
    """One planner's rating of one proposal on one `rating` criterion.

    The version counter makes a save that started from an older version fail instead of
    overwriting what someone else saved in between (no lost updates).
    """

    __tablename__ = "ratings"
    __table_args__ = table_args(sa.UniqueConstraint("proposal_id", "criterion_id", "planner_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("criteria.id", ondelete="CASCADE"), index=True)
    planner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    value: Mapped[float] = mapped_column(sa.Float)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    proposal: Mapped[Proposal] = relationship()
    criterion: Mapped[Criterion] = relationship()
    planner: Mapped[User] = relationship()

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Rating p={self.proposal_id} c={self.criterion_id} u={self.planner_id} v={self.value}>"


class Outcome(LabelledEnum):
    """What the planners decided for a proposal."""

    PRIORITIZED = "prioritized", _l("Prioritized"), "success"
    DEFERRED = "deferred", _l("Deferred"), "warning"
    REJECTED = "rejected", _l("Rejected"), "danger"


class Decision(db.Model):
    """The current decision on a proposal, with the rank it had when it was taken."""

    __tablename__ = "decisions"
    __table_args__ = table_args()

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), unique=True)
    outcome: Mapped[Outcome] = mapped_column(enum_column(Outcome, "outcome"))
    reason: Mapped[str] = mapped_column(sa.String(1000))
    rank_at_decision: Mapped[int | None]
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    proposal: Mapped[Proposal] = relationship(back_populates="decision")
    decided_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Decision p={self.proposal_id} {self.outcome.value}>"


class RankingSnapshot(db.Model):
    """The ranking as finalised (version 1) or corrected (versions 2, 3, ...). Never changed."""

    __tablename__ = "ranking_snapshots"
    __table_args__ = table_args(sa.UniqueConstraint("session_id", "version"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("themed_sessions.id"), index=True)
    version: Mapped[int]
    method: Mapped[str] = mapped_column(sa.String(20))
    normalization: Mapped[str] = mapped_column(sa.String(20))
    selection: Mapped[str] = mapped_column(sa.String(20))
    # The whole ranking in the JSON export's shape (DESIGN §7), plus exclusions.
    payload: Mapped[dict] = mapped_column(sa.JSON)
    reason: Mapped[str] = mapped_column(sa.String(1000), default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    themed_session: Mapped[ThemedSession] = relationship()
    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<RankingSnapshot s={self.session_id} v{self.version}>"


class ImmutableError(RuntimeError):
    """An attempt to change or delete a ranking snapshot."""


@event.listens_for(RankingSnapshot, "before_update")
def _refuse_update(_mapper, _connection, target):
    raise ImmutableError(f"ranking snapshot {target.id} is immutable")


@event.listens_for(RankingSnapshot, "before_delete")
def _refuse_delete(_mapper, _connection, target):
    raise ImmutableError(f"ranking snapshot {target.id} is immutable")
