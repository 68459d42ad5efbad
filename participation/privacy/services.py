"""Account erasure and IP retention. Services flush, never commit; the caller owns the transaction.

Erasing an owner's account (`erase_account`), in one transaction:

- drafts are deleted with their files;
- submitted proposals of sessions not finalised (open or under review) are withdrawn, noted
  "account deleted", and lose their attachment: the planners expect a person who left to leave
  the running session too;
- proposals of finalised (or archived) sessions stay as the public record under the business
  name, attachment included (the record the decision was taken on); the ranking snapshot keeps
  every figure;
- the account's name becomes a pseudonym ("Akun terhapus #<id>"), the email an unusable
  address, the password unusable, the account inactive, every session ended: nobody signs in;
- the business keeps its name, KBLI, scale and place, loses its contact person, phone and
  address, and its NIB unless another account's business has the same NIB; it no longer belongs
  to the account. Businesses without an account that a facilitator registered for the same
  person (same NIB, with their name or phone: paper forms, walk-ins) lose the same fields;
- every exact occurrence of the person's name, email, phone (in any common spelling), address
  and erased NIB is replaced in proposal texts, status notes, decision reasons, audit payloads
  and ranking snapshots' texts; their own audit entries lose their IP addresses; their
  sign-in throttle counts, jobs and notifications (email and in-app) are deleted;
- an `AccountErasure` row and the `account.erased` event (counts only) record that it happened.

Audit rows and snapshots are append-only in the database; migration 0012 lets exactly these
rewrites through while the erasure row is open (see models/privacy.py).
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select

from participation import limits
from participation.events import Actor, record
from participation.extensions import db
from participation.models import (
    AccountErasure,
    ApiToken,
    AuditEvent,
    Business,
    Decision,
    IdentityChange,
    IdentityChangeStatus,
    Job,
    Notification,
    Proposal,
    ProposalStatus,
    ProposalStatusChange,
    RankingSnapshot,
    RateLimitHit,
    SeparateRegistration,
    SeparateRegistrationStatus,
    User,
    utcnow,
)

ERASED = "[dihapus]"
# What a withdrawal by erasure notes in the proposal's history (staff read it on the proposal page).
WITHDRAWN_NOTE = _l("Account deleted")
# Shorter strings are not searched for: replacing them would mangle unrelated text.
MIN_SECRET_LENGTH = 4


class ErasureRefused(Exception):
    """The account cannot be erased here; `code` says why ("staff": an admin deactivates staff)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def pseudonym(user: User) -> str:
    """The name an erased account (and its business's contact person) goes by."""
    return f"Akun terhapus #{user.id}"


def erased_email(user: User) -> str:
    """A unique address that can never receive mail (.invalid, RFC 2606) nor be typed at sign-in."""
    return f"akun-terhapus-{user.id}@terhapus.invalid"


def is_erased(user: User) -> bool:
    """Whether the account was erased."""
    return db.session.scalar(select(sa.exists().where(AccountErasure.user_id == user.id)))


# ---------------------------------------------------------------------------------------------
# Finding and replacing a person's data in text


