"""Proposals: drafts, submission with receipt numbers, edits, withdrawal, duplicates."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from participation import limits
from participation.database import lock_for_update
from participation.events import Actor, record
from participation.extensions import db
from participation.models import (
    RECEIPT_PREFIX,
    Business,
    Proposal,
    ProposalSource,
    ProposalStatus,
    ProposalStatusChange,
    ReceiptCounter,
    ThemedSession,
    utcnow,
)

PROPOSAL_FIELDS = ("title", "problem", "description", "category_id", "estimated_cost", "beneficiaries",
                   "jobs_created", "volume", "satuan", "kelurahan", "kecamatan", "kelurahan_code")
# What a submitted proposal must have; a draft needs only a title.
REQUIRED_FOR_SUBMISSION = ("title", "category_id", "problem", "description", "estimated_cost",
                           "beneficiaries", "jobs_created", "kelurahan", "kecamatan")  # in the form's order
# Whole-number columns are NULL while a draft leaves them unset (its page shows "–"); submitting
# with one unset is refused as incomplete (0 beneficiaries typed in is a real answer). Drafts
# saved before migration 0019 may hold a 0 that stood for "not given": it stays a 0.
NUMBER_FIELDS = ("estimated_cost", "beneficiaries", "jobs_created")
SIMILAR_TITLE = 0.8


class ProposalError(Exception):
    """A rule refused the operation; `code` says which, for the route's message."""

    def __init__(self, code: str, **details):
        super().__init__(code)
        self.code = code
        self.details = details


def next_receipt_number(fiscal_year: int) -> str:
    """Allocate the next receipt number for the year, e.g. MT-2027-0042.

    One atomic upsert on a counter row inside the caller's transaction: concurrent submitters
    queue on the row lock (PostgreSQL) or the write lock (SQLite, BEGIN IMMEDIATE), and a
    transaction that rolls back takes its number with it, so numbers never repeat or skip.
    """
    return receipt_numbers(fiscal_year, 1)[0]


def receipt_numbers(fiscal_year: int, count: int) -> list[str]:
    """`count` consecutive receipt numbers from one such upsert (an import takes them all at once)."""
    scope, first = receipt_range(fiscal_year, count)
    return [receipt_number(scope, value) for value in range(first, first + count)]


def receipt_number(scope: str, value: int) -> str:
    """The receipt number `value` of a counter's scope: MT-2027 and 42 make MT-2027-0042."""
    return f"{scope}-{value:04d}"


def receipt_range(fiscal_year: int, count: int) -> tuple[str, int]:
    """Take `count` consecutive numbers from the year's counter in one upsert: its scope and the first."""
    scope = f"{RECEIPT_PREFIX}-{fiscal_year}"
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(ReceiptCounter)
        .values(scope=scope, last_value=count)
        .on_conflict_do_update(index_elements=["scope"], set_={"last_value": ReceiptCounter.last_value + count})
        .returning(ReceiptCounter.last_value)
    )
    last = db.session.execute(statement).scalar_one()
    return scope, last - count + 1


def missing_for_submission(proposal: Proposal) -> list[str]:
    """The fields a proposal still lacks before it can be submitted."""
    missing = []
    for field in REQUIRED_FOR_SUBMISSION:
        value = getattr(proposal, field)
        if value is None or (isinstance(value, str) and not value.strip()):
            missing.append(field)
    if proposal.estimated_cost is not None and proposal.estimated_cost <= 0:
        missing.append("estimated_cost")
    return sorted(set(missing), key=REQUIRED_FOR_SUBMISSION.index)


def check_quantity(data: dict) -> None:
    """A volume, when given, is above zero (the column has no CHECK; see Proposal.volume)."""
    volume = data.get("volume")
    if volume is not None and not volume > 0:
        raise ProposalError("volume")


def draft_limit() -> int:
    """How many drafts one business may keep in one session (MAX_DRAFTS_PER_BUSINESS)."""
    return current_app.config["MAX_DRAFTS_PER_BUSINESS"]


def draft_count(themed_session: ThemedSession, business: Business) -> int:
    """How many drafts the business keeps in the session."""
    return db.session.scalar(
        select(func.count(Proposal.id)).where(
            Proposal.session_id == themed_session.id, Proposal.business_id == business.id,
            Proposal.status == ProposalStatus.DRAFT,
        )
    )


def may_add_draft(themed_session: ThemedSession, business: Business) -> bool:
    """Whether the business is still under the session's draft limit."""
    return draft_count(themed_session, business) < draft_limit()


