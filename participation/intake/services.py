"""The invitation roster and paper intake."""
from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from participation.database import advisory_lock
from participation.events import Actor, record
from participation.extensions import db
from participation.models import (
    Business,
    Invitation,
    Proposal,
    ProposalSource,
    Scale,
    SeparateRegistration,
    ThemedSession,
    normalize_business_name,
)
from participation.intake import imports
from participation.models.session import PAPER_INTAKE_STATUSES
from participation.intake.imports import ImportResult
from participation.proposals import services as proposal_services
from participation.validation import clean_text

PAPER_STATUSES = PAPER_INTAKE_STATUSES  # asked of the model as ThemedSession.takes_paper_proposals
BUSINESS_LOCK_BASE = 10**15  # advisory-lock keys for "this NIB is being matched or created"


class IntakeError(Exception):
    """A rule refused the operation; `code` says which."""

    def __init__(self, code: str, **details):
        super().__init__(code)
        self.code = code
        self.details = details


def check_roster_open(themed_session: ThemedSession) -> None:
    """Refuse a roster or paper-form change once the session is finalised.

    The minutes print who was invited and who came; they have no versions, so the roster stays
    as it was at finalisation (whose lock on the session row this waits for).
    """
    from participation.review.services import lock_session

    lock_session(themed_session)
    if themed_session.meeting_record_is_frozen:
        raise IntakeError("finalized")


def invite(themed_session: ThemedSession, business_ids, actor: Actor) -> int:
    """Put businesses on the roster; returns how many were new to it."""
    check_roster_open(themed_session)
    new = add_invitations(themed_session, business_ids, actor)
    # The new ones are named: their owners' invitations (notifications) start from this event.
    _audit("roster.invited", themed_session, actor, after={"business_ids": sorted(set(business_ids)),
                                                           "added": len(new), "new_business_ids": new})
    return len(new)


def _audit(event: str, themed_session: ThemedSession, actor: Actor, **kwargs) -> None:
    record(event, actor, themed_session, object_type="ThemedSession", **kwargs)


def add_invitations(themed_session: ThemedSession, business_ids, actor: Actor, *,
                    walk_in: bool = False) -> list[int]:
    """Roster entries for an operation that records its own event; returns the ids of the businesses new to it."""
    wanted = set(business_ids)
    if not wanted:
        return []
    already = set(db.session.scalars(select(Invitation.business_id).where(
        Invitation.session_id == themed_session.id, Invitation.business_id.in_(wanted))))
    existing_businesses = set(db.session.scalars(select(Business.id).where(Business.id.in_(wanted))))
    new = sorted((wanted & existing_businesses) - already)
    for business_id in new:
        db.session.add(Invitation(session_id=themed_session.id, business_id=business_id,
                                  invited_by_id=actor.user_id, walk_in=walk_in))
    db.session.flush()
    return new


def roster(themed_session: ThemedSession, query: str = "", *, walk_ins: bool = True) -> list[Invitation]:
    """Invitations with their businesses, by business name; filtered by name, owner or NIB."""
    statement = (select(Invitation).join(Invitation.business).where(Invitation.session_id == themed_session.id)
                 .options(selectinload(Invitation.business)).order_by(Business.name, Invitation.id))
    if not walk_ins:
        statement = statement.where(Invitation.walk_in.is_(False))
    text = query.strip().lower()
    if text:
        statement = statement.where(func.lower(Business.name).contains(text, autoescape=True)
                                    | func.lower(Business.owner_name).contains(text, autoescape=True)
                                    | Business.nib.startswith(text, autoescape=True))
    return list(db.session.scalars(statement))


def uninvite(invitation: Invitation, actor: Actor) -> None:
    """Take a business off the roster, unless it already attended."""
    check_roster_open(invitation.themed_session)
    if invitation.is_present:
        raise IntakeError("attended")
    _audit("roster.uninvited", invitation.themed_session, actor, before={"business_id": invitation.business_id})
    db.session.delete(invitation)


