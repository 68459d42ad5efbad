"""Joint proposals: near-duplicates across a session's businesses, merged by a planner into one.

The clusters come from `proposals.clusters` (RapidFuzz on title and description) over the
session's submitted proposals that are neither merged nor joint themselves. A planner merges a
cluster into a new joint proposal (a receipt number of its own, the originals' businesses as its
co-proposers); each original keeps its row and every field, and only points at the joint one
(`merged_into_id`), which takes it out of the ranking. Undoing the merge clears that pointer and
withdraws the joint proposal, so every original is again exactly as it was. Both are refused once
the session is finalised. A dismissed cluster is remembered and not suggested again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import exists, select, update
from sqlalchemy.orm import selectinload

from participation.events import Actor, record
from participation.extensions import db
from participation.models import (
    DismissedCluster,
    Proposal,
    ProposalCoProposer,
    ProposalStatus,
    ProposalStatusChange,
    ThemedSession,
    utcnow,
)
from participation.proposals.clusters import near_duplicate_clusters, similarity
from participation.proposals.services import missing_for_submission, next_receipt_number
from participation.review.services import lock_session

CLUSTER_KEY = re.compile(r"\d{1,9}(?:-\d{1,9}){1,199}")
# What the planner confirms in the merge form; the rest comes from the lead original.
MERGE_FIELDS = ("title", "description", "category_id", "estimated_cost", "beneficiaries", "jobs_created")
COPIED_FIELDS = ("problem", "kelurahan", "kecamatan", "kelurahan_code")


class JointError(Exception):
    """A rule refused the operation; `code` says which, for the route's message."""

    def __init__(self, code: str, **details):
        super().__init__(code)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class Member:
    """One proposal of a cluster and how alike it is to the cluster's first proposal (0–100)."""

    proposal: Proposal
    similarity: float


@dataclass(frozen=True)
class Cluster:
    """Near-duplicate proposals, in receipt order; `key` names the cluster in addresses."""

    members: tuple[Member, ...]

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(sorted(member.proposal.id for member in self.members))

    @property
    def key(self) -> str:
        return cluster_key(self.ids)

    @property
    def lowest(self) -> float:
        return min(member.similarity for member in self.members[1:])

    @property
    def business_count(self) -> int:
        return len({member.proposal.business_id for member in self.members})


def cluster_key(ids) -> str:
    """The ids ascending, joined by '-': 12-15-19."""
    return "-".join(str(proposal_id) for proposal_id in sorted(set(ids)))


def parse_cluster_key(key: str) -> list[int] | None:
    """The ids of a key from an address, or None when it is not one (malformed, fewer than two)."""
    if not CLUSTER_KEY.fullmatch(key or ""):
        return None
    ids = sorted({int(part) for part in key.split("-")})
    return ids if len(ids) >= 2 else None


def _mergeable(themed_session: ThemedSession):
    """The WHERE clause of the session's proposals that may be clustered: submitted, not merged, not joint."""
    is_joint = exists().where(ProposalCoProposer.proposal_id == Proposal.id)
    return (Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED,
            Proposal.merged_into_id.is_(None), ~is_joint)


def candidates(themed_session: ThemedSession) -> list[tuple[int, str, str]]:
    """(id, title, description) of the proposals that may be clustered, in receipt order: plain rows."""
    return [tuple(row) for row in db.session.execute(
        select(Proposal.id, Proposal.title, Proposal.description).where(*_mergeable(themed_session))
        .order_by(Proposal.receipt_number, Proposal.id))]


def dismissed_sets(themed_session: ThemedSession) -> list[frozenset[int]]:
    return [row.ids for row in db.session.scalars(
        select(DismissedCluster).where(DismissedCluster.session_id == themed_session.id))]


