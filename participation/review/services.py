"""Ratings, votes, decisions, AHP weights, finalisation and corrections."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from participation.database import lock_for_update
from participation.events import Actor, record
from participation.extensions import db
from participation.models import (
    Criterion,
    CriterionSource,
    Decision,
    Outcome,
    Proposal,
    ProposalStatus,
    RankingSnapshot,
    Rating,
    SessionStatus,
    ThemedSession,
    User,
    utcnow,
)
from participation.review.conflicts import conflicted
from participation.review.ranking import build_ranking, export_payload

RATING_STATUSES = (SessionStatus.OPEN, SessionStatus.REVIEW)  # as ThemedSession.takes_votes / takes_ratings
DECISION_STATUSES = (SessionStatus.REVIEW,)


class ReviewError(Exception):
    """A rule refused the operation; `code` says which."""

    def __init__(self, code: str, **details):
        super().__init__(code)
        self.code = code
        self.details = details


def lock_session(themed_session: ThemedSession) -> None:
    """Hold the session row until commit and re-read its status.

    Ratings, votes and decisions check the status under this lock, so none of them can land
    after a concurrent finalisation has committed (FOR UPDATE on PostgreSQL; on SQLite the
    transaction already began IMMEDIATE), and two corrections number their snapshots in turn.
    """
    db.session.scalars(lock_for_update(select(ThemedSession).where(ThemedSession.id == themed_session.id))).one()
    db.session.refresh(themed_session)


def rating_criteria(themed_session: ThemedSession) -> list[Criterion]:
    """The criteria planners rate, in the session's order."""
    return [c for c in themed_session.criteria if c.source is CriterionSource.RATING]


def ratings_by(planner: User, proposal: Proposal) -> dict[int, Rating]:
    """This planner's ratings of this proposal, by criterion id."""
    return {rating.criterion_id: rating for rating in db.session.scalars(
        select(Rating).where(Rating.proposal_id == proposal.id, Rating.planner_id == planner.id))}


def rating_progress(themed_session: ThemedSession, planner: User) -> tuple[int, int, set[int]]:
    """(proposals this planner has fully rated, ranked proposals, ids of the fully rated).

    Proposals merged into a joint proposal are not counted: the joint one is rated in their place.
    """
    needed = len(rating_criteria(themed_session))
    total = db.session.scalar(select(func.count(Proposal.id)).where(
        Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED,
        Proposal.merged_into_id.is_(None)))
    if needed == 0:
        return total, total, set()
    done = set(db.session.scalars(
        select(Rating.proposal_id).join(Proposal, Proposal.id == Rating.proposal_id)
        .where(Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED,
               Proposal.merged_into_id.is_(None), Rating.planner_id == planner.id)
        .group_by(Rating.proposal_id).having(func.count(Rating.id) >= needed)))
    return len(done), total, done


def save_ratings(proposal: Proposal, values: dict[int, float], versions: dict[int, int | None], actor: Actor,
                 *, correction_reason: str | None = None) -> dict:
    """Store the acting planner's ratings of a proposal; refuse if any changed since the form was opened.

    `versions` holds, per criterion, the version the planner saw (None: there was no rating).
    Returns {criterion key: (before, after)}; after a finalisation a change is a correction,
    with its reason, and writes the next snapshot version.
    """
    planner = actor.user
    themed_session = proposal.themed_session
    lock_session(themed_session)
    finalized = themed_session.status is SessionStatus.FINALIZED
    if themed_session.status not in RATING_STATUSES and not finalized:
        raise ReviewError("closed")
    if finalized and not correction_reason:
        raise ReviewError("locked")
    if proposal.status is not ProposalStatus.SUBMITTED:
        raise ReviewError("not_submitted")
    if conflicted(planner, proposal.business_id):
        raise ReviewError("conflicted")
    existing = ratings_by(planner, proposal)
    changes = {}
    for criterion in rating_criteria(themed_session):
        value = values[criterion.id]
        rating = existing.get(criterion.id)
        seen = versions.get(criterion.id)
        if (rating.version if rating else None) != seen:
            raise ReviewError("conflict", criterion=criterion.name)
        if rating is None:
            db.session.add(Rating(proposal=proposal, criterion=criterion, planner=planner, value=value))
            changes[criterion.key] = (None, value)
        elif rating.value != value:
            changes[criterion.key] = (rating.value, value)
            rating.value = value
    try:
        # The version counter makes a concurrent update fail here, and the unique key a
        # concurrent first rating of the same cell; either way nothing is overwritten.
        db.session.flush()
    except (StaleDataError, IntegrityError):
        raise ReviewError("conflict", criterion="") from None
    if changes:
        after = {k: v[1] for k, v in changes.items()}
        if finalized:
            write_snapshot(themed_session, planner, reason=correction_reason)
            after["reason"] = correction_reason
        record("rating.corrected" if finalized else "rating.saved", actor, proposal,
               before={k: v[0] for k, v in changes.items()}, after=after)
    return changes