def import_roster(themed_session: ThemedSession, filename: str, data: bytes, actor: Actor,
                  progress=None, limits: imports.TableLimits | None = None) -> tuple[ImportResult, int]:
    """Read a roster (or business) file and put every business in it on the roster, all or nothing.

    Returns the import's result and how many businesses were new to the roster (0 when refused).
    Refused before the file is read once the session is finalised: nothing is created then.
    """
    check_roster_open(themed_session)
    result = imports.import_roster(filename, data, progress=progress, limits=limits)
    if not result.ok:
        return result, 0
    new = add_invitations(themed_session, result.ids, actor)
    _audit("roster.imported", themed_session, actor,
           after={"rows": result.rows, "created": result.created, "invited": len(new), "new_business_ids": new})
    return result, len(new)


def search_businesses(query: str, limit: int = 20) -> list[Business]:
    """Businesses whose name, owner or NIB matches `query`."""
    try:
        text = clean_text(query) or ""
    except ValueError:  # control characters: nothing can match them
        return []
    if len(text) < 2:
        return []
    lowered = text.lower()
    return list(db.session.scalars(
        select(Business).where(or_(func.lower(Business.name).contains(lowered, autoescape=True),
                                   func.lower(Business.owner_name).contains(lowered, autoescape=True),
                                   Business.nib.startswith(text, autoescape=True)))
        .order_by(Business.name).limit(limit)
    ))


class OwnedBusinessMatch(IntakeError):
    """The only business with this NIB and name has an account: the facilitator must choose."""

    def __init__(self, business: Business):
        super().__init__("owned_match", business_id=business.id)
        self.business = business


# How a paper form's, walk-in's or import row's business was found: the event says which.
MATCHED, CREATED, CONFIRMED_OWNER, SEPARATE = "matched", "created", "confirmed_owner", "separate"


class BusinessMatch(NamedTuple):
    """The business a form was attached to, how it was found, and the account's business it was kept apart from."""

    business: Business
    how: str
    kept_apart_from: int | None = None

    def note(self) -> dict:
        """What an event records about the match (which business, and whether an account was confirmed)."""
        note = {"business_id": self.business.id, "business_match": self.how}
        if self.how == CONFIRMED_OWNER:
            note["confirmed_owner_id"] = self.business.user_id
        if self.kept_apart_from is not None:
            note["kept_apart_from_business_id"] = self.kept_apart_from
        return note


def matching_business(nib: str, name: str) -> Business | None:
    """The stored business with this NIB and normalised name: one without an account first, then the oldest.

    A business without an account is the one staff registered (at the door, on paper or by an
    import); an account with the same NIB and name may be anybody's, so it comes last.
    """
    return db.session.scalar(select(Business).where(
        Business.nib == nib, Business.name_key == normalize_business_name(name)
    ).order_by(Business.user_id.is_not(None), Business.id).limit(1))


def find_or_create_business(data: dict, themed_session: ThemedSession | None = None,
                            actor: Actor | None = None) -> BusinessMatch:
    """Match a paper form's business by NIB plus normalised name, or create it (no account).

    Says how the business was found (MATCHED, CREATED, CONFIRMED_OWNER, SEPARATE). A
    business with an account is used only when `data["owner_match"]` is "attach" and
    `data["owner_business_id"]` names it (the facilitator confirmed, naming the account); with
    "separate" a business without an account is created beside it, and held for staff review
    (a SeparateRegistration in `themed_session`, by `actor`). Otherwise OwnedBusinessMatch.
    """
    # Two facilitators registering the same walk-in at once must not both create it.
    advisory_lock(BUSINESS_LOCK_BASE + int(data["nib"]))  # forms give a 13-digit NIB
    business = matching_business(data["nib"], data["name"])
    how, kept_apart_from = MATCHED, None
    if business is not None and business.has_account:
        choice = data.get("owner_match")
        if choice == "separate":
            business, how, kept_apart_from = None, SEPARATE, business.id
        elif choice == "attach" and data.get("owner_business_id") == business.id:
            how = CONFIRMED_OWNER
        else:
            raise OwnedBusinessMatch(business)
    if business is not None:
        _complete_business(business, data)
        return BusinessMatch(business, how)
    business = Business(nib=data["nib"], owner_name=data["owner_name"], scale=data.get("scale") or Scale.MIKRO,
                        phone=data.get("phone"), kelurahan=data.get("kelurahan") or "",
                        kecamatan=data.get("kecamatan") or "", kelurahan_code=data.get("kelurahan_code"))
    business.set_name(data["name"])
    business.kbli_list = data.get("kbli") or []
    db.session.add(business)
    db.session.flush()
    if kept_apart_from is None:
        return BusinessMatch(business, CREATED)
    db.session.add(SeparateRegistration(
        business_id=business.id, account_business_id=kept_apart_from,
        session_id=themed_session.id if themed_session is not None else None,
        registered_by_id=actor.user_id if actor is not None else None))
    db.session.flush()
    return BusinessMatch(business, SEPARATE, kept_apart_from)


