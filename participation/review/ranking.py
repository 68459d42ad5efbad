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
from sqlalchemy import exists, func, select

from participation import scoring
from participation.extensions import db
from participation.i18n import rupiah
from participation.models import (
    Business,
    Category,
    ConflictOfInterest,
    Criterion,
    CriterionSource,
    Decision,
    LabelledEnum,
    Outcome,
    Proposal,
    ProposalStatus,
    Rating,
    Role,
    ScoringMethod,
    SelectionMethod,
    ThemedSession,
)
from participation.review import stability as stability_jobs
from participation.review.constraints import SessionConstraints, load_constraints

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
    EXCLUSIVE = "exclusive"  # an exclusive group holds it and a funded proposal (`partner`)
    CATEGORY_CAP = "category_cap"  # its category's budget cap has less left than it costs


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
    partner: str | None = None  # EXCLUSIVE: the funded proposal it competes with, "receipt number title"
    partner_receipt: str | None = None  # EXCLUSIVE: that proposal's receipt number
    category: str | None = None  # CATEGORY_CAP: the category's name
    cap: int | None = None  # CATEGORY_CAP: the category's cap

    def __str__(self) -> str:
        # gettext at print time, in the reader's language; the amounts through Babel.
        amount = rupiah(self.remaining)
        sentence = {
            WhyNotSelected.EXCLUSIVE: lambda: gettext(
                "Kept out by an exclusive group: it competes with %(partner)s, which is funded, and at most one "
                "of them may be.", partner=self.partner),
            WhyNotSelected.CATEGORY_CAP: lambda: gettext(
                "Kept out by the cap of its category %(category)s (%(cap)s): %(amount)s of the cap is left.",
                category=self.category, cap=rupiah(self.cap), amount=amount),
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
    kept_out = _kept_out_in(payload, line.get("kept_out_by"))
    if kept_out is not None:
        return kept_out
    budget = payload["session"]["budget_ceiling"]
    chosen = [other for other in payload["proposals"] if other["selected"]]
    above = sum(other["estimated_cost"] for other in chosen if other["rank"] < line["rank"])
    return why_not_selected(line["estimated_cost"], budget, payload["selection"],
                            remaining_at_turn=budget - above,
                            remaining=budget - sum(other["estimated_cost"] for other in chosen))


def _kept_out_in(payload: dict, kept_out_by: dict | None) -> NotSelected | None:
    """The exclusive-group or category-cap reason an export line carries (None: the ceiling's, or none)."""
    if not kept_out_by:
        return None
    if kept_out_by["kind"] == "exclusive":
        partner = next((other for other in payload["proposals"]
                        if other["receipt_number"] == kept_out_by["partner"]), None)
        return NotSelected(WhyNotSelected.EXCLUSIVE, partner=_named(kept_out_by["partner"], partner and partner["title"]),
                           partner_receipt=kept_out_by["partner"])
    if kept_out_by["kind"] == "category_cap":
        return NotSelected(WhyNotSelected.CATEGORY_CAP, kept_out_by["remaining"], kept_out_by["over"],
                           category=kept_out_by["category"], cap=kept_out_by["cap"])
    return None


def _named(receipt_number: str | None, title: str | None) -> str:
    """A proposal as a sentence names it: its receipt number and title."""
    return f"{receipt_number or '-'} “{title or ''}”"


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
    must_fund_reason: str | None = None  # a planner's reason to fund it whatever its rank
    required_raters: int | None = None  # planners whose rating it needs (set where it has a missing value)

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def selection(self) -> Selection | None:
        """Selected or not, for the badge; None while the proposal is not ranked."""
        return Selection.of_flag(self.selected)

    @property
    def below_ceiling_line(self) -> bool:
        """Ranked, not funded, and for want of room under the ceiling (not a cap or a competitor):
        the ranked list draws the budget line above the first such proposal."""
        return (self.rank is not None and not self.selected and self.not_selected is not None
                and self.not_selected.reason not in (WhyNotSelected.EXCLUSIVE, WhyNotSelected.CATEGORY_CAP))

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
    constraints: SessionConstraints = field(default_factory=SessionConstraints)
    constraint_problem: str | None = None  # why the must-fund set cannot be funded as a whole
    stability_digest: str | None = None  # what the stability shares are (or would be) computed from
    stability_deferred: bool = False  # too slow for a page and not computed yet (review/stability.py)

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
    """Submitted proposals in receipt order, with business, category and decision: one query.

    A proposal merged into a joint proposal is left out: the joint one is ranked in its place.
    """
    rows = db.session.execute(
        select(Proposal.id, Proposal.session_id, Proposal.receipt_number, Proposal.title, Proposal.category_id,
               Category.name, Proposal.estimated_cost, Proposal.beneficiaries, Proposal.jobs_created,
               Proposal.votes, Proposal.kecamatan, Business.name, Decision.outcome)
        .join(Business, Business.id == Proposal.business_id)
        .outerjoin(Category, Category.id == Proposal.category_id)
        .outerjoin(Decision, Decision.proposal_id == Proposal.id)
        .where(Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED,
               Proposal.merged_into_id.is_(None))
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

    Every rating of the session's submitted proposals, except those by a planner with an active
    conflict of interest with the proposal's business (whenever they were given); a filter that leaves some ratings out of
    the aggregate (e.g. a conflicted planner's) belongs here, so the ranking, the agreement panel
    and the minutes all leave out the same ones.
    """
    return (select(Rating.proposal_id, Rating.criterion_id, Rating.planner_id, Rating.value)
            .join(Proposal, Proposal.id == Rating.proposal_id)
            .where(Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED,
                   ~conflicted_rating()))


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


def aggregate_cube(themed_session: ThemedSession, cube: np.ndarray, excused: np.ndarray | None = None) -> np.ndarray:
    """One value per proposal and rating criterion by the session's aggregation.

    NaN where fewer planners rated than the session requires (`required_raters`): such a
    proposal is not ranked yet, and the list names the criterion as missing. `excused` counts,
    per proposal, the session's planners who may not rate it (a conflict of interest with its
    business): the requirement never exceeds the planners who may.
    """
    values = scoring.aggregate_ratings(cube, themed_session.rating_aggregation.value)
    required = np.full(cube.shape[0], themed_session.required_raters)
    if excused is not None:
        required = np.minimum(required, max(themed_session.planner_count, 1) - excused)
    values[(~np.isnan(cube)).sum(axis=2) < required[:, None]] = np.nan
    return values


def excused_raters(themed_session: ThemedSession, proposals: list[Listed]) -> np.ndarray:
    """Per proposal: how many of the session's planners have an active conflict with its business."""
    planner_ids = [member.id for member in themed_session.members if member.role is Role.PLANNER]
    counts = np.zeros(len(proposals), dtype=np.int64)
    if not planner_ids or not proposals:
        return counts
    rows = db.session.execute(
        select(Proposal.id, func.count(ConflictOfInterest.id))
        .join(ConflictOfInterest, ConflictOfInterest.business_id == Proposal.business_id)
        .where(Proposal.session_id == themed_session.id, ConflictOfInterest.user_id.in_(planner_ids),
               ConflictOfInterest.withdrawn_at.is_(None))
        .group_by(Proposal.id)).all()
    position = {proposal.id: i for i, proposal in enumerate(proposals)}
    for proposal_id, count in rows:
        if proposal_id in position:
            counts[position[proposal_id]] = count
    return counts


def rating_values(themed_session: ThemedSession, proposals: list[Listed],
                  criteria: list[Criterion]) -> np.ndarray:
    """The aggregated rating per proposal and rating criterion, NaN where too few planners rated."""
    cube, _planner_ids = rating_cube(themed_session, proposals, criteria)
    return aggregate_cube(themed_session, cube, excused_raters(themed_session, proposals))


def conflicted_rating():
    """The condition "this rating's planner has an active conflict with its proposal's business"."""
    return exists().where(ConflictOfInterest.user_id == Rating.planner_id,
                          ConflictOfInterest.business_id == Proposal.business_id,
                          ConflictOfInterest.withdrawn_at.is_(None))


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


def build_ranking(themed_session: ThemedSession, *, weights=None, stability: bool | str = True,
                  proposals: list[Listed] | None = None, matrix: np.ndarray | None = None,
                  constraints: SessionConstraints | None = None) -> Ranking:
    """Rank the session's submitted proposals with the saved weights, or with `weights` (what-if).

    `stability`: False skips it; True computes it (or takes the worker's result for the same
    inputs); "quick", for pages, computes it only where that is fast and otherwise takes the
    worker's result or leaves it out, with `Ranking.stability_deferred` set (review/stability.py).

    Tie rule (through `scoring.rank`): scores within 1e-9 tie and go by estimated cost,
    cheaper first, then by receipt number.
    """
    criteria = list(themed_session.criteria)
    if proposals is None:
        proposals = load_proposals(themed_session)
    if matrix is None:
        matrix = build_matrix(themed_session, proposals, criteria)
    if constraints is None:
        constraints = load_constraints(themed_session)
    weight_vector = session_weights(themed_session) if weights is None else np.asarray(weights, float)
    weight_vector = weight_vector / weight_vector.sum()
    directions = np.array([criterion.direction for criterion in criteria])
    complete = ~np.isnan(matrix).any(axis=1) if criteria else np.zeros(len(proposals), dtype=bool)
    keys = [c.key for c in criteria]
    items = []
    for proposal, row in zip(proposals, matrix.tolist(), strict=True):
        values = {key: (None if value != value else value) for key, value in zip(keys, row, strict=True)}  # NaN
        items.append(RankedProposal(proposal=proposal, values=values,
                                    missing=[c for c, value in zip(criteria, row, strict=True) if value != value],
                                    must_fund_reason=constraints.must.get(proposal.id)))
    if any(item.missing for item in items):
        # The list says how many ratings a proposal waits for: the session's rule, lowered by the
        # planners with a conflict of interest with its business (as `aggregate_cube` lowers it).
        excused = excused_raters(themed_session, proposals).tolist()
        planners = max(themed_session.planner_count, 1)
        for item, count in zip(items, excused, strict=True):
            if item.missing:
                item.required_raters = max(min(themed_session.required_raters, planners - count), 0)
    index = np.flatnonzero(complete)
    problem = constraint_problem = digest = None
    deferred = False
    if index.size:
        try:
            constraint_problem, digest, deferred = _score(themed_session, criteria, weight_vector, directions,
                                                          matrix[index], [items[i] for i in index], stability,
                                                          constraints)
        except scoring.CellError as error:  # a value the session's method cannot take (SAW max)
            problem = refused_cell_message(criteria[error.column], items[index[error.row]],
                                           float(matrix[index[error.row], error.column]))
            for item in items:
                item.score = item.rank = item.selected = item.stability = None
            digest, deferred = None, False
    for item in items:
        if item.rank is None:
            item.not_selected = NOT_RANKED
    ranked = sorted((item for item in items if item.rank is not None), key=lambda item: item.rank)
    unranked = [item for item in items if item.rank is None]
    return Ranking(themed_session=themed_session, criteria=criteria, weights=weight_vector,
                   items=ranked + unranked, budget=themed_session.budget_ceiling,
                   generated_at=datetime.now(timezone.utc), problem=problem, constraints=constraints,
                   constraint_problem=constraint_problem, stability_digest=digest, stability_deferred=deferred)


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


def _score(themed_session, criteria, weights, directions, matrix, items, stability,
           constraints: SessionConstraints | None = None) -> tuple[str | None, str | None, bool]:
    """Score, rank and select the complete proposals (in place).

    Returns why the must-fund set cannot fit, the stability's input digest, and whether the
    stability was left to the worker (see `build_ranking`).
    """
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
    budget = themed_session.budget_ceiling
    limits = selection_limits(items, constraints or SessionConstraints())
    problem = must_fund_problem(items, costs, budget, limits)
    if problem:  # shown on the page; the rest of the constraints still apply
        limits = {**limits, "must": None}
    slow = stability_jobs.is_slow(selection, costs, limits)  # exact under constraints: HiGHS per call
    if slow:  # the page's own selection is reused while its inputs stay the same
        chosen = stability_jobs.SELECTIONS.get(
            stability_jobs.selection_digest(scores, costs, budget, selection, limits),
            lambda: scoring.select_within_budget(scores, costs, budget, selection, **limits))
    else:
        chosen = scoring.select_within_budget(scores, costs, budget, selection, **limits)
    shares, digest, deferred = None, None, False
    if stability:
        draws = STABILITY_DRAWS[selection]
        if slow:
            digest = stability_jobs.inputs_digest(
                [item.proposal.id for item in items], matrix, weights, directions, costs, budget,
                {"method": method, "selection": selection, "normalization": normalization, "draws": draws,
                 "spread": STABILITY_SPREAD, "seed": themed_session.id}, limits)
            cached = stability_jobs.cached_shares(themed_session.id, digest)
            if cached is not None:
                shares = np.array([cached.get(item.proposal.id, np.nan) for item in items])
                if np.isnan(shares).any():  # cannot happen with a matching digest; computed again if so
                    shares = None
        if shares is None and slow and stability == "quick":
            deferred = True
        elif shares is None:
            shares = scoring.selection_stability(matrix, weights, directions, costs, budget,
                                                 method=method, selection=selection, spread=STABILITY_SPREAD,
                                                 draws=draws, seed=themed_session.id,
                                                 normalization=normalization, **limits)
    keys = [c.key for c in criteria]
    share_list = [None] * len(items) if shares is None else shares.tolist()
    for item, score, place, taken, part, share in zip(items, scores.tolist(), ranks.tolist(), chosen.tolist(),
                                                     parts.tolist(), share_list, strict=True):
        item.score, item.rank, item.selected, item.stability = score, place, taken, share
        item.contributions = dict(zip(keys, part, strict=True))
    _walk_budget(items, budget, themed_session.selection_method, limits)
    _explain(items, chosen, costs, budget, themed_session.selection_method, limits)
    return problem, digest, deferred


def selection_limits(items: list[RankedProposal], constraints: SessionConstraints) -> dict:
    """The constraints as `select_within_budget`'s keyword arguments, over the rows of `items`."""
    row = {item.proposal.id: i for i, item in enumerate(items)}
    must = np.array([item.proposal.id in constraints.must for item in items], dtype=bool)
    exclusive = [[row[pid] for pid in members if pid in row] for _, _, members in constraints.groups]
    exclusive = [members for members in exclusive if len(members) >= 2]
    caps = dict(constraints.caps)
    # Category ids as group labels; a proposal without a category is in group 0, which has no cap.
    groups = [item.proposal.category_id or 0 for item in items] if caps else None
    return {"must": must if must.any() else None, "exclusive": exclusive, "groups": groups,
            "group_caps": caps or None}


def must_fund_problem(items: list[RankedProposal], costs: np.ndarray, budget: int, limits: dict) -> str | None:
    """Why the must-fund proposals cannot all be funded together, for the planner (None: they can)."""
    must = limits["must"]
    if must is None:
        return None
    total = int(costs[must].sum())
    if total > budget:
        return gettext("The must-fund proposals cannot all be funded: together they cost %(total)s, more than "
                       "the budget ceiling of %(ceiling)s. Take the mark off one of them, or raise the ceiling.",
                       total=rupiah(total), ceiling=rupiah(budget))
    for category_id, cap in sorted((limits["group_caps"] or {}).items()):
        inside = [i for i in np.flatnonzero(must).tolist() if items[i].proposal.category_id == category_id]
        spent = int(costs[inside].sum())
        if spent > cap:
            return gettext("The must-fund proposals of the category %(category)s cost %(total)s together, more "
                           "than its cap of %(cap)s. Raise the cap, or take the mark off one of them.",
                           category=items[inside[0]].proposal.category_name, total=rupiah(spent), cap=rupiah(cap))
    for members in limits["exclusive"]:
        both = [items[i] for i in members if must[i]]
        if len(both) >= 2:
            return gettext("%(first)s and %(second)s are both must-fund but in one exclusive group, of which at "
                           "most one may be funded. Take the mark off one, or delete the group.",
                           first=_named(both[0].proposal.receipt_number, both[0].proposal.title),
                           second=_named(both[1].proposal.receipt_number, both[1].proposal.title))
    return None


def _walk_budget(items, budget: int, selection: SelectionMethod, limits: dict) -> None:
    """Walk the ranked order for the budget line and the "why not selected" amounts (in place).

    Best first funds the must-fund proposals before any other, so what is left at a proposal's
    turn is the ceiling less the must-fund and the other selected proposals ranked above it.
    """
    must = limits["must"]
    first = must is not None and SelectionMethod.of(selection) is SelectionMethod.GREEDY
    reserved = sum(item.proposal.estimated_cost for item, flag in zip(items, must.tolist()) if flag) if first else 0
    spent = above = 0
    for position, item in sorted(enumerate(items), key=lambda pair: pair[1].rank):
        is_must = first and bool(must[position])
        item.remaining_at_turn = budget - spent if not first else budget - reserved - above
        if item.selected:
            spent += item.proposal.estimated_cost
            if not is_must:
                above += item.proposal.estimated_cost
        item.cumulative_cost = spent


def _explain(items, chosen: np.ndarray, costs: np.ndarray, budget: int, selection: SelectionMethod,
             limits: dict) -> None:
    """Each proposal not selected gets the constraint that keeps it out (in place)."""
    remaining = budget - int(costs[chosen].sum())
    constrained = bool(limits["exclusive"] or limits["group_caps"])
    reasons = scoring.exclusion_reasons(chosen, costs, budget, exclusive=limits["exclusive"], groups=limits["groups"],
                                        group_caps=limits["group_caps"]) if constrained else [None] * len(items)
    for item, reason in zip(items, reasons, strict=True):
        if item.selected:
            item.not_selected = None
        elif reason is not None and reason.kind == "exclusive":
            partner = items[reason.partner].proposal
            item.not_selected = NotSelected(WhyNotSelected.EXCLUSIVE,
                                            partner=_named(partner.receipt_number, partner.title),
                                            partner_receipt=partner.receipt_number)
        elif reason is not None and reason.kind == "group_cap":
            cap = limits["group_caps"][reason.group]
            item.not_selected = NotSelected(WhyNotSelected.CATEGORY_CAP, item.proposal.estimated_cost - reason.over,
                                            reason.over, category=item.proposal.category_name, cap=cap)
        else:
            item.not_selected = why_not_selected(item.proposal.estimated_cost, budget, selection,
                                                 remaining_at_turn=item.remaining_at_turn, remaining=remaining)


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
            "must_fund_reason": item.must_fund_reason,
            "kept_out_by": kept_out_by(item.not_selected),
        } for item in ranking.items],
        "generated_at": ranking.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "constraints": constraints_payload(ranking),
    }