def record_votes(themed_session: ThemedSession, votes: dict[int, int], actor: Actor) -> dict:
    """Set participants' votes per proposal id; returns {receipt: (before, after)}."""
    lock_session(themed_session)
    if themed_session.status not in RATING_STATUSES:
        raise ReviewError("closed")
    proposals = db.session.scalars(select(Proposal).where(
        Proposal.session_id == themed_session.id, Proposal.id.in_(list(votes)))).all()
    changes = {}
    now = utcnow()
    for proposal in proposals:
        if proposal.votes != votes[proposal.id] or proposal.votes_recorded_at is None:
            changes[proposal.receipt_number or str(proposal.id)] = (proposal.votes, votes[proposal.id])
            proposal.votes = votes[proposal.id]
            proposal.votes_recorded_at = now
    record("votes.recorded", actor, themed_session, object_type="ThemedSession",
           before={k: v[0] for k, v in changes.items()}, after={k: v[1] for k, v in changes.items()})
    return changes


def decide(proposal: Proposal, outcome: Outcome, reason: str, actor: Actor, *,
           correction_reason: str | None = None) -> tuple[dict | None, dict]:
    """Record (or change) the decision on a proposal with its current rank; returns (before, after)."""
    themed_session = proposal.themed_session
    lock_session(themed_session)
    finalized = themed_session.status is SessionStatus.FINALIZED
    if themed_session.status not in DECISION_STATUSES and not finalized:
        raise ReviewError("not_in_review")
    if finalized and not correction_reason:
        raise ReviewError("locked")
    if conflicted(actor.user, proposal.business_id):
        raise ReviewError("conflicted")
    ranking = build_ranking(themed_session, stability=False)
    rank = next((item.rank for item in ranking.items if item.proposal.id == proposal.id), None)
    current = proposal.decision
    before = None if current is None else {"outcome": current.outcome.value, "reason": current.reason,
                                           "rank": current.rank_at_decision}
    if current is None:
        current = Decision(proposal=proposal)
        db.session.add(current)
    current.outcome, current.reason, current.rank_at_decision = outcome, reason, rank
    current.decided_by_id, current.decided_at = actor.user_id, utcnow()
    db.session.flush()
    after = {"outcome": outcome.value, "reason": reason, "rank": rank}
    if finalized:
        write_snapshot(themed_session, actor.user, reason=correction_reason)
    record("decision.corrected" if finalized else "decision.recorded", actor, proposal, before=before,
           after={**after, "correction_reason": correction_reason} if finalized else after)
    return before, after


def set_sipd_codes(proposal: Proposal, data: dict, actor: Actor) -> dict:
    """A planner's OPD and sub-activity for one proposal; an emptied pair falls back to the category's
    (see Proposal.sipd_opd). Empty fields are stored as NULL.

    Returns {field: (before, after)}; allowed in every status, like the category's defaults (the
    codes are not part of the ranking). A code in the wrong format raises `sipd.CodeError`.
    """
    from participation.review import sipd

    sipd.check_codes(data)
    changes = {}
    for key in sipd.OPD_FIELDS:
        value = data.get(key) or None
        if getattr(proposal, key) != value:
            changes[key] = (getattr(proposal, key), value)
            setattr(proposal, key, value)
    if changes:
        record("proposal.sipd_codes_set", actor, proposal, before={k: v[0] for k, v in changes.items()},
               after={k: v[1] for k, v in changes.items()})
    return changes


