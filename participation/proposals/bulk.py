"""Many submitted proposals at once (an import): the rules of `services._submit`, in set-sized steps.

Submitting one proposal at a time through the ORM costs several queries per row and a flush whose
work grows with every object in the session: 15,000 rows took more than ten minutes, all of it
under the SQLite write lock. Here the per-business limit is counted in one query, the receipt
numbers come from one counter update, near-duplicates are found in memory, and the rows go in as
a few set-sized statements. On SQLite the rows are staged before the write lock is taken (see
`Staged`), so the lock is held for a fraction of a second even for 15,000 rows.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
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
    receipt_number,
    receipt_range,
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
    kelurahan_code: str | None = None

    @classmethod
    def of(cls, business: Business) -> BusinessRef:
        return cls(business.id, business.kelurahan, business.kecamatan, business.kelurahan_code)


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


class Staged:
    """Rows prepared for `submit_many` before the write lock is taken: the heavy part of an insert
    (turning 15,000 rows into parameters and handing them to the database) happens here.

    On SQLite the rows go into a TEMP table, which belongs to the connection and needs no lock
    that other writers wait for; under the lock, `submit_many` then copies them with INSERT ...
    SELECT inside the database, about a quarter of the time the same inserts take from Python.
    The TEMP table lives in the transaction that wrote it (a rollback removes it), so staging and
    submitting must share one transaction: inside `database.deferring()` that transaction takes
    the lock only at `database.take_write_lock()`. On PostgreSQL, whose writers do not wait for
    each other's inserts, the rows stay in memory and are inserted as before.
    """

    def __init__(self, themed_session: ThemedSession, rows: list[Row], actor: Actor, near: list[int | str | None],
                 source: ProposalSource):
        self.session_id, self.fiscal_year = themed_session.id, themed_session.fiscal_year
        self.rows, self.near, self.by, self.now = rows, near, actor.user_id, utcnow()
        self.values = [self._values(row, source) for row in rows]
        self.table = None
        if rows and db.session.get_bind().dialect.name == "sqlite":
            self.table = _stage_table()
            connection = db.session.connection()
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{STAGE_TABLE}")
            self.table.create(connection)
            db.session.execute(insert(self.table), [
                {**values, "seq": seq, **_near_columns(of)} for seq, (values, of) in enumerate(zip(self.values, near))])
            self.values = None  # held by the database now

    def _values(self, row: Row, source: ProposalSource) -> dict:
        fields = {key: row.data.get(key) for key in PROPOSAL_FIELDS}  # the same keys in every row
        # A proposal's location defaults to the business's own, as in services._fill_location.
        if not fields.get("kelurahan"):
            fields["kelurahan"] = row.business.kelurahan
            if not fields.get("kecamatan") or fields["kecamatan"] == row.business.kecamatan:
                fields["kelurahan_code"] = row.business.kelurahan_code
        fields["kecamatan"] = fields.get("kecamatan") or row.business.kecamatan
        fields["satuan"] = fields.get("satuan") or ""  # a blank unit is empty text: the column is NOT NULL
        return {**fields, "session_id": self.session_id, "business_id": row.business.id,
                "submitted_by_id": self.by, "receipt_number": None, "source": source,
                "paper_form_number": row.paper_form_number, "status": ProposalStatus.SUBMITTED,
                "idempotency_key": None, "near_duplicate_of_id": None, "votes": 0,
                "submitted_at": self.now, "created_at": self.now, "updated_at": self.now}


def _near_columns(of: int | str | None) -> dict:
    """A staged row's near-duplicate: an earlier proposal's id as is, an earlier row by its place."""
    if isinstance(of, str):
        return {"near_duplicate_of_id": None, "near_seq": int(of[4:])}
    return {"near_duplicate_of_id": of, "near_seq": None}


STAGE_TABLE = "import_proposals"
_STAGED_COLUMNS = tuple(column.name for column in Proposal.__table__.columns if column.name != "id")


def _stage_table() -> sa.Table:
    """The TEMP table of staged proposals: the proposal columns (types only) and the row's place."""
    return sa.Table(STAGE_TABLE, sa.MetaData(), sa.Column("seq", sa.Integer, primary_key=True),
                    *(sa.Column(name, Proposal.__table__.c[name].type) for name in _STAGED_COLUMNS),
                    sa.Column("near_seq", sa.Integer),
                    prefixes=["TEMPORARY"])


def stage(themed_session: ThemedSession, rows: list[Row], actor: Actor, near: list[int | str | None], *,
          source: ProposalSource = ProposalSource.IMPORT) -> Staged:
    """Prepare `rows` for `submit_many` (see Staged); nothing is visible or locked yet."""
    return Staged(themed_session, rows, actor, near, source)


