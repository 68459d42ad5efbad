"""The one place where a session's proposals are ranked: load, build the matrix, call the library.

A session's values are loaded in a constant number of queries (criteria, proposals with their
business, category and decision, ratings), whatever the number of proposals. Everything numeric
happens in `participation.scoring`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from participation import scoring
from participation.extensions import db
from participation.models import Criterion, CriterionSource, Proposal, ProposalStatus, Rating, ThemedSession

STABILITY_DRAWS = {"greedy": 200, "optimal": 20}
STABILITY_SPREAD = 0.1


@dataclass
class RankedProposal:
    """One proposal's line in the ranked list."""

    proposal: Proposal
    values: dict[str, float | None]
    missing: list[Criterion] = field(default_factory=list)
    score: float | None = None
    rank: int | None = None
    contributions: dict[str, float] = field(default_factory=dict)
    selected: bool | None = None
    cumulative_cost: int | None = None
    remaining_at_turn: int | None = None
    stability: float | None = None
    previous_rank: int | None = None

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def moved(self) -> int | None:
        """Places gained (positive) or lost (negative) against the saved weights."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank


@dataclass
class Ranking:
    """A session ranked with given weights: complete proposals by rank, then incomplete ones."""

    themed_session: ThemedSession
    criteria: list[Criterion]
    weights: np.ndarray
    items: list[RankedProposal]
    budget: int
    generated_at: datetime

    @property
    def ranked(self) -> list[RankedProposal]:
        return [item for item in self.items if item.rank is not None]

    @property
    def incomplete(self) -> list[RankedProposal]:
        return [item for item in self.items if item.rank is None]

    @property
    def selected_cost(self) -> int:
        return sum(item.proposal.estimated_cost for item in self.items if item.selected)

    @property
    def remaining(self) -> int:
        return self.budget - self.selected_cost

    def weight_of(self, criterion: Criterion) -> float:
        return float(self.weights[self.criteria.index(criterion)])


def load_proposals(themed_session: ThemedSession) -> list[Proposal]:
    """Submitted proposals in receipt order, with what the list shows (three queries)."""
    return list(db.session.scalars(
        select(Proposal)
        .where(Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED)
        .options(selectinload(Proposal.business), selectinload(Proposal.category),
                 selectinload(Proposal.decision))
        .order_by(Proposal.receipt_number, Proposal.id)
    ))


def rating_values(themed_session: ThemedSession, proposals: list[Proposal],
                  criteria: list[Criterion]) -> np.ndarray:
    """Mean rating per proposal and rating criterion, NaN where nobody rated (one query)."""
    rating_criteria = [c for c in criteria if c.source is CriterionSource.RATING]
    if not proposals or not rating_criteria:
        return np.full((len(proposals), len(rating_criteria)), np.nan)
    rows = db.session.execute(
        select(Rating.proposal_id, Rating.criterion_id, Rating.planner_id, Rating.value)
        .join(Proposal, Proposal.id == Rating.proposal_id)
        .where(Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED)
    ).all()
    row_of = {proposal.id: i for i, proposal in enumerate(proposals)}
    column_of = {criterion.id: j for j, criterion in enumerate(rating_criteria)}
    planners = {planner for _, _, planner, _ in rows}
    rater_of = {planner: r for r, planner in enumerate(sorted(planners))}
    cube = np.full((len(proposals), len(rating_criteria), max(len(planners), 1)), np.nan)
    for proposal_id, criterion_id, planner_id, value in rows:
        if proposal_id in row_of and criterion_id in column_of:
            cube[row_of[proposal_id], column_of[criterion_id], rater_of[planner_id]] = value
    return scoring.aggregate_ratings(cube, "mean")


def build_matrix(themed_session: ThemedSession, proposals: list[Proposal],
                 criteria: list[Criterion]) -> np.ndarray:
    """Raw values (n × k) by each criterion's source; NaN where a rating is missing."""
    matrix = np.empty((len(proposals), len(criteria)))
    ratings = rating_values(themed_session, proposals, criteria)
    rating_column = 0
    for j, criterion in enumerate(criteria):
        source = criterion.source
        if source is CriterionSource.RATING:
            matrix[:, j] = ratings[:, rating_column]
            rating_column += 1
        elif source is CriterionSource.VOTES:
            matrix[:, j] = [p.votes for p in proposals]
        else:
            matrix[:, j] = [getattr(p, source.value) for p in proposals]
    return matrix


def session_weights(themed_session: ThemedSession) -> np.ndarray:
    """The saved weights, normalised."""
    raw = np.array([criterion.weight for criterion in themed_session.criteria], dtype=float)
    return raw / raw.sum() if raw.sum() > 0 else raw