def finalize(themed_session: ThemedSession, exclusions: dict[int, str], actor: Actor) -> RankingSnapshot:
    """Lock the session, check every proposal can be ranked (or is excluded), write version 1.

    Each funded proposal gets its follow-up record in the same transaction.
    One transaction: the session row is locked (FOR UPDATE on PostgreSQL; SQLite already holds the
    write lock from BEGIN IMMEDIATE), so of two concurrent finalisations exactly one succeeds.
    """
    lock_session(themed_session)
    if themed_session.status is not SessionStatus.REVIEW:
        raise ReviewError("not_in_review")
    ranking = build_ranking(themed_session, stability=True)
    if ranking.problem or ranking.constraint_problem:  # a must-fund set that cannot fit is not final
        raise ReviewError("unrankable", problem=ranking.problem or ranking.constraint_problem)
    unexplained = [item for item in ranking.incomplete
                   if not (exclusions.get(item.proposal.id) or "").strip()]
    if unexplained:
        raise ReviewError("incomplete", proposals=[item.proposal for item in unexplained])
    snapshot = write_snapshot(themed_session, actor.user, ranking=ranking, exclusions=exclusions)
    themed_session.status = SessionStatus.FINALIZED
    record("session.finalized", actor, themed_session, object_type="ThemedSession",
           before={"status": SessionStatus.REVIEW.value},
           after={"status": SessionStatus.FINALIZED.value, "snapshot_version": snapshot.version,
                  "excluded": snapshot.payload["excluded"]})
    from participation.followup.services import ensure_follow_ups

    ensure_follow_ups(themed_session, actor)  # each funded proposal's follow-up, in this same transaction
    return snapshot


def write_snapshot(themed_session: ThemedSession, author: User | None, *, ranking=None, exclusions=None,
                   reason: str = "") -> RankingSnapshot:
    """Append the next immutable snapshot version of the session's ranking."""
    ranking = ranking or build_ranking(themed_session, stability=True)
    if ranking.problem:  # a correction must not publish a ranking with nothing ranked
        raise ReviewError("unrankable", problem=ranking.problem)
    previous = latest_snapshot(themed_session)
    if exclusions is None and previous is not None:
        exclusions = {int(k): v for k, v in previous.payload.get("excluded", {}).items()}
    payload = {
        "export": export_payload(ranking),
        "excluded": {str(item.proposal.id): exclusions[item.proposal.id]
                     for item in ranking.incomplete if item.proposal.id in (exclusions or {})},
        "contributions": {item.proposal.receipt_number: item.contributions for item in ranking.ranked},
        "stability": {item.proposal.receipt_number: item.stability for item in ranking.ranked},
    }
    version = (previous.version if previous else 0) + 1
    payload["export"]["session"]["status"] = SessionStatus.FINALIZED.value  # what the snapshot records
    snapshot = RankingSnapshot(session_id=themed_session.id, version=version,
                               method=themed_session.scoring_method.value,
                               normalization=themed_session.normalization.value,
                               selection=themed_session.selection_method.value, payload=payload,
                               reason=reason or "", created_by_id=author.id if author else None)
    db.session.add(snapshot)
    db.session.flush()
    return snapshot


@dataclass(frozen=True)
class OfficialRanking:
    """The ranking that counts for a session: its export payload (DESIGN §7) and, once final, its snapshot."""

    payload: dict
    snapshot: RankingSnapshot | None = None

    @property
    def is_final(self) -> bool:
        return self.snapshot is not None

    def line_of(self, receipt_number: str | None) -> dict | None:
        """One proposal's line: rank, values, score, selection, decision (None when it is not listed)."""
        return next((line for line in self.payload["proposals"] if line["receipt_number"] == receipt_number), None)


def official_ranking(themed_session: ThemedSession) -> OfficialRanking:
    """Which ranking is the official one: the latest snapshot once the session is finalised (or
    archived), the live ranking before. Exports, documents, the owner's page and the public page
    all ask here, so none of them can show a ranking the others do not."""
    if themed_session.is_published:
        snapshot = latest_snapshot(themed_session)
        if snapshot is not None:
            return OfficialRanking(snapshot.payload["export"], snapshot)
    return OfficialRanking(export_payload(build_ranking(themed_session, stability=False)))


def latest_snapshot(themed_session: ThemedSession) -> RankingSnapshot | None:
    """The newest snapshot version of the session, if it was finalised."""
    return db.session.scalar(select(RankingSnapshot).where(RankingSnapshot.session_id == themed_session.id)
                             .order_by(RankingSnapshot.version.desc()).limit(1))


def decision_reasons(themed_session: ThemedSession) -> dict[str, str]:
    """The reason of each decided proposal of the session, by receipt number (one query).

    A decision changed after finalisation writes a new snapshot in the same transaction, so these
    reasons always belong to the outcomes of the latest snapshot.
    """
    rows = db.session.execute(
        select(Proposal.receipt_number, Decision.reason).join(Decision, Decision.proposal_id == Proposal.id)
        .where(Proposal.session_id == themed_session.id))
    return {receipt: reason for receipt, reason in rows if receipt}