def clusters_of(themed_session: ThemedSession) -> list[Cluster]:
    """The session's near-duplicate clusters, less those made only of a dismissed cluster's proposals.

    The texts are read as plain rows; only the proposals that end up in a cluster are loaded as
    objects (with their business), for the page.
    """
    rows = candidates(themed_session)
    groups = near_duplicate_clusters([row[1] for row in rows], [row[2] or "" for row in rows])
    dismissed = dismissed_sets(themed_session)
    groups = [group for group in groups if not any({rows[i][0] for i in group} <= earlier for earlier in dismissed)]
    wanted = [rows[i][0] for group in groups for i in group]
    loaded = {proposal.id: proposal for proposal in db.session.scalars(
        select(Proposal).where(Proposal.id.in_(wanted)).options(selectinload(Proposal.business)))} if wanted else {}
    clusters = []
    for group in groups:
        members = [loaded[rows[i][0]] for i in group]
        first = members[0]
        clusters.append(Cluster(tuple(
            Member(proposal, 100.0 if proposal is first else
                   similarity(first.title, first.description or "", proposal.title, proposal.description or ""))
            for proposal in members)))
    return clusters


def joint_proposals(themed_session: ThemedSession) -> list[Proposal]:
    """The session's joint proposals, newest first, with their co-proposers (undone ones too)."""
    is_joint = exists().where(ProposalCoProposer.proposal_id == Proposal.id)
    return list(db.session.scalars(
        select(Proposal).where(Proposal.session_id == themed_session.id, is_joint)
        .options(selectinload(Proposal.co_proposers).selectinload(ProposalCoProposer.original),
                 selectinload(Proposal.co_proposers).selectinload(ProposalCoProposer.business))
        .order_by(Proposal.id.desc())))


def load_originals(themed_session: ThemedSession, ids: list[int]) -> list[Proposal]:
    """The proposals named by a cluster key, in receipt order; refused unless each may be merged."""
    proposals = list(db.session.scalars(
        select(Proposal).where(Proposal.id.in_(ids), Proposal.session_id == themed_session.id)
        .order_by(Proposal.receipt_number, Proposal.id)))
    if len(proposals) != len(set(ids)):
        raise JointError("not_found")
    return proposals


def lead_first(originals: list[Proposal], ranks: dict[int, int | None]) -> list[Proposal]:
    """The originals with the best-ranked first (then receipt order): the form is prefilled from it."""
    return sorted(originals, key=lambda p: (ranks.get(p.id) is None, ranks.get(p.id) or 0, p.receipt_number or ""))


def merge_defaults(originals: list[Proposal]) -> dict:
    """What the merge form proposes: the lead original's content, the originals' people and jobs added up."""
    lead = originals[0]
    return {"title": lead.title, "description": lead.description, "category_id": lead.category_id,
            "estimated_cost": lead.estimated_cost,
            "beneficiaries": sum(p.beneficiaries or 0 for p in originals),
            "jobs_created": sum(p.jobs_created or 0 for p in originals)}


def _check_not_final(themed_session: ThemedSession) -> None:
    if themed_session.is_published:
        raise JointError("finalised")


def _check_mergeable(themed_session: ThemedSession, originals: list[Proposal]) -> None:
    if len({p.id for p in originals}) < 2:
        raise JointError("too_few")
    for proposal in originals:
        if proposal.session_id != themed_session.id:
            raise JointError("not_found")
        if proposal.status is not ProposalStatus.SUBMITTED or proposal.is_merged or proposal.is_joint:
            raise JointError("not_mergeable", receipt=proposal.receipt_number or "–")


def _set_merged_into(proposal_ids: list[int], joint_id: int | None) -> None:
    """Point the originals at the joint proposal (or back at nothing), leaving every other column as it was.

    One UPDATE that sets `updated_at` to itself, so that its on-update default does not fire: an
    undone merge leaves each original exactly as before, its last-changed time too.
    """
    db.session.execute(
        update(Proposal).where(Proposal.id.in_(proposal_ids))
        .values(merged_into_id=joint_id, updated_at=Proposal.updated_at)
        .execution_options(synchronize_session=False))


