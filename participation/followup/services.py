"""Follow-up records of funded proposals and their dated updates: the rules the form, the import and the CLI share."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from participation.events import Actor, Channel, record
from participation.extensions import db
from participation.followup.photos import read_photo
from participation.models import (
    FinalStanding,
    FollowUp,
    FollowUpStatus,
    FollowUpUpdate,
    Proposal,
    Role,
    ThemedSession,
    User,
)
from participation.validation import clean_text

MAX_NOTE = 2000
MAX_REASON = 500
MAX_AMOUNT = 10**13  # as a proposal's cost
# Who is funded once the ranking is final: prioritised (within the ceiling or not), or selected
# within the ceiling when no decision was recorded. Deferred and rejected ones are not, whatever
# the selection says (FinalStanding's rule).
FUNDED_STANDINGS = (FinalStanding.FUNDED, FinalStanding.OUTSIDE_CEILING, FinalStanding.WITHIN_CEILING)


class FollowUpError(Exception):
    """An update was refused; `problems` maps each field (dated, status, progress, realised, note,
    cancel_reason, photo, or "" for the whole) to the message the user reads."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{key}: {value}" for key, value in problems.items()))
        self.problems = problems


def today() -> date:
    """Today's date in the app's time zone (Asia/Jakarta): an update may be dated up to today."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")
    return datetime.now(zone).date()


def funded_lines(themed_session: ThemedSession) -> list[dict]:
    """The funded proposals' lines of the latest snapshot, in its order (none before finalisation)."""
    snapshots = themed_session.published_snapshots()
    if not snapshots:
        return []
    return [line for line in snapshots[-1].payload["export"]["proposals"]
            if FinalStanding.of_line(line) in FUNDED_STANDINGS]


def ensure_follow_ups(themed_session: ThemedSession, actor: Actor | None = None) -> list[FollowUp]:
    """Give each funded proposal of a finalised session its follow-up record (those it lacks); returns the new ones.

    Called by the finalisation in its own transaction, and for a session finalised before
    follow-up existed by the button on its follow-up page (and by `flask import-follow-up`). The allocation is the proposal's estimated
    cost as the snapshot recorded it, the budget year the session's fiscal year.
    """
    lines = funded_lines(themed_session)
    if not lines:
        return []
    existing = set(db.session.scalars(select(FollowUp.proposal_id).where(FollowUp.session_id == themed_session.id)))
    proposals = {proposal.receipt_number: proposal for proposal in db.session.scalars(
        select(Proposal).where(Proposal.session_id == themed_session.id,
                               Proposal.receipt_number.in_([line["receipt_number"] for line in lines])))}
    created = []
    for line in lines:
        proposal = proposals.get(line["receipt_number"])
        if proposal is None or proposal.id in existing:
            continue
        follow_up = FollowUp(proposal=proposal, session_id=themed_session.id, budget_year=themed_session.fiscal_year,
                             allocated_amount=int(line.get("estimated_cost") or proposal.estimated_cost or 0))
        db.session.add(follow_up)
        created.append(follow_up)
    if created:
        db.session.flush()
        record("follow_up.created", actor or Actor(), themed_session, object_type="ThemedSession",
               after={"receipt_numbers": [f.proposal.receipt_number for f in created]})
    return created


def follow_ups_of(themed_session: ThemedSession) -> list[FollowUp]:
    """The session's follow-ups with their proposals and updates, by receipt number."""
    return list(db.session.scalars(
        select(FollowUp).join(Proposal, Proposal.id == FollowUp.proposal_id)
        .where(FollowUp.session_id == themed_session.id)
        .options(selectinload(FollowUp.proposal).selectinload(Proposal.business), selectinload(FollowUp.updates),
                 selectinload(FollowUp.responsible_user))
        .order_by(Proposal.receipt_number)))


def follow_up_of(proposal: Proposal) -> FollowUp | None:
    return db.session.scalar(select(FollowUp).where(FollowUp.proposal_id == proposal.id))


def _text(value, field: str, maximum: int, problems: dict, *, multiline: bool) -> str:
    try:
        text = clean_text(value or "", multiline=multiline) or ""
    except ValueError as error:
        problems[field] = str(error)
        return ""
    if len(text) > maximum:
        problems[field] = _("At most %(n)d characters.", n=maximum)
    return text


@dataclass(frozen=True)
class UpdateData:
    """An update's values once checked."""

    dated: date
    status: FollowUpStatus
    progress: int
    realised: int
    note: str
    cancel_reason: str