def _phone_digits(phone: str | None) -> str | None:
    """The national significant number of a stored +62… phone: "+6281234567890" -> "81234567890"."""
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("62"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = digits[1:]
    return digits if len(digits) >= 7 else None


@dataclass
class Scrubber:
    """Replaces a person's strings in text and in JSON values; `needles` find candidate rows."""

    patterns: list[tuple[re.Pattern, str]] = field(default_factory=list)
    needles: set[str] = field(default_factory=set)
    # Text kept as it is even where it holds a pattern: the business name, the public record.
    protected: re.Pattern | None = None

    def protect(self, values) -> None:
        """Leave every occurrence of `values` untouched (case-insensitive)."""
        words = sorted({value.strip() for value in values if value and value.strip()}, key=len, reverse=True)
        if words:
            self.protected = re.compile("(" + "|".join(re.escape(word) for word in words) + ")", re.IGNORECASE)

    def add(self, value: str | None, replacement: str, *, keep: frozenset = frozenset()) -> None:
        """Replace `value` (case-insensitive, any run of spaces) unless it is short or in `keep`."""
        value = (value or "").strip()
        if len(value) < MIN_SECRET_LENGTH or value.casefold() in keep:
            return
        words = [re.escape(word) for word in value.split()]
        self.patterns.append((re.compile(r"\s+".join(words), re.IGNORECASE), replacement))
        self._needle(value)

    def add_phone(self, phone: str | None) -> None:
        """A phone number in any spelling: +62 812-3456-7890, 0812 3456 7890, (0812) 34567890..."""
        digits = _phone_digits(phone)
        if digits is None:
            return
        separators = r"[\s().\-]*"
        body = separators.join(digits)
        pattern = re.compile(rf"(?<!\d)\(?(?:\+?62|0)?{separators}{body}(?!\d)")
        self.patterns.append((pattern, ERASED))
        self.needles.add(digits)  # as stored (+62…) or typed without separators

    def add_number(self, number: str | None) -> None:
        """A whole number (an NIB) that is not part of a longer one."""
        if number and len(number) >= MIN_SECRET_LENGTH:
            self.patterns.append((re.compile(rf"(?<!\d){re.escape(number)}(?!\d)"), ERASED))
            self.needles.add(number)

    def _needle(self, value: str) -> None:
        lowered = value.lower()
        self.needles.add(lowered)
        # JSON stores non-ASCII characters as \u escapes.
        self.needles.add(json.dumps(lowered)[1:-1])
        self.needles.add(json.dumps(value)[1:-1].lower())

    def text(self, value):
        """`value` with every pattern replaced (non-strings unchanged)."""
        if not isinstance(value, str) or not value:
            return value
        if self.protected is not None:
            # split() with a group keeps the protected matches at the odd positions.
            parts = self.protected.split(value)
            return "".join(part if index % 2 else self._replace(part) for index, part in enumerate(parts))
        return self._replace(value)

    def _replace(self, value: str) -> str:
        for pattern, replacement in self.patterns:
            value = pattern.sub(replacement, value)
        return value

    def json(self, value):
        """A JSON value (dicts, lists, strings) with every string scrubbed, keys included."""
        if isinstance(value, dict):
            return {self.text(key): self.json(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.json(item) for item in value]
        return self.text(value)

    def matches(self, column):
        """SQL: the column's text holds one of the needles (a cheap filter before `json`)."""
        text = func.lower(sa.cast(column, sa.Text))
        return or_(*(text.contains(needle, autoescape=True) for needle in sorted(self.needles)))


# ---------------------------------------------------------------------------------------------
# Erasure


def other_owner_has_nib(nib: str, user: User) -> bool:
    """Whether a business of another account has this NIB: then the NIB is not this person's alone."""
    if not nib:
        return False
    return db.session.scalar(select(sa.exists().where(
        Business.nib == nib, Business.user_id.is_not(None), Business.user_id != user.id)))


def same_person_businesses(business: Business, user: User) -> list[Business]:
    """Businesses without an account that staff registered for this person: same NIB, and their
    name or phone (a paper form, a walk-in at the door, an import row)."""
    if not business.nib:
        return []
    names = {value.casefold() for value in (user.name, business.owner_name) if value}
    candidates = db.session.scalars(select(Business).where(
        Business.nib == business.nib, Business.user_id.is_(None), Business.id != business.id))
    return [other for other in candidates
            if (other.owner_name or "").casefold() in names
            or (business.phone and other.phone == business.phone)]


def _scrubber(user: User, businesses: list[Business], erase_nib: bool) -> Scrubber:
    """What to look for: the person's name, email, phones, addresses and (when erased) NIBs.

    The business's name is left alone, also where it holds one of these (a sole proprietor's
    business named after them): it stays the public record of its finalised proposals.
    """
    keep = frozenset(business.name.casefold() for business in businesses)
    scrubber = Scrubber()
    scrubber.protect(business.name for business in businesses)
    for name in {user.name, *(business.owner_name for business in businesses)}:
        scrubber.add(name, pseudonym(user), keep=keep)
    scrubber.add(user.email, ERASED, keep=keep)
    for business in businesses:
        scrubber.add_phone(business.phone)
        scrubber.add(business.address, ERASED, keep=keep)
        if erase_nib:
            scrubber.add_number(business.nib)
    return scrubber


def erase_account(user: User, actor: Actor) -> AccountErasure:
    """Erase a business owner's personal data as the module docstring says; returns the record.

    Raises ErasureRefused("staff") for a staff account (an admin deactivates those: their acts
    stay attributed) and ErasureRefused("erased") for one already erased.
    """
    if user.role.is_staff:
        raise ErasureRefused("staff")
    if is_erased(user):
        raise ErasureRefused("erased")
    erasure = AccountErasure(user_id=user.id, requested_at=utcnow())
    db.session.add(erasure)
    db.session.flush()  # from here on, the database lets this transaction rewrite audit payloads

    business = user.business
    businesses = [business] + same_person_businesses(business, user) if business is not None else []
    nibs = {b.nib for b in businesses if b.nib}
    erase_nib = not any(other_owner_has_nib(nib, user) for nib in nibs)
    scrubber = _scrubber(user, businesses, erase_nib)
    old_email = user.email
    counts: Counter = Counter()

    session_ids = set()
    if business is not None:
        session_ids |= _settle_proposals(business, user, actor, scrubber, counts)
    for other in businesses[1:]:
        session_ids |= _scrub_proposals(other, scrubber)
    for other in businesses:
        _erase_business(other, user, erase_nib, scrubber)
        counts["businesses"] += 1
    if business is not None:
        business.user = None

    _erase_user(user)
    counts["audit_events"] = _scrub_audit(user, businesses, scrubber, erasure.requested_at)
    counts["snapshots"] = _scrub_snapshots(session_ids, scrubber)
    counts["rate_limit_hits"] = _delete_throttle_counts(old_email)
    counts["jobs"] = db.session.execute(delete(Job).where(Job.user_id == user.id)).rowcount or 0
    # Their names were typed by the owner; none works after this (the account is inactive).
    counts["api_tokens"] = db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id)).rowcount or 0
    # Their messages say their proposals' titles; none is sent after this (the account is inactive).
    counts["notifications"] = db.session.execute(
        delete(Notification).where(Notification.user_id == user.id)).rowcount or 0

    summary = {key: value for key, value in sorted(counts.items())}
    summary["nib_erased"] = erase_nib and bool(nibs)
    erasure.summary = summary
    erasure.completed_at = utcnow()
    db.session.flush()  # closes the exception the triggers made for this transaction
    record("account.erased", actor, user, after=summary)
    return erasure