def check_draft_limit(themed_session: ThemedSession, business: Business) -> None:
    """Refuse an owner's new draft beyond MAX_DRAFTS_PER_BUSINESS (one submitted at once is no draft)."""
    _lock_business(business.id)  # two drafts saved at once cannot both take the last place
    limit = draft_limit()
    if draft_count(themed_session, business) >= limit:
        raise ProposalError("draft_limit", limit=limit)


def submitted_count(themed_session: ThemedSession, business: Business) -> int:
    """How many live (submitted) proposals the business has in the session."""
    return db.session.scalar(
        select(func.count(Proposal.id)).where(
            Proposal.session_id == themed_session.id, Proposal.business_id == business.id,
            Proposal.status == ProposalStatus.SUBMITTED,
        )
    )


@dataclass(frozen=True)
class Quota:
    """How much of a session's per-business limit a business has used, said before it writes.

    `used` counts submitted proposals (the limit is on those: a withdrawn one frees its place, a
    draft takes none until it is submitted); drafts have their own limit, MAX_DRAFTS_PER_BUSINESS.
    """

    used: int
    limit: int
    drafts: int
    draft_limit: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def is_full(self) -> bool:
        """No further proposal can be submitted until one is withdrawn."""
        return self.used >= self.limit

    @property
    def drafts_full(self) -> bool:
        """No further draft can be saved (submitting at once still can, unless `is_full`)."""
        return self.drafts >= self.draft_limit


def quota_of(themed_session: ThemedSession, business: Business) -> Quota:
    """The business's use of the session's proposal and draft limits, as it stands now."""
    return Quota(used=submitted_count(themed_session, business),
                 limit=themed_session.max_proposals_per_business,
                 drafts=draft_count(themed_session, business), draft_limit=draft_limit())


def find_by_idempotency_key(key: str | None) -> Proposal | None:
    """The proposal an earlier identical request created, if any."""
    if not key:
        return None
    return db.session.scalar(select(Proposal).where(Proposal.idempotency_key == key))


def check_owner_may_change(proposal: Proposal) -> None:
    """Refuse an owner's edit, submission or withdrawal that the model does not allow now.

    Asked when the change is made, not only when its form was opened: the window may have
    closed or the session become invitation-only in between.
    """
    refusal = proposal.owner_change_refusal()
    if refusal is not None:
        raise ProposalError(refusal)


def check_verified(actor: Actor) -> None:
    """An owner submits only once their email address is confirmed (drafts need no confirmation);
    staff entering a paper form, imports and scripts are not owners and are not asked."""
    if actor.user is not None and actor.user.needs_email_verification:
        raise ProposalError("unverified")


def limit_owner(actor: Actor) -> None:
    """Count a new or submitted proposal against the abuse limits (DESIGN §8), or raise RateLimited.

    SUBMISSION_LIMIT per account and SUBMISSION_IP_LIMIT per client IP within SUBMISSION_WINDOW,
    for the web and the API; the count is part of the caller's transaction.
    """
    if not limits.applies_to(actor):
        return
    checks = [(limits.SUBMISSIONS, str(actor.user_id))] if actor.user_id else []
    checks += [(limits.SUBMISSIONS_IP, actor.ip)] if actor.ip else []
    limits.enforce(checks, ip=actor.ip)


def create_proposal(themed_session: ThemedSession, business: Business, data: dict, actor: Actor, *,
                    submit: bool, idempotency_key: str | None = None, attachment: dict | None = None,
                    check_window: bool = True) -> Proposal:
    """An owner's new proposal, saved as a draft or submitted at once; audited on the proposal."""
    if check_window and not themed_session.accepts_submissions:
        raise ProposalError("closed")
    if not themed_session.admits(business):
        raise ProposalError("not_invited")
    limit_owner(actor)
    if not submit:
        check_draft_limit(themed_session, business)
    proposal = new_proposal(themed_session, business, data, actor, submit=submit, idempotency_key=idempotency_key,
                            attachment=attachment, check_window=check_window)
    record("proposal.submitted" if submit else "proposal.draft_saved", actor, proposal,
           after={"receipt_number": proposal.receipt_number, "title": proposal.title})
    return proposal


def new_proposal(themed_session: ThemedSession, business: Business, data: dict, actor: Actor, *,
                 submit: bool, source: ProposalSource = ProposalSource.ONLINE,
                 idempotency_key: str | None = None, paper_form_number: str | None = None,
                 attachment: dict | None = None, check_window: bool = True) -> Proposal:
    """A new proposal, as a draft or submitted, for an operation that records its own event
    (an owner's submission, a paper form, an import)."""
    check_quantity(data)
    proposal = Proposal(themed_session=themed_session, business=business, submitted_by=actor.user,
                        source=source, idempotency_key=idempotency_key,
                        paper_form_number=paper_form_number,
                        **{key: data.get(key) for key in PROPOSAL_FIELDS if data.get(key) is not None},
                        **(attachment or {}))
    _fill_location(proposal, business)
    db.session.add(proposal)
    _record(proposal, None, ProposalStatus.DRAFT, actor)
    db.session.flush()
    if submit:
        _submit(proposal, actor, check_window=check_window)
    flag_near_duplicate(proposal)
    return proposal


