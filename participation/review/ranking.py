"""The one place where a session's proposals are ranked: load, build the matrix, call the library.

A session's values are loaded in a constant number of queries (criteria; proposals joined with
their business, category and decision; ratings), whatever the number of proposals, as plain
values rather than ORM objects. Everything numeric happens in `participation.scoring`.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import chain

import numpy as np
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from participation import scoring
from participation.extensions import db
from participation.i18n import rupiah
from participation.models import (
    Business,
    Category,
    Criterion,
    CriterionSource,
    Decision,
    LabelledEnum,
    Outcome,
    Proposal,
    ProposalStatus,
    Rating,
    ScoringMethod,
    SelectionMethod,
    ThemedSession,
)

STABILITY_DRAWS = {"greedy": 200, "optimal": 20}
STABILITY_SPREAD = 0.1


class Selection(LabelledEnum):
    """Whether a ranked proposal is in the funded set within the budget ceiling."""

    SELECTED = "selected", _l("Selected"), "success"
    NOT_SELECTED = "not_selected", _l("Not selected"), "secondary"

    @classmethod
    def of_flag(cls, selected: bool | None) -> Selection | None:
        """The member for an export line's `selected` (None: the proposal is not ranked)."""
        if selected is None:
            return None
        return cls.SELECTED if selected else cls.NOT_SELECTED


class WhyNotSelected(str, enum.Enum):
    """Why a proposal is not in the funded set (a code; `NotSelected` says it in words)."""

    NOT_RANKED = "not_ranked"  # a value is missing, or the method refused one
    OVER_CEILING = "over_ceiling"  # it costs more than the whole ceiling
    DOES_NOT_FIT = "does_not_fit"  # best first: what was left at its turn is less than it costs
    TOO_LITTLE_LEFT = "too_little_left"  # optimal: the best combination leaves less than it costs
    LEFT_OUT = "left_out"  # optimal: it would fit what is left, but the best combination has no room for it


@dataclass(frozen=True)
class NotSelected:
    """Why a proposal is not selected, with the figures that its sentence names.

    `remaining` is what the ceiling had left for the proposal (at its turn when best first,
    after the chosen combination when optimal); `shortfall` is how much more it costs than that
    (or than the whole ceiling). The sentence is translated and formatted when it is printed.
    """

    reason: WhyNotSelected
    remaining: int | None = None
    shortfall: int | None = None

    def __str__(self) -> str:
        # gettext at print time, in the reader's language; the amounts through Babel.
        amount = rupiah(self.remaining)
        sentence = {
            WhyNotSelected.NOT_RANKED: lambda: gettext("Cannot be ranked yet."),
            WhyNotSelected.OVER_CEILING: lambda: gettext("Costs more than the whole ceiling."),
            WhyNotSelected.DOES_NOT_FIT: lambda: gettext("Does not fit the remaining %(amount)s.", amount=amount),
            WhyNotSelected.TOO_LITTLE_LEFT: lambda: gettext(
                "Left out of the combination with the highest total score: it leaves %(amount)s of the ceiling, "
                "less than this proposal costs.", amount=amount),
            WhyNotSelected.LEFT_OUT: lambda: gettext(
                "Left out of the combination with the highest total score within the ceiling."),
        }[self.reason]()
        if self.shortfall and self.shortfall > 0:
            sentence += " " + gettext("Short by %(shortfall)s.", shortfall=rupiah(self.shortfall))
        return sentence


NOT_RANKED = NotSelected(WhyNotSelected.NOT_RANKED)


def why_not_selected(cost: int, budget: int, selection: SelectionMethod | str, *, remaining_at_turn: int,
                     remaining: int) -> NotSelected:
    """Why a ranked proposal costing `cost` was left out of the funded set.

    `remaining_at_turn` is the ceiling less the selected proposals ranked above it (what best
    first had left when it came to this one); `remaining` is the ceiling less everything selected.
    """
    if cost > budget:
        return NotSelected(WhyNotSelected.OVER_CEILING, budget, cost - budget)
    if SelectionMethod.of(selection) is SelectionMethod.GREEDY:
        return NotSelected(WhyNotSelected.DOES_NOT_FIT, remaining_at_turn, cost - remaining_at_turn)
    if cost > remaining:
        return NotSelected(WhyNotSelected.TOO_LITTLE_LEFT, remaining, cost - remaining)
    return NotSelected(WhyNotSelected.LEFT_OUT, remaining)