def _settle_proposals(business: Business, user: User, actor: Actor, scrubber: Scrubber,
                      counts: Counter) -> set[int]:
    """Delete drafts, withdraw live proposals of running sessions, keep finalised ones; scrub texts."""
    from participation.proposals.services import delete_draft

    session_ids = set()
    proposals = db.session.scalars(select(Proposal).where(Proposal.business_id == business.id)
                                   .order_by(Proposal.id)).all()
    for proposal in proposals:
        if proposal.status is ProposalStatus.DRAFT:
            delete_draft(proposal, actor)  # the attachment goes with it (delete-orphan)
            counts["drafts_deleted"] += 1
            continue
        session_ids.add(proposal.session_id)
        if proposal.themed_session.is_published:
            counts["kept_as_record"] += 1
        else:
            if proposal.status is ProposalStatus.SUBMITTED:
                _withdraw(proposal, actor)
                counts["withdrawn"] += 1
            if proposal.attachment_id is not None:
                _drop_attachment(proposal)
                counts["attachments_deleted"] += 1
        _scrub_proposal(proposal, scrubber)
    db.session.flush()
    return session_ids


def _withdraw(proposal: Proposal, actor: Actor) -> None:
    """Withdraw a submitted proposal whatever the window says: its owner is leaving."""
    proposal.history.append(ProposalStatusChange(from_status=ProposalStatus.SUBMITTED,
                                                 to_status=ProposalStatus.WITHDRAWN, actor_id=actor.user_id,
                                                 note=str(WITHDRAWN_NOTE)))
    proposal.status = ProposalStatus.WITHDRAWN
    record("proposal.withdrawn", actor, proposal, before={"status": "submitted"},
           after={"status": "withdrawn", "reason": "account_erased"})


def _drop_attachment(proposal: Proposal) -> None:
    proposal.attachment_file = None  # delete-orphan: the stored file row goes in this transaction
    proposal.attachment_name = proposal.attachment_type = proposal.attachment_size = None


def _scrub_proposals(business: Business, scrubber: Scrubber) -> set[int]:
    proposals = db.session.scalars(select(Proposal).where(Proposal.business_id == business.id)).all()
    for proposal in proposals:
        _scrub_proposal(proposal, scrubber)
    return {proposal.session_id for proposal in proposals}


def _scrub_proposal(proposal: Proposal, scrubber: Scrubber) -> None:
    """The person's strings out of the proposal's own texts, its history notes and its decision."""
    for name in ("title", "problem", "description", "satuan", "kelurahan", "kecamatan", "attachment_name"):
        value = getattr(proposal, name)
        scrubbed = scrubber.text(value)
        if scrubbed != value:
            limit = {"title": 200, "attachment_name": 200, "satuan": 50}.get(name)
            setattr(proposal, name, scrubbed[:limit] if limit else scrubbed)
    for change in proposal.history:
        change.note = scrubber.text(change.note)[:300]
    decision = db.session.scalar(select(Decision).where(Decision.proposal_id == proposal.id))
    if decision is not None:
        decision.reason = scrubber.text(decision.reason)[:1000]


