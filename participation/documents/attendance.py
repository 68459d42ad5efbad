"""Who attended a meeting: the one definition the check-in page, the attendance list and the minutes share.

A business attended when it is checked in (`Invitation.is_present`: the check-in at the door, or
entered afterwards from the signed paper list; undoing it takes it back). Invited businesses are
those on the roster who are not walk-ins; a walk-in counts only once checked in (a paper form typed
in for a business not on the roster makes a walk-in row, but not a presence).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from participation.extensions import db
from participation.models import Business, Invitation, ThemedSession


@dataclass(frozen=True)
class Attendance:
    """The meeting's counts: invited, invited who came, walk-ins who came, and all present."""

    invited: int = 0
    invited_present: int = 0
    walk_ins: int = 0

    @property
    def present(self) -> int:
        return self.invited_present + self.walk_ins


def attendance_counts(themed_session: ThemedSession) -> Attendance:
    """The counts of `themed_session`, in one query."""
    rows = db.session.execute(
        select(Invitation.walk_in, Invitation.is_present, func.count(Invitation.id))
        .where(Invitation.session_id == themed_session.id).group_by(Invitation.walk_in, Invitation.is_present)
    ).all()
    invited = sum(number for walk_in, _present, number in rows if not walk_in)
    invited_present = sum(number for walk_in, present, number in rows if present and not walk_in)
    walk_ins = sum(number for walk_in, present, number in rows if present and walk_in)
    return Attendance(invited, invited_present, walk_ins)


def attendance_list(themed_session: ThemedSession) -> list[Invitation]:
    """The daftar hadir: every invited business (to sign, present or not), then the walk-ins present.

    Invited ones first, then walk-ins; within each by business name, then id.
    """
    return list(db.session.scalars(
        select(Invitation).join(Business, Invitation.business_id == Business.id)
        .options(joinedload(Invitation.business))
        .where(Invitation.session_id == themed_session.id,
               or_(Invitation.walk_in.is_(False), Invitation.is_present))
        .order_by(Invitation.walk_in, Business.name, Invitation.id)))