def why_not_selected_in(payload: dict, line: dict) -> NotSelected | None:
    """Why the proposal of an export line (DESIGN §7, e.g. a snapshot's) is not selected; None when it is.

    The same figures as the live ranking's, from the payload alone: the ceiling, the selection
    method, and the costs of the selected lines ranked above and in all.
    """
    if line["rank"] is None:
        return NOT_RANKED
    if line["selected"]:
        return None
    budget = payload["session"]["budget_ceiling"]
    chosen = [other for other in payload["proposals"] if other["selected"]]
    above = sum(other["estimated_cost"] for other in chosen if other["rank"] < line["rank"])
    return why_not_selected(line["estimated_cost"], budget, payload["selection"],
                            remaining_at_turn=budget - above,
                            remaining=budget - sum(other["estimated_cost"] for other in chosen))


@dataclass
class RankedProposal:
    """One proposal's line in the ranked list."""

    proposal: Listed
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
    not_selected: NotSelected | None = None  # why it is not in the funded set (None when it is)

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def selection(self) -> Selection | None:
        """Selected or not, for the badge; None while the proposal is not ranked."""
        return Selection.of_flag(self.selected)

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
    problem: str | None = None  # why nothing could be ranked (a setting the values do not allow)

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


@dataclass(frozen=True)
class Listed:
    """What the ranking and the list need of a proposal: plain values, no ORM object."""

    id: int
    session_id: int
    receipt_number: str | None
    title: str
    category_id: int | None
    category_name: str | None
    estimated_cost: int
    beneficiaries: int
    jobs_created: int
    votes: int
    kecamatan: str
    business_name: str
    decision_outcome: Outcome | None


def load_proposals(themed_session: ThemedSession) -> list[Listed]:
    """Submitted proposals in receipt order, with business, category and decision: one query."""
    rows = db.session.execute(
        select(Proposal.id, Proposal.session_id, Proposal.receipt_number, Proposal.title, Proposal.category_id,
               Category.name, Proposal.estimated_cost, Proposal.beneficiaries, Proposal.jobs_created,
               Proposal.votes, Proposal.kecamatan, Business.name, Decision.outcome)
        .join(Business, Business.id == Proposal.business_id)
        .outerjoin(Category, Category.id == Proposal.category_id)
        .outerjoin(Decision, Decision.proposal_id == Proposal.id)
        .where(Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED)
        .order_by(Proposal.receipt_number, Proposal.id)
    ).all()
    return [Listed(*row) for row in rows]


def _plain_rows(statement) -> list[tuple]:
    """Run a numbers-only SELECT on the session's connection and return the driver's own tuples.

    A session has thousands of ratings; skipping SQLAlchemy's row objects saves most of the time
    of reading them. The statement's few bound values (ids, a status) are ours, so inlining them
    as literals is safe.
    """
    connection = db.session.connection()
    sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def session_ratings_query(themed_session: ThemedSession):
    """The one SELECT of a session's ratings: (proposal id, criterion id, planner id, value) rows.

    Every rating of the session's submitted proposals; a filter that leaves some ratings out of
    the aggregate (e.g. a conflicted planner's) belongs here, so the ranking, the agreement panel
    and the minutes all leave out the same ones.
    """
    return (select(Rating.proposal_id, Rating.criterion_id, Rating.planner_id, Rating.value)
            .join(Proposal, Proposal.id == Rating.proposal_id)
            .where(Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED))


