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
    SeparateRegistration,
    SeparateRegistrationStatus,
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



# Businesses registered at the door beside an account's ----------------------------------------

class SeparateRegistrationError(Exception):
    """The review cannot go through: `code` says why (decided, gone, frozen), `sessions` which."""

    def __init__(self, code: str, sessions: list[str] | None = None):
        super().__init__(code)
        self.code = code
        self.sessions = sessions or []


def reviewable_separate_registrations(user: User) -> list[SeparateRegistration]:
    """Pending door registrations `user` may decide: all for an admin, else those of the user's sessions."""
    statement = (select(SeparateRegistration).where(
        SeparateRegistration.status == SeparateRegistrationStatus.PENDING,
        SeparateRegistration.business_id.is_not(None), SeparateRegistration.account_business_id.is_not(None),
        SeparateRegistration.account_business_id.in_(select(Business.id).where(Business.user_id.is_not(None))),
    ).order_by(SeparateRegistration.id))
    if user.role is not Role.ADMIN:
        if user.role not in (Role.PLANNER, Role.FACILITATOR):
            return []
        my_sessions = select(session_members.c.session_id).where(session_members.c.user_id == user.id)
        statement = statement.where(SeparateRegistration.session_id.in_(my_sessions))
    return list(db.session.scalars(statement))


def _pending_pair(review: SeparateRegistration) -> tuple[Business, Business]:
    if not review.is_pending:
        raise SeparateRegistrationError("decided")
    door, account = review.business, review.account_business
    if door is None or account is None or door.has_account or not account.has_account:
        raise SeparateRegistrationError("gone")
    return door, account


def merge_separate_registration(review: SeparateRegistration, actor: Actor) -> Business:
    """One business after all: the door business's proposals and invitations move to the account's
    business, which takes what it lacked of the door's details; the door business is removed.

    Refused while it would change the signed record of a finalised session (its roster and the
    proposals the minutes list), or when either side has changed since (decided, merged, erased).
    """
    from participation.database import advisory_lock
    from participation.intake.services import BUSINESS_LOCK_BASE

    door, account = _pending_pair(review)
    advisory_lock(BUSINESS_LOCK_BASE + int(door.nib))  # no paper form matches the door business meanwhile
    proposals = list(db.session.scalars(select(Proposal).where(Proposal.business_id == door.id).order_by(Proposal.id)))
    invitations = list(db.session.scalars(select(Invitation).where(Invitation.business_id == door.id)))
    sessions = {proposal.themed_session for proposal in proposals} | {inv.themed_session for inv in invitations}
    frozen = sorted(themed_session.title for themed_session in sessions if themed_session.meeting_record_is_frozen)
    if frozen:
        raise SeparateRegistrationError("frozen", frozen)
    before = {"business_id": door.id, "nib": door.nib, "business_name": door.name, "owner_name": door.owner_name}
    for proposal in proposals:
        proposal.business_id = account.id
    held = {inv.session_id: inv for inv in db.session.scalars(
        select(Invitation).where(Invitation.business_id == account.id))}
    for invitation in invitations:
        kept = held.get(invitation.session_id)
        if kept is None:
            invitation.business_id = account.id
            continue
        # Both were on the roster: one row, present if either checked in, a walk-in only if both were.
        if invitation.attended and not kept.attended:
            kept.attended, kept.checked_in_at = True, invitation.checked_in_at
        kept.walk_in = kept.walk_in and invitation.walk_in
        db.session.delete(invitation)
    account.kbli_list = set(account.kbli_list) | set(door.kbli_list)
    if not account.phone and door.phone:
        account.phone = door.phone
    if not account.kelurahan and door.kelurahan:  # the place moves as one: names and code
        account.kelurahan, account.kecamatan, account.kelurahan_code = door.kelurahan, door.kecamatan, door.kelurahan_code
    elif not account.kecamatan and door.kecamatan:
        account.kecamatan = door.kecamatan
    db.session.flush()
    review.business = None
    review.status = SeparateRegistrationStatus.MERGED
    review.decided_by_id, review.decided_at = actor.user_id, utcnow()
    db.session.delete(door)
    db.session.flush()
    record("business.separate_registration_merged", actor, account, before=before, after={
        "review_id": review.id, "business_id": account.id, "account_user_id": account.user_id,
        "receipt_numbers": [proposal.receipt_number for proposal in proposals if proposal.receipt_number],
        "session_ids": sorted(themed_session.id for themed_session in sessions)})
    return account


def keep_separate(review: SeparateRegistration, note: str, actor: Actor) -> None:
    """Two businesses after all (checked by staff, with the reason): the door business stays as it is."""
    door, account = _pending_pair(review)
    review.status = SeparateRegistrationStatus.KEPT_SEPARATE
    review.note = note
    review.decided_by_id, review.decided_at = actor.user_id, utcnow()
    db.session.flush()
    record("business.separate_registration_kept", actor, door, after={
        "review_id": review.id, "business_id": door.id, "account_business_id": account.id, "note": note})
