"""What the public reads about a finalised session's follow-up: per proposal, a summary, realisation per month.

The public page and the API both read `session_progress`, so they cannot disagree on a figure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from participation.followup.services import follow_ups_of
from participation.models import FollowUp, FollowUpStatus, ThemedSession


@dataclass(frozen=True)
class MonthRealisation:
    """The budget realised in one calendar month (the rise of the realised amounts dated in it)."""

    month: date  # the first day of the month
    amount: int
    cumulative: int


@dataclass(frozen=True)
class Summary:
    """The session's follow-up in figures.

    Physical progress is the mean over the follow-ups not cancelled (0 when there are none);
    the allocation and the realised budget are sums over all of them (a cancelled one may have
    spent part of its allocation before it stopped).
    """

    funded: int = 0
    planned: int = 0
    in_progress: int = 0
    completed: int = 0
    cancelled: int = 0
    mean_progress: float = 0.0
    allocated: int = 0
    realised: int = 0
    months: list[MonthRealisation] = field(default_factory=list)

    @property
    def realised_share(self) -> float:
        """Realised against the allocation, 0–100 (or more, when a note explained an overrun)."""
        return 100.0 * self.realised / self.allocated if self.allocated else 0.0

    @property
    def largest_month(self) -> int:
        return max((month.amount for month in self.months), default=0)


@dataclass(frozen=True)
class SessionProgress:
    """The follow-ups by receipt number, and their summary."""

    follow_ups: dict[str, FollowUp]
    summary: Summary


def months_of(follow_ups: list[FollowUp]) -> list[MonthRealisation]:
    """Realisation per month, oldest first: each update adds the rise of its follow-up's realised amount
    since the update before it (ordered by date, then entry), in the month it is dated; a correction
    downwards subtracts. The months' amounts therefore sum to the realised total."""
    totals: dict[date, int] = {}
    for follow_up in follow_ups:
        previous = 0
        for update in sorted(follow_up.updates, key=lambda entry: (entry.dated, entry.id)):
            month = update.dated.replace(day=1)
            totals[month] = totals.get(month, 0) + update.realised_amount - previous
            previous = update.realised_amount
    cumulative = 0
    months = []
    for month in sorted(totals):
        cumulative += totals[month]
        months.append(MonthRealisation(month, totals[month], cumulative))
    return months


def summarise(follow_ups: list[FollowUp]) -> Summary:
    counts = {status: sum(1 for f in follow_ups if f.status is status) for status in FollowUpStatus}
    active = [f for f in follow_ups if f.status is not FollowUpStatus.CANCELLED]
    return Summary(
        funded=len(follow_ups), planned=counts[FollowUpStatus.PLANNED], in_progress=counts[FollowUpStatus.IN_PROGRESS],
        completed=counts[FollowUpStatus.COMPLETED], cancelled=counts[FollowUpStatus.CANCELLED],
        mean_progress=round(sum(f.progress for f in active) / len(active), 1) if active else 0.0,
        allocated=sum(f.allocated_amount for f in follow_ups), realised=sum(f.realised_amount for f in follow_ups),
        months=months_of(follow_ups))


def session_progress(themed_session: ThemedSession) -> SessionProgress:
    """The follow-up of a published session (empty before finalisation, or before its records exist)."""
    follow_ups = follow_ups_of(themed_session) if themed_session.is_published else []
    return SessionProgress({f.proposal.receipt_number: f for f in follow_ups}, summarise(follow_ups))


def follow_up_payload(follow_up: FollowUp) -> dict:
    """One follow-up as the API gives it (no author, no photo: what the public page shows, with dates)."""
    return {
        "receipt_number": follow_up.proposal.receipt_number, "title": follow_up.proposal.title,
        "opd": follow_up.opd_name, "budget_year": follow_up.budget_year,
        "allocated_amount": follow_up.allocated_amount, "status": follow_up.status.value,
        "progress": follow_up.progress, "realised_amount": follow_up.realised_amount,
        "cancel_reason": follow_up.cancel_reason or None,
        "updates": [{"date": update.dated.isoformat(), "status": update.status.value, "progress": update.progress,
                     "realised_amount": update.realised_amount, "note": update.note,
                     "cancel_reason": update.cancel_reason or None}
                    for update in sorted(follow_up.updates, key=lambda entry: (entry.dated, entry.id))],
    }


def summary_payload(summary: Summary) -> dict:
    return {"funded": summary.funded, "planned": summary.planned, "in_progress": summary.in_progress,
            "completed": summary.completed, "cancelled": summary.cancelled, "mean_progress": summary.mean_progress,
            "allocated_amount": summary.allocated, "realised_amount": summary.realised,
            "months": [{"month": m.month.strftime("%Y-%m"), "realised_amount": m.amount, "cumulative": m.cumulative}
                       for m in summary.months]}


@dataclass(frozen=True)
class ChartBar:
    """One month's bar in the public chart, in the SVG's user units."""

    month: MonthRealisation
    x: float
    y: float
    width: float
    height: float


CHART_WIDTH, CHART_HEIGHT, CHART_BASE = 600, 200, 166  # the baseline leaves room for the month labels


def chart_bars(summary: Summary) -> list[ChartBar]:
    """The months as bars scaled to the largest month (a month with a net correction downwards draws none)."""
    months = summary.months
    if not months:
        return []
    slot = CHART_WIDTH / len(months)
    largest = max(summary.largest_month, 1)
    bars = []
    width = min(slot * 0.7, 80)  # one or two months do not stretch into a wall
    for index, month in enumerate(months):
        height = round(max(month.amount, 0) / largest * (CHART_BASE - 20), 2)
        bars.append(ChartBar(month, round(index * slot + (slot - width) / 2, 2), round(CHART_BASE - height, 2),
                             round(width, 2), height))
    return bars