def _complete_business(business: Business, data: dict) -> None:
    """Fill in what a matched business lacks from the form; an owner's own profile keeps its scale."""
    if data.get("kbli"):
        business.kbli_list = set(business.kbli_list) | set(data["kbli"])
    if not business.phone and data.get("phone"):
        business.phone = data["phone"]
    # A check-in at the door records only NIB and names; the paper form completes the rest.
    if not business.kelurahan and data.get("kelurahan"):  # the place moves as one: names and code
        business.kelurahan, business.kecamatan = data["kelurahan"], data.get("kecamatan") or business.kecamatan
        business.kelurahan_code = data.get("kelurahan_code")
    elif not business.kecamatan and data.get("kecamatan"):
        business.kecamatan = data["kecamatan"]
    if not business.has_account and data.get("scale") is not None:
        business.scale = data["scale"]  # no owner keeps this profile: the latest form says


def record_paper_proposal(themed_session: ThemedSession, business_data: dict, proposal_data: dict,
                          form_number: str, actor: Actor) -> Proposal:
    """Save a walk-in's paper proposal: match or create the business, then submit for it."""
    if themed_session.status not in PAPER_STATUSES:
        raise IntakeError("status")
    duplicate = db.session.scalar(select(Proposal).where(
        Proposal.session_id == themed_session.id, Proposal.paper_form_number == form_number))
    if duplicate is not None:
        raise IntakeError("form_number_used", receipt=duplicate.receipt_number)
    match = find_or_create_business(business_data, themed_session, actor)
    business = match.business
    if not themed_session.is_invited(business):
        add_invitations(themed_session, [business.id], actor, walk_in=True)
    proposal = proposal_services.new_proposal(
        themed_session, business, proposal_data, actor, submit=True, source=ProposalSource.PAPER,
        paper_form_number=form_number, check_window=False)
    _audit("proposal.paper_entered", themed_session, actor,
           after={"proposal_id": proposal.id, "receipt_number": proposal.receipt_number,
                  "paper_form_number": proposal.paper_form_number, **match.note()})
    return proposal


def allocate_paper_forms(themed_session: ThemedSession, count: int, actor: Actor) -> list[str]:
    """Reserve the next `count` paper form numbers for printing.

    The counter is raised by one UPDATE ... RETURNING, so the database does the arithmetic under
    the row's lock: two facilitators printing at once get separate ranges. Reading the count and
    writing count + n back would let both read the same value on PostgreSQL.
    """
    check_roster_open(themed_session)
    end = db.session.execute(
        update(ThemedSession).where(ThemedSession.id == themed_session.id)
        .values(paper_forms_printed=ThemedSession.paper_forms_printed + count)
        .returning(ThemedSession.paper_forms_printed)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    set_committed_value(themed_session, "paper_forms_printed", end)
    numbers = [paper_form_number(themed_session, n) for n in range(end - count + 1, end + 1)]
    _audit("paper_forms.printed", themed_session, actor, after={"from": numbers[0], "to": numbers[-1]})
    return numbers


def paper_form_number(themed_session: ThemedSession, n: int) -> str:
    """The number printed on the n-th blank form of a session, e.g. F3-0012."""
    return f"F{themed_session.id}-{n:04d}"
