"""A planner's constraints on the funded set: exclusive groups of proposals (at most one funded).

Must-fund is a reason on the proposal (`Proposal.must_fund_reason`) and a category's budget cap
is on the category (`Category.budget_cap`); a group of alternatives needs its own table.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.extensions import db
from participation.models.base import table_args, utcnow

if TYPE_CHECKING:
    from participation.models.proposal import Proposal

exclusive_group_members = sa.Table(
    "exclusive_group_members",
    db.metadata,
    sa.Column("group_id", sa.ForeignKey("exclusive_groups.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("proposal_id", sa.ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class ExclusiveGroup(db.Model):
    """Named proposals of one session of which at most one may be funded (near-duplicates, alternatives)."""

    __tablename__ = "exclusive_groups"
    __table_args__ = table_args()

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("themed_sessions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[Proposal]] = relationship(secondary=exclusive_group_members,
                                                   order_by="Proposal.receipt_number")

    def __repr__(self) -> str:
        return f"<ExclusiveGroup {self.id} {self.name!r}>"