def edit_proposal(proposal: Proposal, data: dict, actor: Actor, *, submit: bool = False,
                  attachment: dict | None = None) -> dict:
    """An owner's edits, optionally submitting the draft with them; returns {field: (before, after)}.

    One operation, one event: `proposal.submitted` when the draft goes in with the edits,
    `proposal.updated` otherwise.
    """
    check_owner_may_change(proposal)
    if submit and proposal.status is ProposalStatus.DRAFT:
        limit_owner(actor)
    changes = _apply_edits(proposal, data)
    for column, value in (attachment or {}).items():
        setattr(proposal, column, value)
    submit = submit and proposal.status is ProposalStatus.DRAFT
    if submit:
        _submit(proposal, actor)
    record("proposal.submitted" if submit else "proposal.updated", actor, proposal,
           before={k: str(v[0]) for k, v in changes.items()} or None,
           after={**{k: str(v[1]) for k, v in changes.items()},
                  **({"receipt_number": proposal.receipt_number} if submit else {})} or None)
    return changes


def _apply_edits(proposal: Proposal, data: dict) -> dict:
    """Apply edits; returns {field: (before, after)}. A submitted proposal stays complete.

    A number left empty is unset (NULL), as in a new draft (see NUMBER_FIELDS).
    """
    check_quantity(data)
    changes = {}
    for key in PROPOSAL_FIELDS:
        if key in data and getattr(proposal, key) != data[key]:
            changes[key] = (getattr(proposal, key), data[key])
            setattr(proposal, key, data[key])
    if proposal.status is ProposalStatus.SUBMITTED:
        missing = missing_for_submission(proposal)
        if missing:
            raise ProposalError("incomplete", fields=missing)
    if "title" in changes:
        flag_near_duplicate(proposal)
    return changes


def submit_proposal(proposal: Proposal, actor: Actor, *, check_window: bool = True) -> Proposal:
    """Submit a draft as it stands; audited as `proposal.submitted`."""
    if check_window:  # the owner's button; staff channels submit through new_proposal
        check_owner_may_change(proposal)
    limit_owner(actor)
    _submit(proposal, actor, check_window=check_window)
    record("proposal.submitted", actor, proposal, after={"receipt_number": proposal.receipt_number})
    return proposal


def _lock_business(business_id: int) -> None:
    """Serialise the counted writes of one business (its limits hold under concurrency)."""
    db.session.scalars(lock_for_update(select(Business).where(Business.id == business_id))).one()


def _submit(proposal: Proposal, actor: Actor, *, check_window: bool = True) -> Proposal:
    """Submit a draft: check completeness and the per-business limit, then give it a receipt."""
    themed_session = proposal.themed_session
    if check_window and not themed_session.accepts_submissions:
        raise ProposalError("closed")
    if proposal.status is not ProposalStatus.DRAFT:
        raise ProposalError("not_draft")
    check_verified(actor)
    missing = missing_for_submission(proposal)
    if missing:
        raise ProposalError("incomplete", fields=missing)
    # Serialise submissions of one business so that the limit holds under concurrency.
    _lock_business(proposal.business_id)
    limit = themed_session.max_proposals_per_business
    if submitted_count(themed_session, proposal.business) >= limit:
        raise ProposalError("limit", limit=limit)
    proposal.receipt_number = next_receipt_number(themed_session.fiscal_year)
    proposal.submitted_at = utcnow()
    _record(proposal, proposal.status, ProposalStatus.SUBMITTED, actor)
    proposal.status = ProposalStatus.SUBMITTED
    db.session.flush()
    return proposal


def withdraw_proposal(proposal: Proposal, actor: Actor, note: str = "") -> Proposal:
    """Withdraw a submitted proposal; its receipt number stays with it."""
    if proposal.status is not ProposalStatus.SUBMITTED:
        raise ProposalError("not_submitted")
    check_owner_may_change(proposal)
    _record(proposal, proposal.status, ProposalStatus.WITHDRAWN, actor, note)
    proposal.status = ProposalStatus.WITHDRAWN
    record("proposal.withdrawn", actor, proposal, before={"status": "submitted"}, after={"status": "withdrawn"})
    return proposal