def rating_cube(themed_session: ThemedSession, proposals: list[Listed],
                criteria: list[Criterion]) -> tuple[np.ndarray, list[int]]:
    """The (n proposals × k rating criteria × r planners) ratings, NaN = not rated, in one query.

    Rows follow `proposals`, columns the rating criteria of `criteria` in order, and the third
    axis the planners who rated anything, by ascending id (`planner_ids`); a rating of a proposal
    or criterion not listed is ignored. With no planner the cube has one all-NaN planner column.
    """
    rating_criteria = [c for c in criteria if c.source is CriterionSource.RATING]
    if not proposals or not rating_criteria:
        return np.full((len(proposals), len(rating_criteria), 1), np.nan), []
    rows = _plain_rows(session_ratings_query(themed_session))
    table = np.fromiter(chain.from_iterable(rows), dtype=np.float64, count=4 * len(rows)).reshape(-1, 4)
    proposal_ids = np.array([proposal.id for proposal in proposals])
    criterion_ids = np.array([criterion.id for criterion in rating_criteria])
    planners, rater = np.unique(table[:, 2], return_inverse=True)
    # Positions by id (both id lists are looked up sorted, mapped back through argsort).
    by_proposal, by_criterion = np.argsort(proposal_ids), np.argsort(criterion_ids)
    row = by_proposal[np.searchsorted(proposal_ids, table[:, 0], sorter=by_proposal).clip(0, len(proposals) - 1)]
    column = by_criterion[np.searchsorted(criterion_ids, table[:, 1], sorter=by_criterion)
                          .clip(0, len(rating_criteria) - 1)]
    known = (proposal_ids[row] == table[:, 0]) & (criterion_ids[column] == table[:, 1])
    cube = np.full((len(proposals), len(rating_criteria), max(len(planners), 1)), np.nan)
    cube[row[known], column[known], rater[known]] = table[known, 3]
    return cube, [int(planner) for planner in planners]


def aggregate_cube(themed_session: ThemedSession, cube: np.ndarray) -> np.ndarray:
    """One value per proposal and rating criterion by the session's aggregation.

    NaN where fewer planners rated than the session requires (`required_raters`): such a
    proposal is not ranked yet, and the list names the criterion as missing.
    """
    values = scoring.aggregate_ratings(cube, themed_session.rating_aggregation.value)
    values[(~np.isnan(cube)).sum(axis=2) < themed_session.required_raters] = np.nan
    return values


def rating_values(themed_session: ThemedSession, proposals: list[Listed],
                  criteria: list[Criterion]) -> np.ndarray:
    """The aggregated rating per proposal and rating criterion, NaN where too few planners rated."""
    cube, _planner_ids = rating_cube(themed_session, proposals, criteria)
    return aggregate_cube(themed_session, cube)


def build_matrix(themed_session: ThemedSession, proposals: list[Listed],
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
                  proposals: list[Listed] | None = None, matrix: np.ndarray | None = None) -> Ranking:
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
    keys = [c.key for c in criteria]
    items = []
    for proposal, row in zip(proposals, matrix.tolist(), strict=True):
        values = {key: (None if value != value else value) for key, value in zip(keys, row, strict=True)}  # NaN
        items.append(RankedProposal(proposal=proposal, values=values,
                                    missing=[c for c, value in zip(criteria, row, strict=True) if value != value]))
    index = np.flatnonzero(complete)
    problem = None
    if index.size:
        try:
            _score(themed_session, criteria, weight_vector, directions, matrix[index],
                   [items[i] for i in index], stability)
        except scoring.CellError as error:  # a value the session's method cannot take (SAW max)
            problem = refused_cell_message(criteria[error.column], items[index[error.row]],
                                           float(matrix[index[error.row], error.column]))
            for item in items:
                item.score = item.rank = item.selected = None
    for item in items:
        if item.rank is None:
            item.not_selected = NOT_RANKED
    ranked = sorted((item for item in items if item.rank is not None), key=lambda item: item.rank)
    unranked = [item for item in items if item.rank is None]
    return Ranking(themed_session=themed_session, criteria=criteria, weights=weight_vector,
                   items=ranked + unranked, budget=themed_session.budget_ceiling,
                   generated_at=datetime.now(timezone.utc), problem=problem)


def refused_cell_message(criterion: Criterion, item: RankedProposal, value: float) -> str:
    """Why the library refused a value, for the planner: SAW with `max` normalisation.

    It divides by each value of a cost column (min/x) and by the largest value of a benefit
    column, so a cost needs a value above 0 (a count such as new jobs can well be 0).
    """
    # gettext, not lazy_gettext: a lazy string is treated as safe HTML by Jinja, and the
    # criterion's name is the planner's text.
    receipt = item.proposal.receipt_number or "-"
    if criterion.direction == -1:
        return gettext("The 'max' normalisation cannot rank %(criterion)s as a cost criterion: %(receipt)s has "
                       "the value %(value)s there, and a cost needs a value above 0. Use min–max normalisation, "
                       "or change the criterion's direction.", criterion=criterion.name, receipt=receipt,
                       value=f"{value:g}")
    return gettext("The 'max' normalisation cannot rank %(criterion)s: %(receipt)s has a negative value there. "
                   "Use min–max normalisation.", criterion=criterion.name, receipt=receipt)


