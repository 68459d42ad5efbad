"""Conflicts of interest: declare, withdraw, ask who is conflicted, suggest the likely ones.

A conflict ties a staff member to a business, whatever the session: it keeps them from rating or
deciding that business's proposals in every session, and leaves their ratings of them out of
the aggregate. A staff member declares their own; a planner or an admin may declare one for a
colleague (told at the meeting, say), and the declaration names who entered it.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from participation.events import Actor, record
from participation.extensions import db
from participation.models import (
    Business,
    ConflictKind,
    ConflictOfInterest,
    Invitation,
    Proposal,
    ProposalStatus,
    Rating,
    Role,
    ThemedSession,
    User,
    session_members,
    utcnow,
)
from participation.review.ranking import conflicted_rating
from participation.validation import normalize_phone

NOTE_LENGTH = 500
DECLARES_FOR_OTHERS = (Role.PLANNER, Role.ADMIN)


class ConflictError(Exception):
    """A rule refused the declaration or withdrawal; `code` says which."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _business_id(business: Business | int) -> int:
    return business if isinstance(business, int) else business.id


def active_conflict(user: User, business: Business | int) -> ConflictOfInterest | None:
    """The active declaration of `user` about `business`, if any."""
    return db.session.scalar(select(ConflictOfInterest).where(
        ConflictOfInterest.user_id == user.id, ConflictOfInterest.business_id == _business_id(business),
        ConflictOfInterest.withdrawn_at.is_(None)))


def declare(actor: Actor, user: User, business: Business, kind: ConflictKind, note: str) -> ConflictOfInterest:
    """Declare that staff member `user` has a conflict of `kind` with `business`; audited as `conflict.declared`."""
    declarer = actor.user
    if not user.role.is_staff:
        raise ConflictError("not_staff")
    if declarer is not None and declarer.id != user.id and declarer.role not in DECLARES_FOR_OTHERS:
        raise ConflictError("not_allowed")
    note = (note or "").strip()
    if len(note) > NOTE_LENGTH:
        raise ConflictError("note_too_long")
    if active_conflict(user, business) is not None:
        raise ConflictError("already_declared")
    conflict = ConflictOfInterest(user=user, business=business, kind=ConflictKind(kind), note=note,
                                  declared_by_id=actor.user_id, declared_at=utcnow())
    db.session.add(conflict)
    try:
        db.session.flush()  # the partial unique index refuses a concurrent second declaration
    except IntegrityError:
        raise ConflictError("already_declared") from None
    record("conflict.declared", actor, conflict,
           after={"user_id": user.id, "business_id": business.id, "kind": conflict.kind.value, "note": note})
    return conflict