def resubmit_proposal(proposal: Proposal, actor: Actor) -> Proposal:
    """Submit a withdrawn proposal again, with the receipt number it was given; audited as
    `proposal.resubmitted`.

    The number stays: it is the one the owner was given and may have printed, and it names the
    same proposal in the history and the audit trail; a new number would leave the old one
    pointing at nothing and make the one proposal look like two. The submission time becomes
    the new one, which the receipt prints. The window, the roster, the abuse limits, the
    per-business limit (a withdrawal freed a place that another proposal may have taken since)
    and completeness are checked as for a first submission.
    """
    refusal = proposal.resubmit_refusal()
    if refusal is not None:
        raise ProposalError(refusal)
    check_verified(actor)
    limit_owner(actor)
    missing = missing_for_submission(proposal)
    if missing:
        raise ProposalError("incomplete", fields=missing)
    themed_session = proposal.themed_session
    _lock_business(proposal.business_id)
    limit = themed_session.max_proposals_per_business
    if submitted_count(themed_session, proposal.business) >= limit:
        raise ProposalError("limit", limit=limit)
    withdrawn_at = proposal.submitted_at
    proposal.submitted_at = utcnow()
    _record(proposal, proposal.status, ProposalStatus.SUBMITTED, actor)
    proposal.status = ProposalStatus.SUBMITTED
    flag_near_duplicate(proposal)
    db.session.flush()
    record("proposal.resubmitted", actor, proposal,
           before={"status": ProposalStatus.WITHDRAWN.value,
                   "submitted_at": withdrawn_at.isoformat() if withdrawn_at else None},
           after={"status": ProposalStatus.SUBMITTED.value, "receipt_number": proposal.receipt_number,
                  "submitted_at": proposal.submitted_at.isoformat()})
    return proposal


def delete_draft(proposal: Proposal, actor: Actor) -> None:
    """Drop a draft that was never submitted (its id is never handed out again).

    Allowed whatever the window or the roster says: a draft was never part of the session, and
    an owner whose business is no longer invited may still clear it away.
    """
    if proposal.status is not ProposalStatus.DRAFT:
        raise ProposalError("not_draft")
    record("proposal.draft_deleted", actor, object_type="Proposal", object_id=proposal.id)
    db.session.delete(proposal)


def _record(proposal: Proposal, before, after, actor: Actor, note: str = "") -> None:
    proposal.history.append(ProposalStatusChange(from_status=before, to_status=after,
                                                 actor_id=actor.user_id, note=note))


def _fill_location(proposal: Proposal, business: Business) -> None:
    """A proposal's location defaults to the business's own (with its code, in the same kecamatan)."""
    if not proposal.kelurahan:
        proposal.kelurahan = business.kelurahan
        if not proposal.kecamatan or proposal.kecamatan == business.kecamatan:
            proposal.kelurahan_code = business.kelurahan_code
    if not proposal.kecamatan:
        proposal.kecamatan = business.kecamatan


def title_key(title: str) -> str:
    """A title reduced for comparison: lower-case ASCII words."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return " ".join(re.findall(r"[a-z0-9]+", text))


def titles_similar(a: str, b: str) -> bool:
    """Whether two titles say nearly the same thing (same words, or ≥ 80 % alike)."""
    key_a, key_b = title_key(a), title_key(b)
    if not key_a or not key_b:
        return False
    if set(key_a.split()) == set(key_b.split()):
        return True
    return SequenceMatcher(None, key_a, key_b).ratio() >= SIMILAR_TITLE


def flag_near_duplicate(proposal: Proposal) -> Proposal | None:
    """Point `proposal` at an earlier live proposal of the same business with a similar title."""
    others = db.session.scalars(
        select(Proposal).where(
            Proposal.session_id == proposal.session_id, Proposal.business_id == proposal.business_id,
            Proposal.id != proposal.id, Proposal.status != ProposalStatus.WITHDRAWN,
        ).order_by(Proposal.id)
    )
    match = next((other for other in others
                  if other.id < proposal.id and titles_similar(other.title, proposal.title)), None)
    proposal.near_duplicate_of = match
    return match


def proposals_of(business: Business) -> list[Proposal]:
    """A business's proposals across sessions, newest first, with their history."""
    from sqlalchemy.orm import selectinload

    return list(db.session.scalars(
        select(Proposal).where(Proposal.business_id == business.id)
        .options(selectinload(Proposal.history), selectinload(Proposal.themed_session),
                 selectinload(Proposal.category))
        .order_by(Proposal.created_at.desc(), Proposal.id.desc())
    ))