def merge(themed_session: ThemedSession, originals: list[Proposal], data: dict, actor: Actor) -> Proposal:
    """Merge `originals` (the lead first) into a new joint proposal; audited as `proposal.merged`.

    The joint proposal takes the planner's title, description, category, cost, beneficiaries and
    new jobs, the lead's problem and place, the originals' votes added up, and a new receipt
    number; it belongs to the lead's business, and every original's business is a co-proposer.
    """
    lock_session(themed_session)
    _check_not_final(themed_session)
    _check_mergeable(themed_session, originals)
    if data.get("category_id") not in {category.id for category in themed_session.categories}:
        raise JointError("incomplete", fields=["category_id"])
    lead = originals[0]
    joint = Proposal(themed_session=themed_session, business_id=lead.business_id, submitted_by=actor.user,
                     source=lead.source, status=ProposalStatus.SUBMITTED,
                     votes=sum(p.votes for p in originals),
                     **{key: data.get(key) for key in MERGE_FIELDS},
                     **{key: getattr(lead, key) for key in COPIED_FIELDS})
    missing = missing_for_submission(joint)
    if missing:
        raise JointError("incomplete", fields=missing)
    receipts = [p.receipt_number for p in originals]
    joint.receipt_number = next_receipt_number(themed_session.fiscal_year)
    joint.submitted_at = utcnow()
    joint.history.append(ProposalStatusChange(from_status=None, to_status=ProposalStatus.SUBMITTED,
                                              actor_id=actor.user_id, note=", ".join(receipts)[:300]))
    joint.co_proposers = [ProposalCoProposer(original_id=p.id, business_id=p.business_id) for p in originals]
    db.session.add(joint)
    db.session.flush()
    _set_merged_into([p.id for p in originals], joint.id)
    for proposal in originals:
        db.session.expire(proposal)
    record("proposal.merged", actor, joint,
           after={"receipt_number": joint.receipt_number, "title": joint.title, "originals": receipts,
                  "original_ids": [p.id for p in originals], "estimated_cost": joint.estimated_cost})
    return joint


def undo_merge(joint: Proposal, actor: Actor) -> list[Proposal]:
    """Give every original back its place and withdraw the joint proposal; audited as `proposal.merge_undone`."""
    themed_session = joint.themed_session
    lock_session(themed_session)
    _check_not_final(themed_session)
    if not joint.is_joint:
        raise JointError("not_joint")
    if joint.status is not ProposalStatus.SUBMITTED:
        raise JointError("undone", receipt=joint.receipt_number)
    originals = [row.original for row in joint.co_proposers]
    _set_merged_into([p.id for p in originals], None)
    for proposal in originals:
        db.session.expire(proposal)
    joint.history.append(ProposalStatusChange(from_status=joint.status, to_status=ProposalStatus.WITHDRAWN,
                                              actor_id=actor.user_id))
    joint.status = ProposalStatus.WITHDRAWN
    record("proposal.merge_undone", actor, joint,
           before={"status": ProposalStatus.SUBMITTED.value,
                   "originals": [p.receipt_number for p in originals]},
           after={"status": ProposalStatus.WITHDRAWN.value, "original_ids": [p.id for p in originals]})
    return originals


def dismiss(themed_session: ThemedSession, originals: list[Proposal], actor: Actor) -> DismissedCluster:
    """Remember that these proposals are not one proposal; audited as `cluster.dismissed`."""
    lock_session(themed_session)
    _check_not_final(themed_session)
    if len({p.id for p in originals}) < 2:
        raise JointError("too_few")
    ids = cluster_key(p.id for p in originals).replace("-", ",")
    dismissed = DismissedCluster(session_id=themed_session.id, proposal_ids=ids, dismissed_by=actor.user)
    db.session.add(dismissed)
    db.session.flush()
    record("cluster.dismissed", actor, dismissed,
           after={"session_id": themed_session.id, "receipts": [p.receipt_number for p in originals]})
    return dismissed
