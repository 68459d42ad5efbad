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


class FinalStanding(LabelledEnum):
    """Where a proposal stands in its session's final ranking: the decision with the funding answer.

    Funded means prioritised and selected within the budget ceiling in the snapshot. A deferred or
    rejected proposal is not funded whatever the selection says: the decision is what counts.
    """

    FUNDED = "funded", _l("Prioritized · funded within the ceiling"), "success"
    OUTSIDE_CEILING = "outside_ceiling", _l("Prioritized · outside the ceiling"), "warning"
    DEFERRED = "deferred", _l("Deferred · not funded"), "secondary"
    REJECTED = "rejected", _l("Rejected · not funded"), "danger"
    # No decision was recorded: the selection alone says whether the ceiling covers it.
    WITHIN_CEILING = "within_ceiling", _l("Within the ceiling · no decision"), "info"
    NOT_WITHIN_CEILING = "not_within_ceiling", _l("Outside the ceiling · no decision"), "secondary"
    NOT_RANKED = "not_ranked", _l("Not ranked · not funded"), "secondary"

    @classmethod
    def of_line(cls, line: dict | None) -> FinalStanding | None:
        """The standing of a snapshot's export line (DESIGN §7); None when the proposal is not listed."""
        if line is None:
            return None
        outcome = Outcome.of(line.get("decision"))
        if outcome is Outcome.DEFERRED:
            return cls.DEFERRED
        if outcome is Outcome.REJECTED:
            return cls.REJECTED
        if line.get("rank") is None:
            return cls.NOT_RANKED
        if outcome is Outcome.PRIORITIZED:
            return cls.FUNDED if line.get("selected") else cls.OUTSIDE_CEILING
        return cls.WITHIN_CEILING if line.get("selected") else cls.NOT_WITHIN_CEILING

    @property
    def is_funded(self) -> bool:
        """Prioritised and within the budget ceiling."""
        return self is FinalStanding.FUNDED

    @property
    def is_prioritized_outside_ceiling(self) -> bool:
        """Prioritised, but the ceiling did not stretch to it: the owner's page explains what that means."""
        return self is FinalStanding.OUTSIDE_CEILING


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

    def line_of(self, receipt_number: str | None) -> dict | None:
        """One proposal's line in the snapshot's ranking (None when it is not listed)."""
        if receipt_number is None:
            return None
        return next((line for line in self.payload["export"]["proposals"]
                     if line["receipt_number"] == receipt_number), None)

    def standing_of(self, receipt_number: str | None) -> FinalStanding | None:
        """Where the proposal with this receipt number stands in this version of the ranking."""
        return FinalStanding.of_line(self.line_of(receipt_number))


class ImmutableError(RuntimeError):
    """An attempt to change or delete a ranking snapshot."""


@event.listens_for(RankingSnapshot, "before_update")
def _refuse_update(_mapper, _connection, target):
    raise ImmutableError(f"ranking snapshot {target.id} is immutable")


@event.listens_for(RankingSnapshot, "before_delete")
def _refuse_delete(_mapper, _connection, target):
    raise ImmutableError(f"ranking snapshot {target.id} is immutable")