def withdraw(actor: Actor, conflict: ConflictOfInterest) -> ConflictOfInterest:
    """Withdraw a declaration made by mistake; it stays, marked withdrawn (`conflict.withdrawn`)."""
    if not conflict.active:
        raise ConflictError("withdrawn")
    if actor.user is not None and not conflict.can_withdraw(actor.user):
        raise ConflictError("not_allowed")
    conflict.withdrawn_at, conflict.withdrawn_by_id = utcnow(), actor.user_id
    db.session.flush()
    record("conflict.withdrawn", actor, conflict, before={"withdrawn_at": None},
           after={"user_id": conflict.user_id, "business_id": conflict.business_id,
                  "withdrawn_at": conflict.withdrawn_at.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return conflict


def conflicted(planner: User, business: Business | int) -> bool:
    """Whether `planner` has an active conflict with `business` (then they neither rate nor decide it)."""
    if planner is None or not getattr(planner, "is_authenticated", False):
        return False
    return active_conflict(planner, business) is not None


def active_in_session(themed_session: ThemedSession):
    """The condition "an active declaration about a business with a proposal in the session"."""
    return (ConflictOfInterest.withdrawn_at.is_(None)) & exists().where(
        Proposal.business_id == ConflictOfInterest.business_id, Proposal.session_id == themed_session.id)


def conflicted_pairs(themed_session: ThemedSession) -> set[tuple[int, int]]:
    """(user id, business id) of every active declaration about a business proposing in the session."""
    rows = db.session.execute(select(ConflictOfInterest.user_id, ConflictOfInterest.business_id)
                              .where(active_in_session(themed_session)))
    return {(user_id, business_id) for user_id, business_id in rows}


def conflicted_proposal_ids(themed_session: ThemedSession, user: User) -> set[int]:
    """Ids of the session's proposals whose business `user` has an active conflict with."""
    return set(db.session.scalars(select(Proposal.id).join(
        ConflictOfInterest, ConflictOfInterest.business_id == Proposal.business_id).where(
        Proposal.session_id == themed_session.id, ConflictOfInterest.user_id == user.id,
        ConflictOfInterest.withdrawn_at.is_(None))))


def session_businesses(themed_session: ThemedSession):
    """The condition "the business proposes in the session or is on its roster"."""
    return or_(
        exists().where(Proposal.business_id == Business.id, Proposal.session_id == themed_session.id),
        exists().where(Invitation.business_id == Business.id, Invitation.session_id == themed_session.id))


def session_declarations(themed_session: ThemedSession) -> list[ConflictOfInterest]:
    """Every declaration (active and withdrawn) about a business of the session, newest first.

    Ties of `declared_at` go by id, newest first.
    """
    return list(db.session.scalars(
        select(ConflictOfInterest).join(Business, Business.id == ConflictOfInterest.business_id)
        .where(session_businesses(themed_session))
        .options(selectinload(ConflictOfInterest.user), selectinload(ConflictOfInterest.business),
                 selectinload(ConflictOfInterest.declared_by))
        .order_by(ConflictOfInterest.declared_at.desc(), ConflictOfInterest.id.desc())))


def declarations_of(user: User) -> list[ConflictOfInterest]:
    """The user's own declarations, oldest first (by id)."""
    return list(db.session.scalars(select(ConflictOfInterest).where(ConflictOfInterest.user_id == user.id)
                                   .order_by(ConflictOfInterest.id)))


# Matching keys: what two spellings of one person's name, address or number have in common.

def name_key(name: str | None) -> str:
    """A name without accents, case, punctuation or repeated spaces: "  Siti  NURHALIZA." -> "siti nurhaliza"."""
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def email_key(email: str | None) -> str:
    """One mailbox's key: case and a +tag ignored, and Gmail's dots, so that an owner's account
    budi.santoso+usaha@gmail.com matches a staff member's BudiSantoso@gmail.com (two accounts never
    share an address, but one person may hold two under such spellings)."""
    mailbox, _, domain = (email or "").strip().lower().rpartition("@")
    if not mailbox:
        return ""
    mailbox = mailbox.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        mailbox, domain = mailbox.replace(".", ""), "gmail.com"
    return f"{mailbox}@{domain}"


def phone_key(phone: str | None) -> str:
    """The digits of the +62 form: 0812-3456-7890, 62 812 3456 7890 and +6281234567890 share one key."""
    return re.sub(r"\D", "", normalize_phone((phone or "").strip()) or "")


@dataclass(frozen=True)
class Suggestion:
    """A likely conflict nobody has declared yet: staff member, business, and what matched."""

    user: User
    business: Business
    matches: tuple[str, ...]  # "name", "email", "phone"


def _matches(user: User, business: Business) -> tuple[str, ...]:
    owner = business.user
    found = []
    user_name = name_key(user.name)
    if user_name and user_name in {name_key(business.owner_name), name_key(owner.name if owner else "")}:
        found.append("name")
    if owner is not None and owner.id != user.id and email_key(owner.email) == email_key(user.email):
        found.append("email")
    user_phone = phone_key(getattr(user, "phone", None))
    if user_phone and user_phone == phone_key(business.phone):
        found.append("phone")
    return tuple(found)


def suggestions(subject: ThemedSession | User, *, user: User | None = None) -> list[Suggestion]:
    """Where a staff member's name, email or phone matches a business owner's and nothing is declared.

    For a session: its staff against the businesses that propose in it or are on its roster. For a
    user: that staff member against the businesses of the sessions they work on (every session for
    an admin). A session with `user`: that staff member against the session's businesses. A pair with any declaration, active or withdrawn, is not suggested again: a
    withdrawal is an answer. Ordered by business name, then staff name, then ids.
    """
    if user is not None and not user.role.is_staff:
        return []
    if isinstance(subject, ThemedSession):
        staff = [user] if user is not None else [member for member in subject.members if member.role.is_staff]
        where = session_businesses(subject)
    else:
        if not subject.role.is_staff:
            return []
        staff = [subject]
        where = _businesses_of_sessions_of(subject)
    if not staff:
        return []
    businesses = db.session.scalars(select(Business).where(where).options(selectinload(Business.user))).all()
    declared = set(db.session.execute(
        select(ConflictOfInterest.user_id, ConflictOfInterest.business_id)
        .where(ConflictOfInterest.user_id.in_([user.id for user in staff]))).all())
    found = [Suggestion(user, business, matches)
             for user in staff for business in businesses
             if (user.id, business.id) not in declared and (matches := _matches(user, business))]
    return sorted(found, key=lambda s: (s.business.name, s.user.name, s.business.id, s.user.id))


def _businesses_of_sessions_of(user: User):
    sessions = select(ThemedSession.id)
    if user.role is not Role.ADMIN:
        sessions = sessions.join(session_members, session_members.c.session_id == ThemedSession.id) \
            .where(session_members.c.user_id == user.id)
    return or_(
        exists().where(Proposal.business_id == Business.id, Proposal.session_id.in_(sessions)),
        exists().where(Invitation.business_id == Business.id, Invitation.session_id.in_(sessions)))


def left_out_ratings(themed_session: ThemedSession) -> dict[int, int]:
    """Per proposal id: how many planners' ratings the aggregate leaves out for a conflict (one query)."""
    rows = db.session.execute(
        select(Rating.proposal_id, func.count(func.distinct(Rating.planner_id)))
        .join(Proposal, Proposal.id == Rating.proposal_id)
        .where(Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED,
               conflicted_rating())
        .group_by(Rating.proposal_id))
    return {proposal_id: count for proposal_id, count in rows}


@dataclass(frozen=True)
class StaffView:
    """What a staff member's page about a business says on conflicts: their declaration, or a suggestion."""

    conflict: ConflictOfInterest | None
    suggestion: Suggestion | None


def staff_view(user: User, business: Business) -> StaffView:
    """The user's active declaration about `business`, else the suggestion of one (staff only)."""
    if not (getattr(user, "is_authenticated", False) and user.role.is_staff):
        return StaffView(None, None)
    conflict = active_conflict(user, business)
    suggestion = None
    if conflict is None:
        declared = db.session.scalar(select(exists().where(ConflictOfInterest.user_id == user.id,
                                                           ConflictOfInterest.business_id == business.id)))
        matches = () if declared else _matches(user, business)
        suggestion = Suggestion(user, business, matches) if matches else None
    return StaffView(conflict, suggestion)