def kept_out_by(why: NotSelected | None) -> dict | None:
    """An export line's "kept_out_by": the exclusive group's or the category cap's figures (else None)."""
    if why is None:
        return None
    if why.reason is WhyNotSelected.EXCLUSIVE:
        return {"kind": "exclusive", "partner": why.partner_receipt}
    if why.reason is WhyNotSelected.CATEGORY_CAP:
        return {"kind": "category_cap", "category": why.category, "cap": why.cap, "remaining": why.remaining,
                "over": why.shortfall}
    return None


def constraints_payload(ranking: Ranking) -> dict:
    """The export's "constraints": must-fund with reasons, exclusive groups, category caps (additive keys)."""
    constraints = ranking.constraints
    receipts = {item.proposal.id: item.proposal.receipt_number for item in ranking.items}
    names = {category.id: category.name for category in ranking.themed_session.categories}
    return {
        "must_fund": [{"receipt_number": receipts[pid], "reason": reason}
                      for pid, reason in sorted(constraints.must.items(), key=lambda pair: receipts.get(pair[0]) or "")
                      if pid in receipts],
        "exclusive_groups": [{"name": name, "receipt_numbers": sorted(receipts[pid] for pid in members
                                                                      if pid in receipts)}
                             for _, name, members in constraints.groups],
        "category_caps": [{"category": names[cid], "cap": cap} for cid, cap in constraints.caps.items() if cid in names],
        "problem": ranking.constraint_problem,
    }
