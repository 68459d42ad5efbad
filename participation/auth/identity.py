"""An owner's change of NIB or business name, held for staff review when it could take over another identity.

Paper forms, walk-ins and imports are matched to businesses by NIB and normalised name. A
profile that has proposals keeps its identity until staff approve a change; a profile without
proposals changes freely, except to the NIB of a business that has proposals or was registered
at the door. Services flush, never commit; each records one event.
"""
from __future__ import annotations

from sqlalchemy import exists, select, union

from participation.events import Actor, record
from participation.extensions import db
from participation.models import (
    Business,
    IdentityChange,
    IdentityChangeReason,
    IdentityChangeStatus,
    Invitation,
    Proposal,
    Role,
    User,
    normalize_business_name,
    session_members,
    utcnow,
)


class IdentityChangeError(Exception):
    """The change can no longer be decided (someone decided it already)."""


def changes_identity(business: Business, nib: str, name: str) -> bool:
    """Whether `nib` and `name` name another business than `business` does (a spelling of the same name does not)."""
    return business.nib != nib or business.name_key != normalize_business_name(name)


def review_reason(business: Business, nib: str) -> IdentityChangeReason | None:
    """Why a change of `business` to `nib` must wait for staff, or None when it may go through."""
    if db.session.scalar(select(exists().where(Proposal.business_id == business.id))):
        return IdentityChangeReason.HAS_PROPOSALS
    others = select(Business.id).where(Business.nib == nib, Business.id != business.id)
    with_proposals = exists().where(Proposal.business_id.in_(others))
    at_the_door = exists().where(Invitation.business_id.in_(others), Invitation.walk_in.is_(True))
    if db.session.scalar(select(with_proposals | at_the_door)):
        return IdentityChangeReason.NIB_IN_USE
    return None


def hold_identity_change(business: Business, nib: str, name: str, reason: IdentityChangeReason,
                         actor: Actor) -> IdentityChange:
    """The pending change of `business` to `nib` and `name`; a newer request replaces an older one."""
    change = business.pending_identity_change
    if change is None:
        change = IdentityChange(business=business, old_nib=business.nib, old_name=business.name)
        db.session.add(change)
    change.nib, change.name, change.reason = nib, name, reason
    change.requested_by_id = actor.user_id
    change.created_at = utcnow()
    db.session.flush()
    return change


def withdraw_identity_change(business: Business) -> IdentityChange | None:
    """The owner saved the current NIB and name again: a pending change is dropped."""
    change = business.pending_identity_change
    if change is not None:
        change.status = IdentityChangeStatus.WITHDRAWN
        change.decided_at = utcnow()
    return change


def reviewable_changes(user: User) -> list[IdentityChange]:
    """Pending changes `user` may decide: all for an admin; else those of businesses in the user's sessions.

    Oldest request first (by id), so that nobody waits behind later ones.
    """
    statement = (select(IdentityChange).where(IdentityChange.status == IdentityChangeStatus.PENDING)
                 .order_by(IdentityChange.id))
    if user.role is not Role.ADMIN:
        if user.role not in (Role.PLANNER, Role.FACILITATOR):
            return []
        my_sessions = select(session_members.c.session_id).where(session_members.c.user_id == user.id)
        businesses = union(select(Proposal.business_id).where(Proposal.session_id.in_(my_sessions)),
                           select(Invitation.business_id).where(Invitation.session_id.in_(my_sessions)))
        statement = statement.where(IdentityChange.business_id.in_(businesses))
    return list(db.session.scalars(statement))


def decide_identity_change(change: IdentityChange, approve: bool, actor: Actor) -> None:
    """Approve (the business takes the new NIB and name) or reject a pending change."""
    if not change.is_pending:
        raise IdentityChangeError(change.status.value)
    business = change.business
    before = {"nib": business.nib, "business_name": business.name}
    if approve:
        business.nib = change.nib
        business.set_name(change.name)
    change.status = IdentityChangeStatus.APPROVED if approve else IdentityChangeStatus.REJECTED
    change.decided_by_id, change.decided_at = actor.user_id, utcnow()
    db.session.flush()
    record("business.identity_change_approved" if approve else "business.identity_change_rejected", actor,
           business, before=before,
           after={"change_id": change.id, "nib": business.nib, "business_name": business.name,
                  "requested": {"nib": change.nib, "business_name": change.name}})