def build_ranking(themed_session: ThemedSession, *, weights=None, stability: bool = True,
                  proposals: list[Proposal] | None = None, matrix: np.ndarray | None = None) -> Ranking:
    """Rank the session's submitted proposals with the saved weights, or with `weights` (what-if).

    Tie rule (through `scoring.rank`): scores within 1e-9 tie and go by estimated cost,
    cheaper first, then by receipt number.
    """
    criteria = list(themed_session.criteria)
    if proposals is None:
        proposals = load_proposals(themed_session)
    if matrix is None:
        matrix = build_matrix(themed_session, proposals, criteria)
    weight_vector = session_weights(themed_session) if weights is None else np.asarray(weights, float)
    weight_vector = weight_vector / weight_vector.sum()
    directions = np.array([criterion.direction for criterion in criteria])
    complete = ~np.isnan(matrix).any(axis=1) if criteria else np.zeros(len(proposals), dtype=bool)
    items = [RankedProposal(proposal=p, values={c.key: _number(matrix[i, j]) for j, c in enumerate(criteria)},
                            missing=[c for j, c in enumerate(criteria) if np.isnan(matrix[i, j])])
             for i, p in enumerate(proposals)]
    index = np.flatnonzero(complete)
    if index.size:
        _score(themed_session, criteria, weight_vector, directions, matrix[index],
               [items[i] for i in index], stability)
    ranked = sorted((item for item in items if item.rank is not None), key=lambda item: item.rank)
    unranked = [item for item in items if item.rank is None]
    return Ranking(themed_session=themed_session, criteria=criteria, weights=weight_vector,
                   items=ranked + unranked, budget=themed_session.budget_ceiling,
                   generated_at=datetime.now(timezone.utc))


def _score(themed_session, criteria, weights, directions, matrix, items, stability) -> None:
    method = themed_session.scoring_method.value
    normalization = themed_session.normalization.value
    selection = themed_session.selection_method.value
    if method == "saw":
        scores = scoring.saw(matrix, weights, directions, normalization)
        parts = scoring.contributions(matrix, weights, directions, normalization)
    else:
        scores = scoring.topsis(matrix, weights, directions)
        # TOPSIS is not additive; the bars show where each proposal stands between the worst
        # and the best value of every criterion, weighted (min–max contributions).
        parts = scoring.contributions(matrix, weights, directions, "minmax")
    costs = np.array([item.proposal.estimated_cost for item in items], dtype=np.int64)
    ranks = scoring.rank(scores, costs)
    chosen = scoring.select_within_budget(scores, costs, themed_session.budget_ceiling, selection)
    shares = None
    if stability:
        draws = STABILITY_DRAWS[selection]
        shares = scoring.selection_stability(matrix, weights, directions, costs, themed_session.budget_ceiling,
                                             method=method, selection=selection, spread=STABILITY_SPREAD,
                                             draws=draws, seed=themed_session.id, normalization=normalization)
    for position, item in enumerate(items):
        item.score = float(scores[position])
        item.rank = int(ranks[position])
        item.selected = bool(chosen[position])
        item.contributions = {c.key: float(parts[position, j]) for j, c in enumerate(criteria)}
        item.stability = None if shares is None else float(shares[position])
    # Walk the ranked order for the budget line and the "why not selected" amounts.
    spent = 0
    for item in sorted(items, key=lambda item: item.rank):
        item.remaining_at_turn = themed_session.budget_ceiling - spent
        if item.selected:
            spent += item.proposal.estimated_cost
        item.cumulative_cost = spent


def compare(ranking: Ranking, baseline: Ranking) -> None:
    """Set each item's previous rank from `baseline` (the saved weights), for what-if arrows."""
    before = {item.proposal.id: item.rank for item in baseline.items}
    for item in ranking.items:
        item.previous_rank = before.get(item.proposal.id)


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def export_payload(ranking: Ranking) -> dict:
    """The ranking in the JSON export contract (DESIGN §7)."""
    themed_session = ranking.themed_session
    return {
        "session": {"id": themed_session.id, "title": themed_session.title,
                    "status": themed_session.status.value, "budget_ceiling": themed_session.budget_ceiling},
        "method": themed_session.scoring_method.value,
        "normalization": themed_session.normalization.value,
        "selection": themed_session.selection_method.value,
        "criteria": [{"key": c.key, "name": c.name, "weight": float(ranking.weights[j]),
                      "direction": c.direction, "source": c.source.value}
                     for j, c in enumerate(ranking.criteria)],
        "proposals": [{
            "rank": item.rank, "receipt_number": item.proposal.receipt_number, "title": item.proposal.title,
            "business": item.proposal.business.name,
            "category": item.proposal.category.name if item.proposal.category else None,
            "estimated_cost": item.proposal.estimated_cost, "values": item.values, "score": item.score,
            "selected": item.selected,
            "decision": item.proposal.decision.outcome.value if item.proposal.decision else None,
        } for item in ranking.items],
        "generated_at": ranking.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