def check_update(follow_up: FollowUp, dated, status, progress, realised, note, cancel_reason) -> UpdateData:
    """The rules of one update, whichever door it came through; raises FollowUpError with every problem.

    Progress is a whole percentage 0–100; the date is a real date, not after today (Asia/Jakarta);
    the realised budget is a whole number of rupiah, above the allocation only with a note
    explaining it; a cancellation needs its reason.
    """
    problems: dict[str, str] = {}
    note = _text(note, "note", MAX_NOTE, problems, multiline=True)
    cancel_reason = _text(cancel_reason, "cancel_reason", MAX_REASON, problems, multiline=True)
    if not isinstance(dated, date):
        problems["dated"] = _("Enter the date as YYYY-MM-DD, for example 2027-03-15.")
    elif dated > today():
        problems["dated"] = _("The date may not be in the future.")
    if not isinstance(status, FollowUpStatus):
        problems["status"] = _("Choose a status from the list.")
    if isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= progress <= 100:
        problems["progress"] = _("Physical progress must be a whole number from 0 to 100.")
    if isinstance(realised, bool) or not isinstance(realised, int) or not 0 <= realised <= MAX_AMOUNT:
        problems["realised"] = _("Enter the realised budget as a whole number of rupiah, 0 or more.")
    elif realised > follow_up.allocated_amount and not note and "note" not in problems:
        problems["realised"] = _("The realised budget is above the allocation; explain why in the note.")
    if status is FollowUpStatus.CANCELLED and not cancel_reason and "cancel_reason" not in problems:
        problems["cancel_reason"] = _("Give the reason why it was cancelled.")
    if problems:
        raise FollowUpError(problems)
    return UpdateData(dated, status, progress, realised, note,
                      cancel_reason if status is FollowUpStatus.CANCELLED else "")


def may_record(actor: Actor, follow_up: FollowUp) -> bool:
    """The command line (an operator) always; otherwise `FollowUp.can_record`."""
    if actor.channel is Channel.CLI and actor.user is None:
        return True
    return actor.user is not None and follow_up.can_record(actor.user)


def record_update(actor: Actor, follow_up: FollowUp, dated, status, progress, realised, note="",
                  cancel_reason="", photo=None) -> FollowUpUpdate:
    """Add a dated update to a follow-up; the follow-up then holds the state of its newest update.

    Newest means the latest date, then the latest entered (a back-dated update joins the timeline
    in its place). `photo` is an upload (JPEG or PNG, at most 5 MB, checked by content) or None.
    Audited as `follow_up.updated`, which tells the proposal's owner.
    """
    if not may_record(actor, follow_up):
        raise FollowUpError({"": _("You may not record the follow-up of this proposal.")})
    if not follow_up.themed_session.is_published:
        raise FollowUpError({"": _("Follow-up is recorded only for finalised sessions.")})
    problems: dict[str, str] = {}
    try:
        data = check_update(follow_up, dated, status, progress, realised, note, cancel_reason)
    except FollowUpError as error:
        problems.update(error.problems)
    try:
        photo_columns = read_photo(photo)
    except ValueError as error:
        problems["photo"] = str(error)
    if problems:
        raise FollowUpError(problems)
    before = _state(follow_up)
    update = FollowUpUpdate(follow_up=follow_up, dated=data.dated, status=data.status, progress=data.progress,
                            realised_amount=data.realised, note=data.note, cancel_reason=data.cancel_reason,
                            author_id=actor.user_id, **(photo_columns or {}))
    db.session.add(update)
    db.session.flush()
    newest = max(follow_up.updates, key=lambda entry: (entry.dated, entry.id))
    follow_up.status, follow_up.progress = newest.status, newest.progress
    follow_up.realised_amount, follow_up.cancel_reason = newest.realised_amount, newest.cancel_reason
    db.session.flush()
    record("follow_up.updated", actor, follow_up, before=before,
           after={**_state(follow_up), "update_id": update.id, "dated": data.dated.isoformat(),
                  "note": data.note[:200], "photo": bool(photo_columns)})
    return update


def _state(follow_up: FollowUp) -> dict:
    return {"receipt_number": follow_up.proposal.receipt_number, "status": follow_up.status.value,
            "progress": follow_up.progress, "realised": follow_up.realised_amount,
            "cancel_reason": follow_up.cancel_reason}


def assignable_users() -> list[User]:
    """The staff an admin may put in charge of a follow-up: active planners and facilitators, by name."""
    return list(db.session.scalars(select(User).where(User.role.in_([Role.PLANNER, Role.FACILITATOR]),
                                                      User.active.is_(True)).order_by(User.name, User.id)))


def update_details(actor: Actor, follow_up: FollowUp, opd_name: str, opd_code: str,
                   responsible_user_id: int | None | object = ...) -> None:
    """Set the responsible OPD (name and code) and, for an admin, the officer in charge.

    Raises FollowUpError when the actor may not, or a value is refused.
    """
    if not may_record(actor, follow_up):
        raise FollowUpError({"": _("You may not record the follow-up of this proposal.")})
    problems: dict[str, str] = {}
    opd_name = _text(opd_name, "opd_name", 200, problems, multiline=False)
    opd_code = _text(opd_code, "opd_code", 50, problems, multiline=False)
    responsible = follow_up.responsible_user_id
    if responsible_user_id is not ...:
        if actor.user is None or not FollowUp.can_assign(actor.user):
            problems["responsible_user_id"] = _("Only an administrator assigns the officer in charge.")
        elif responsible_user_id is not None and responsible_user_id not in {u.id for u in assignable_users()}:
            problems["responsible_user_id"] = _("Choose a planner or facilitator from the list.")
        else:
            responsible = responsible_user_id
    if problems:
        raise FollowUpError(problems)
    before = {"opd_name": follow_up.opd_name, "opd_code": follow_up.opd_code,
              "responsible_user_id": follow_up.responsible_user_id}
    follow_up.opd_name, follow_up.opd_code, follow_up.responsible_user_id = opd_name, opd_code, responsible
    db.session.flush()
    record("follow_up.details_changed", actor, follow_up, before=before,
           after={"opd_name": opd_name, "opd_code": opd_code, "responsible_user_id": responsible})