def submit_many(staged: Staged) -> tuple[list[int], dict[int, int]]:
    """Insert the staged rows as submitted proposals with receipt numbers and history, flagged as
    their near-duplicate plan says.

    Returns their ids, in order, and the near-duplicates ({new id: id of the earlier one}). The
    caller holds the write lock, has checked every row and `over_limit`; the event is the caller's
    (one per import).
    """
    rows = staged.rows
    if not rows:
        return [], {}
    db.session.flush()
    scope, first = receipt_range(staged.fiscal_year, len(rows))
    proposals = Proposal.__table__
    ids = _copy_staged(staged, scope, first) if staged.table is not None else _insert_values(staged, scope, first)
    flags = {proposal_id: ids[int(of[4:])] if isinstance(of, str) else of
             for proposal_id, of in zip(ids, staged.near) if of is not None}
    if flags and staged.table is None:
        db.session.execute(proposals.update().where(proposals.c.id == bindparam("pid"))
                           .values(near_duplicate_of_id=bindparam("of")),
                           [{"pid": pid, "of": of} for pid, of in flags.items()])
    return ids, flags


def _copy_staged(staged: Staged, scope: str, first: int) -> list[int]:
    """SQLite: number the TEMP rows, copy them into proposals and their history, drop the TEMP table."""
    table, proposals, history = staged.table, Proposal.__table__, ProposalStatusChange.__table__
    # The same text as services.receipt_number, computed by the database for every row at once.
    db.session.execute(table.update().values(
        receipt_number=sa.literal(scope + "-") + sa.func.printf("%04d", first + table.c.seq)))
    db.session.execute(insert(proposals).from_select(
        _STAGED_COLUMNS, select(*(table.c[name] for name in _STAGED_COLUMNS)).order_by(table.c.seq)))
    ids = list(db.session.scalars(select(proposals.c.id).join_from(
        table, proposals, proposals.c.receipt_number == table.c.receipt_number).order_by(table.c.seq)))
    # Each proposal's history, as the PostgreSQL path writes it: created as a draft, then submitted.
    steps = sa.union_all(*(
        select(sa.literal(before, history.c.from_status.type).label("from_status"),
               sa.literal(after, history.c.to_status.type).label("to_status"), sa.literal(step).label("step"))
        for step, (before, after) in enumerate(((None, ProposalStatus.DRAFT),
                                                (ProposalStatus.DRAFT, ProposalStatus.SUBMITTED)))
    )).subquery("steps")
    db.session.execute(insert(history).from_select(
        ["proposal_id", "from_status", "to_status", "actor_id", "note", "created_at"],
        select(proposals.c.id, steps.c.from_status, steps.c.to_status,
               sa.literal(staged.by, sa.Integer), sa.literal(""), sa.literal(staged.now, sa.DateTime))
        .join_from(table, proposals, proposals.c.receipt_number == table.c.receipt_number)
        .join(steps, sa.true()).order_by(table.c.seq, steps.c.step)))
    # A near-duplicate of an earlier row of the file gets that row's new id, in one UPDATE ... FROM.
    earlier_row, earlier = table.alias("earlier_row"), proposals.alias("earlier")
    db.session.execute(proposals.update().where(
        proposals.c.receipt_number == table.c.receipt_number, table.c.near_seq.is_not(None),
        earlier_row.c.seq == table.c.near_seq, earlier.c.receipt_number == earlier_row.c.receipt_number,
    ).values(near_duplicate_of_id=earlier.c.id))
    db.session.connection().exec_driver_sql(f"DROP TABLE temp.{STAGE_TABLE}")
    return ids


def _insert_values(staged: Staged, scope: str, first: int) -> list[int]:
    """PostgreSQL (and an empty stage): the rows as one executemany, then their history."""
    proposals, history = Proposal.__table__, ProposalStatusChange.__table__
    numbers = [receipt_number(scope, value) for value in range(first, first + len(staged.values))]
    for values, number in zip(staged.values, numbers):
        values["receipt_number"] = number
    # A plain executemany, then the ids by receipt number (unique): RETURNING in parameter order
    # makes SQLAlchemy send one INSERT per row.
    db.session.execute(insert(proposals), staged.values)
    by_receipt = {}
    for start in range(0, len(numbers), LOCK_CHUNK):
        by_receipt.update(db.session.execute(select(proposals.c.receipt_number, proposals.c.id).where(
            proposals.c.receipt_number.in_(numbers[start:start + LOCK_CHUNK]))).all())
    ids = [by_receipt[number] for number in numbers]
    db.session.execute(insert(history), [
        {"proposal_id": proposal_id, "from_status": before, "to_status": after, "actor_id": staged.by,
         "note": "", "created_at": staged.now}
        for proposal_id in ids
        for before, after in ((None, ProposalStatus.DRAFT), (ProposalStatus.DRAFT, ProposalStatus.SUBMITTED))
    ])
    return ids