def _score(themed_session, criteria, weights, directions, matrix, items, stability) -> None:
    method = themed_session.scoring_method.value
    normalization = themed_session.normalization.value
    selection = themed_session.selection_method.value
    if themed_session.scoring_method is ScoringMethod.SAW:
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
    keys = [c.key for c in criteria]
    share_list = [None] * len(items) if shares is None else shares.tolist()
    for item, score, place, taken, part, share in zip(items, scores.tolist(), ranks.tolist(), chosen.tolist(),
                                                     parts.tolist(), share_list, strict=True):
        item.score, item.rank, item.selected, item.stability = score, place, taken, share
        item.contributions = dict(zip(keys, part, strict=True))
    # Walk the ranked order for the budget line and the "why not selected" amounts.
    budget, spent = themed_session.budget_ceiling, 0
    for item in sorted(items, key=lambda item: item.rank):
        item.remaining_at_turn = budget - spent
        if item.selected:
            spent += item.proposal.estimated_cost
        item.cumulative_cost = spent
    for item in items:
        item.not_selected = None if item.selected else why_not_selected(
            item.proposal.estimated_cost, budget, themed_session.selection_method,
            remaining_at_turn=item.remaining_at_turn, remaining=budget - spent)


@dataclass(frozen=True)
class BudgetEffect:
    """Where one proposal stands against the ceiling, for the decision page.

    `remaining_before` is the ceiling less the selected proposals ranked above it; funding this
    one leaves `remaining_after` (negative when it does not fit); `cumulative_cost` is what the
    selected proposals above it and this one cost together.
    """

    rank: int | None
    ranked_count: int
    score: float | None
    cost: int
    ceiling: int
    selected: bool | None
    remaining_before: int | None
    not_selected: NotSelected | None

    @property
    def remaining_after(self) -> int | None:
        return None if self.remaining_before is None else self.remaining_before - self.cost

    @property
    def cumulative_cost(self) -> int | None:
        return None if self.remaining_before is None else self.ceiling - self.remaining_before + self.cost

    @property
    def outside_ceiling(self) -> bool:
        """Ranked but not in the funded set: prioritising it does not fund it within the ceiling."""
        return self.rank is not None and not self.selected


def budget_effect(ranking: Ranking, proposal_id: int) -> BudgetEffect | None:
    """The proposal's rank, score, cost and effect on the ceiling in `ranking` (None: not listed)."""
    item = next((item for item in ranking.items if item.proposal.id == proposal_id), None)
    if item is None:
        return None
    return BudgetEffect(rank=item.rank, ranked_count=len(ranking.ranked), score=item.score,
                        cost=item.proposal.estimated_cost, ceiling=ranking.budget, selected=item.selected,
                        remaining_before=item.remaining_at_turn, not_selected=item.not_selected)


def compare(ranking: Ranking, baseline: Ranking) -> None:
    """Set each item's previous rank from `baseline` (the saved weights), for what-if arrows."""
    before = {item.proposal.id: item.rank for item in baseline.items}
    for item in ranking.items:
        item.previous_rank = before.get(item.proposal.id)


def export_payload(ranking: Ranking) -> dict:
    """The ranking in the JSON export contract (DESIGN §7)."""
    themed_session = ranking.themed_session
    return {
        "session": {"id": themed_session.id, "title": themed_session.title,
                    "status": themed_session.status.value, "budget_ceiling": themed_session.budget_ceiling},
        "method": themed_session.scoring_method.value,
        "normalization": themed_session.normalization.value,
        "selection": themed_session.selection_method.value,
        "aggregation": {"method": themed_session.rating_aggregation.value,
                        "min_raters": themed_session.min_raters},
        "criteria": [{"key": c.key, "name": c.name, "weight": float(ranking.weights[j]),
                      "direction": c.direction, "source": c.source.value}
                     for j, c in enumerate(ranking.criteria)],
        "proposals": [{
            "rank": item.rank, "receipt_number": item.proposal.receipt_number, "title": item.proposal.title,
            "business": item.proposal.business_name,
            "category": item.proposal.category_name,
            "estimated_cost": item.proposal.estimated_cost, "values": item.values, "score": item.score,
            "selected": item.selected,
            "decision": item.proposal.decision_outcome.value if item.proposal.decision_outcome else None,
        } for item in ranking.items],
        "generated_at": ranking.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
