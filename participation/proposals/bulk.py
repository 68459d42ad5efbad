"""Many submitted proposals at once (an import): the rules of `services._submit`, in set-sized steps.

Submitting one proposal at a time through the ORM costs several queries per row and a flush whose
work grows with every object in the session: 15,000 rows took more than ten minutes, all of it
under the SQLite write lock. Here the per-business limit is counted in one query, the receipt
numbers come from one counter update, near-duplicates are found in memory, and the rows go in as
three multi-row inserts, so the write phase of a large import takes seconds.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import bindparam, func, insert, select

from participation.database import lock_for_update
from participation.events import Actor
from participation.extensions import db
from participation.models import (
    Business,
    Proposal,
    ProposalSource,
    ProposalStatus,
    ProposalStatusChange,
    ThemedSession,
    utcnow,
)
from participation.proposals.services import (
    PROPOSAL_FIELDS,
    receipt_numbers,
    title_key,
    titles_similar,
)

LOCK_CHUNK = 1_000


@dataclass(frozen=True)
class BusinessRef:
    """What submitting needs of a business, as plain values: the caller may commit between
    reading the file and writing it (a job's checkpoint), and with a session that expires on
    commit every business would reload, one query each, inside the write transaction."""

    id: int
    kelurahan: str | None
    kecamatan: str | None

    @classmethod
    def of(cls, business: Business) -> BusinessRef:
        return cls(business.id, business.kelurahan, business.kecamatan)


@dataclass(frozen=True)
class Row:
    """One proposal to submit: the file's row number, its business, its fields."""

    number: int
    business: BusinessRef
    data: dict
    paper_form_number: str | None = None


def over_limit(themed_session: ThemedSession, rows: list[Row]) -> list[Row]:
    """The rows that would take their business past the session's limit of submitted proposals.

    Counts what each business already has (one query, its rows locked on PostgreSQL so that the
    count holds until commit; SQLite already holds the write lock) and then the file in order.
    """
    business_ids = sorted({row.business.id for row in rows})
    for start in range(0, len(business_ids), LOCK_CHUNK):
        chunk = business_ids[start:start + LOCK_CHUNK]
        db.session.execute(lock_for_update(select(Business.id).where(Business.id.in_(chunk)).order_by(Business.id)))
    counts = Counter(dict(db.session.execute(
        select(Proposal.business_id, func.count(Proposal.id)).where(
            Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED,
        ).group_by(Proposal.business_id)).all()))
    limit = themed_session.max_proposals_per_business
    refused = []
    for row in rows:
        if counts[row.business.id] >= limit:
            refused.append(row)
        else:
            counts[row.business.id] += 1
    return refused


def plan_near_duplicates(themed_session: ThemedSession, rows: list[Row]) -> list[int | str | None]:
    """For each row, what it nearly duplicates: an earlier live proposal's id, "row:<i>" for an
    earlier row of the file (the i-th), or None. Read and compared before anything is written."""
    business_ids = {row.business.id for row in rows}
    earlier: dict[int, list[tuple[int | str, str]]] = defaultdict(list)
    for proposal_id, business_id, title in db.session.execute(
        select(Proposal.id, Proposal.business_id, Proposal.title).where(
            Proposal.session_id == themed_session.id, Proposal.status != ProposalStatus.WITHDRAWN,
        ).order_by(Proposal.id)
    ):
        if business_id in business_ids:
            earlier[business_id].append((proposal_id, title))
    plan = []
    for index, row in enumerate(rows):
        others = earlier[row.business.id]
        title = row.data["title"]
        plan.append(next((other for other, other_title in others if titles_similar(other_title, title)), None)
                    if title_key(title) else None)
        others.append((f"row:{index}", title))
    return plan


def submit_many(themed_session: ThemedSession, rows: list[Row], actor: Actor, near: list[int | str | None], *,
                source: ProposalSource = ProposalSource.IMPORT) -> tuple[list[int], dict[int, int]]:
    """Insert `rows` as submitted proposals with receipt numbers and history (Core inserts: the ORM's
    per-row bookkeeping tripled the time), flagged as `near` (from plan_near_duplicates) says.

    Returns their ids, in order, and the near-duplicates ({new id: id of the earlier one}). The
    caller has checked every row and `over_limit`; the event is the caller's (one per import).
    """
    if not rows:
        return [], {}
    db.session.flush()
    now, by = utcnow(), actor.user_id
    numbers = receipt_numbers(themed_session.fiscal_year, len(rows))
    values = []
    for row, receipt in zip(rows, numbers):
        fields = {key: row.data.get(key) for key in PROPOSAL_FIELDS}  # the same keys in every row
        # A proposal's location defaults to the business's own, as in services._fill_location.
        fields["kelurahan"] = fields.get("kelurahan") or row.business.kelurahan
        fields["kecamatan"] = fields.get("kecamatan") or row.business.kecamatan
        values.append({**fields, "session_id": themed_session.id, "business_id": row.business.id,
                       "submitted_by_id": by, "receipt_number": receipt, "source": source,
                       "paper_form_number": row.paper_form_number, "status": ProposalStatus.SUBMITTED,
                       "idempotency_key": None, "near_duplicate_of_id": None, "votes": 0,
                       "submitted_at": now, "created_at": now, "updated_at": now})
    proposals, history = Proposal.__table__, ProposalStatusChange.__table__
    # A plain executemany, then the ids by receipt number (unique): RETURNING in parameter order
    # makes SQLAlchemy send SQLite one INSERT per row, which tripled the time under the write lock.
    db.session.execute(insert(proposals), values)
    by_receipt = {}
    for start in range(0, len(numbers), LOCK_CHUNK):
        by_receipt.update(db.session.execute(select(proposals.c.receipt_number, proposals.c.id).where(
            proposals.c.receipt_number.in_(numbers[start:start + LOCK_CHUNK]))).all())
    ids = [by_receipt[receipt] for receipt in numbers]
    db.session.execute(insert(history), [
        {"proposal_id": proposal_id, "from_status": before, "to_status": after, "actor_id": by,
         "note": "", "created_at": now}
        for proposal_id in ids
        for before, after in ((None, ProposalStatus.DRAFT), (ProposalStatus.DRAFT, ProposalStatus.SUBMITTED))
    ])
    flags = {proposal_id: ids[int(of[4:])] if isinstance(of, str) else of
             for proposal_id, of in zip(ids, near) if of is not None}
    if flags:
        db.session.execute(proposals.update().where(proposals.c.id == bindparam("pid"))
                           .values(near_duplicate_of_id=bindparam("of")),
                           [{"pid": pid, "of": of} for pid, of in flags.items()])
    return ids, flags