def _erase_business(business: Business, user: User, erase_nib: bool, scrubber: Scrubber) -> None:
    business.owner_name = pseudonym(user)
    business.phone = None
    business.address = ""
    old_nib = business.nib
    if erase_nib:
        business.nib = ""
    for change in db.session.scalars(select(IdentityChange).where(IdentityChange.business_id == business.id)):
        if change.is_pending:
            change.status = IdentityChangeStatus.WITHDRAWN
        if erase_nib:
            for name in ("old_nib", "nib"):
                if getattr(change, name) == old_nib or not other_owner_has_nib(getattr(change, name), user):
                    setattr(change, name, "")
        change.old_name = scrubber.text(change.old_name)[:200]
        change.name = scrubber.text(change.name)[:200]
    # A door registration waiting to be compared with this business has nothing left to compare.
    db.session.execute(delete(SeparateRegistration).where(
        SeparateRegistration.status == SeparateRegistrationStatus.PENDING,
        or_(SeparateRegistration.business_id == business.id, SeparateRegistration.account_business_id == business.id)))


def _erase_user(user: User) -> None:
    user.name = pseudonym(user)
    user.email = erased_email(user)
    user.password_hash = "!erased"  # not an argon2 hash: no password ever matches it
    user.active = False
    user.locale = None
    user.last_login_at = None
    user.end_all_sessions()
    db.session.flush()


def _scrub_audit(user: User, businesses: list[Business], scrubber: Scrubber, until: datetime) -> int:
    """Rewrite audit payloads that hold the person's strings; drop the IPs of their own entries
    from before the erasure (the erasure's own events keep theirs, for the usual retention)."""
    table = AuditEvent.__table__
    own = or_(table.c.actor_id == user.id,
              sa.and_(table.c.object_type == "User", table.c.object_id == str(user.id)))
    db.session.execute(table.update().where(own, table.c.ip.is_not(None), table.c.created_at < until)
                       .values(ip=None))
    if not scrubber.needles:
        return 0
    about = [sa.and_(table.c.object_type == "Business", table.c.object_id.in_([str(b.id) for b in businesses]))]
    rows = db.session.execute(
        select(table.c.id, table.c.before, table.c.after)
        .where(or_(scrubber.matches(table.c.before), scrubber.matches(table.c.after), *about))
        .order_by(table.c.id)
    ).all()
    changed = 0
    for event_id, before, after in rows:
        new_before, new_after = scrubber.json(before), scrubber.json(after)
        if new_before != before or new_after != after:
            db.session.execute(table.update().where(table.c.id == event_id)
                               .values(before=new_before, after=new_after))
            changed += 1
    return changed


def _scrub_snapshots(session_ids: set[int], scrubber: Scrubber) -> int:
    """Texts of the sessions' ranking snapshots, without the person's strings; every figure kept."""
    if not session_ids or not scrubber.needles:
        return 0
    table = RankingSnapshot.__table__
    changed = 0
    for snapshot_id, payload in db.session.execute(
            select(table.c.id, table.c.payload).where(table.c.session_id.in_(session_ids))
            .order_by(table.c.id)).all():
        scrubbed = scrubber.json(payload)
        if scrubbed != payload:
            db.session.execute(table.update().where(table.c.id == snapshot_id).values(payload=scrubbed))
            changed += 1
    return changed


def _delete_throttle_counts(email: str) -> int:
    from participation.auth.throttle import account_key

    return db.session.execute(delete(RateLimitHit).where(RateLimitHit.key == account_key(email))).rowcount or 0


# ---------------------------------------------------------------------------------------------
# IP retention


def ip_retention() -> timedelta:
    """How long IP addresses are kept (AUDIT_IP_RETENTION_DAYS)."""
    return timedelta(days=current_app.config["AUDIT_IP_RETENTION_DAYS"])


def prune_ip_addresses(actor: Actor, *, now: datetime | None = None, days: int | None = None) -> dict:
    """Drop IP addresses older than the retention from the audit log and jobs; delete spent throttle
    counts. Returns how many rows changed; audited as `audit.ips_pruned` when any did."""
    now = now or utcnow()
    cutoff = now - (ip_retention() if days is None else timedelta(days=days))
    audit = AuditEvent.__table__
    jobs = Job.__table__
    result = {
        "audit_events": db.session.execute(
            audit.update().where(audit.c.created_at < cutoff, audit.c.ip.is_not(None)).values(ip=None)
        ).rowcount or 0,
        "jobs": db.session.execute(
            jobs.update().where(jobs.c.created_at < cutoff, jobs.c.ip.is_not(None)).values(ip=None)
        ).rowcount or 0,
    }
    hits = db.session.scalar(select(func.count(RateLimitHit.id)))
    limits.prune(now)
    result["rate_limit_hits"] = hits - db.session.scalar(select(func.count(RateLimitHit.id)))
    if any(result.values()):
        record("audit.ips_pruned", actor, after={**result, "before": cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return result
