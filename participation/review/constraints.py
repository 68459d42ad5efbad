"""A planner's constraints on the funded set: must-fund with a reason, exclusive groups, category caps.

Each change locks the session row, is refused once the session is finalised (the snapshot was
selected under the constraints as they were), and is audited. `load_constraints` reads them for
the ranking in three queries, whatever the number of proposals.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from participation.events import Actor, record
from participation.extensions import db
from participation.models import (
    Category,
    ExclusiveGroup,
    Proposal,
    ProposalStatus,
    ThemedSession,
    exclusive_group_members,
)

REASON_MAX = 500
NAME_MAX = 120
MAX_CAP = 2**62  # the scoring library's largest amount


class ConstraintError(Exception):
    """A rule refused the change; `code` says which (see constraint_routes.ERRORS)."""

    def __init__(self, code: str, **details):
        super().__init__(code)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class SessionConstraints:
    """The session's constraints as plain values: by proposal id and category id."""

    must: dict[int, str] = field(default_factory=dict)  # proposal id -> reason
    groups: list[tuple[int, str, list[int]]] = field(default_factory=list)  # (group id, name, proposal ids)
    caps: dict[int, int] = field(default_factory=dict)  # category id -> cap in Rupiah

    @property
    def any(self) -> bool:
        return bool(self.must or self.groups or self.caps)


def load_constraints(themed_session: ThemedSession) -> SessionConstraints:
    """Must-fund reasons of submitted proposals, exclusive groups with members, category caps."""
    must = dict(db.session.execute(
        select(Proposal.id, Proposal.must_fund_reason)
        .where(Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED,
               Proposal.must_fund_reason.is_not(None))).all())
    rows = db.session.execute(
        select(ExclusiveGroup.id, ExclusiveGroup.name, exclusive_group_members.c.proposal_id)
        .outerjoin(exclusive_group_members, exclusive_group_members.c.group_id == ExclusiveGroup.id)
        .where(ExclusiveGroup.session_id == themed_session.id)
        .order_by(ExclusiveGroup.id, exclusive_group_members.c.proposal_id)).all()
    groups: dict[int, tuple[str, list[int]]] = {}
    for group_id, name, proposal_id in rows:
        members = groups.setdefault(group_id, (name, []))[1]
        if proposal_id is not None:
            members.append(proposal_id)
    caps = dict(db.session.execute(
        select(Category.id, Category.budget_cap)
        .where(Category.session_id == themed_session.id, Category.budget_cap.is_not(None))).all())
    return SessionConstraints(must=must, groups=[(gid, name, ids) for gid, (name, ids) in groups.items()],
                              caps=caps)


def _lock_editable(themed_session: ThemedSession) -> None:
    # Imported here: the services import the ranking, which reads the constraints from this module.
    from participation.review.services import lock_session

    lock_session(themed_session)
    if not themed_session.is_editable:
        raise ConstraintError("locked")


def _audit(event: str, actor: Actor, themed_session: ThemedSession, **kwargs) -> None:
    record(event, actor, themed_session, object_type="ThemedSession", **kwargs)


def set_must_fund(proposal: Proposal, reason: str, actor: Actor) -> None:
    """Mark a submitted proposal must-fund for `reason` (required; stripped; at most 500 characters)."""
    themed_session = proposal.themed_session
    _lock_editable(themed_session)
    reason = (reason or "").strip()
    if not reason:
        raise ConstraintError("reason_required")
    if len(reason) > REASON_MAX:
        raise ConstraintError("reason_too_long", max=REASON_MAX)
    if proposal.status is not ProposalStatus.SUBMITTED:
        raise ConstraintError("not_submitted")
    before = proposal.must_fund_reason
    proposal.must_fund_reason = reason
    db.session.flush()
    _audit("selection.must_fund_set", actor, themed_session,
           before={"proposal": proposal.receipt_number, "reason": before},
           after={"proposal": proposal.receipt_number, "reason": reason})


def clear_must_fund(proposal: Proposal, actor: Actor) -> None:
    """Take the must-fund mark off a proposal."""
    themed_session = proposal.themed_session
    _lock_editable(themed_session)
    if proposal.must_fund_reason is None:
        raise ConstraintError("not_must_fund")
    before = proposal.must_fund_reason
    proposal.must_fund_reason = None
    db.session.flush()
    _audit("selection.must_fund_cleared", actor, themed_session,
           before={"proposal": proposal.receipt_number, "reason": before},
           after={"proposal": proposal.receipt_number, "reason": None})


def create_exclusive_group(themed_session: ThemedSession, name: str, proposals: list[Proposal],
                           actor: Actor) -> ExclusiveGroup:
    """A named group of two or more submitted proposals of the session, at most one of them funded."""
    _lock_editable(themed_session)
    name = (name or "").strip()
    if not name:
        raise ConstraintError("name_required")
    if len(name) > NAME_MAX:
        raise ConstraintError("name_too_long", max=NAME_MAX)
    distinct = list({proposal.id: proposal for proposal in proposals}.values())
    strangers = [p for p in distinct if p.session_id != themed_session.id or p.status is not ProposalStatus.SUBMITTED]
    if strangers:
        raise ConstraintError("not_in_session", receipts=[p.receipt_number or str(p.id) for p in strangers])
    if len(distinct) < 2:
        raise ConstraintError("too_few")
    group = ExclusiveGroup(session_id=themed_session.id, name=name, created_by_id=actor.user_id,
                           members=sorted(distinct, key=lambda p: p.receipt_number or ""))
    db.session.add(group)
    db.session.flush()
    _audit("selection.exclusive_group_created", actor, themed_session,
           after={"group": group.id, "name": name, "proposals": [p.receipt_number for p in group.members]})
    return group


def delete_exclusive_group(group: ExclusiveGroup, actor: Actor) -> None:
    """Remove an exclusive group (its proposals stay as they are)."""
    themed_session = db.session.get(ThemedSession, group.session_id)
    _lock_editable(themed_session)
    before = {"group": group.id, "name": group.name, "proposals": [p.receipt_number for p in group.members]}
    db.session.delete(group)
    db.session.flush()
    _audit("selection.exclusive_group_deleted", actor, themed_session, before=before)


def set_category_cap(category: Category, cap: int | None, actor: Actor) -> None:
    """Set the most the funded proposals of `category` may cost together (None: no cap)."""
    themed_session = category.themed_session
    _lock_editable(themed_session)
    if cap is not None and not 0 <= cap <= MAX_CAP:
        raise ConstraintError("cap_range")
    before = category.budget_cap
    if before == cap:
        return
    category.budget_cap = cap
    db.session.flush()
    _audit("selection.category_cap_set" if cap is not None else "selection.category_cap_cleared", actor,
           themed_session, before={"category": category.name, "cap": before},
           after={"category": category.name, "cap": cap})
