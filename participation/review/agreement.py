"""How far a session's planners agree: the figures of the agreement panel and of the minutes.

The ratings come from the ranking's own cube (`rating_cube`, one query), so the panel reads the
same ratings as the aggregate; the numbers come from `participation.scoring`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from babel.numbers import format_decimal
from flask_babel import get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from participation import scoring
from participation.extensions import db
from participation.models import Criterion, CriterionSource, LabelledEnum, RatingAggregation, ThemedSession, User
from participation.review.ranking import Listed, load_proposals, rating_cube

ALPHA_GOOD = 0.80
ALPHA_TENTATIVE = 0.67
SPREAD_TO_DISCUSS = 2  # scale points between a proposal's lowest and highest rating on a criterion


class AgreementReading(LabelledEnum):
    """What a Krippendorff's alpha says in plain words."""

    GOOD = "good", _l("Good agreement"), "success"
    TENTATIVE = "tentative", _l("Tentative"), "warning"
    DISCUSS = "discuss", _l("Discuss before deciding"), "danger"
    NOT_ENOUGH = "not_enough", _l("Not enough ratings yet"), "secondary"

    @classmethod
    def of_alpha(cls, alpha: float | None) -> AgreementReading:
        """At least 0.80 good, 0.67 up to 0.80 tentative, lower: discuss; NaN or None: not enough ratings."""
        if alpha is None or alpha != alpha:
            return cls.NOT_ENOUGH
        if alpha >= ALPHA_GOOD:
            return cls.GOOD
        if alpha >= ALPHA_TENTATIVE:
            return cls.TENTATIVE
        return cls.DISCUSS


@dataclass(frozen=True)
class CriterionAgreement:
    criterion: Criterion
    alpha: float | None  # None: undefined (too few pairable ratings, or no variation)

    @property
    def reading(self) -> AgreementReading:
        return AgreementReading.of_alpha(self.alpha)


@dataclass(frozen=True)
class PlannerLeniency:
    """A planner's mean offset from the others on the proposals both rated (None: nothing shared)."""

    planner_id: int
    name: str
    overall: float | None
    by_criterion: list[tuple[Criterion, float | None]]


@dataclass(frozen=True)
class Spread:
    """A proposal whose ratings on a criterion lie `SPREAD_TO_DISCUSS` scale points apart or more."""

    proposal: Listed
    criterion: Criterion
    lowest: float
    highest: float


@dataclass(frozen=True)
class Agreement:
    criteria: list[CriterionAgreement]
    planners: list[PlannerLeniency]
    spreads: list[Spread]

    def spreads_by_proposal(self) -> list[tuple[Listed, list[Spread]]]:
        """The spreads grouped per proposal, in receipt order."""
        groups: dict[int, tuple[Listed, list[Spread]]] = {}
        for spread in self.spreads:
            groups.setdefault(spread.proposal.id, (spread.proposal, []))[1].append(spread)
        return list(groups.values())


def _or_none(value: float) -> float | None:
    return None if value != value else float(value)


def session_agreement(themed_session: ThemedSession, proposals: list[Listed] | None = None) -> Agreement:
    """Alpha (ordinal) per rating criterion, each planner's leniency, and the widely spread ratings.

    Planners are listed by name (then id); spreads in receipt order, then the session's criterion order.
    """
    criteria = [c for c in themed_session.criteria if c.source is CriterionSource.RATING]
    if proposals is None:
        proposals = load_proposals(themed_session)
    cube, planner_ids = rating_cube(themed_session, proposals, criteria)
    if not planner_ids:
        return Agreement([CriterionAgreement(c, None) for c in criteria], [], [])
    alphas = scoring.rating_agreement(cube, "ordinal")
    leniency = scoring.rater_leniency(cube)  # (k, r)
    n, k, r = cube.shape
    overall = scoring.rater_leniency(cube.reshape(n * k, 1, r))[0]  # every (proposal, criterion) as one unit
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(planner_ids))).all())
    planners = sorted((PlannerLeniency(planner_id, names.get(planner_id, "–"), _or_none(overall[i]),
                                       [(c, _or_none(leniency[j, i])) for j, c in enumerate(criteria)])
                       for i, planner_id in enumerate(planner_ids)), key=lambda p: (p.name, p.planner_id))
    return Agreement([CriterionAgreement(c, _or_none(alphas[j])) for j, c in enumerate(criteria)], planners,
                     _spreads(cube, proposals, criteria))


def _spreads(cube: np.ndarray, proposals: list[Listed], criteria: list[Criterion]) -> list[Spread]:
    rated = ~np.isnan(cube)
    highest = np.where(rated, cube, -np.inf).max(axis=2)
    lowest = np.where(rated, cube, np.inf).min(axis=2)
    wide = (rated.sum(axis=2) >= 2) & (highest - lowest >= SPREAD_TO_DISCUSS)
    return [Spread(proposals[i], criteria[j], float(lowest[i, j]), float(highest[i, j]))
            for i, j in zip(*np.nonzero(wide), strict=True)]


def signed(value: float | None) -> str:
    """An offset in scale points with its sign, e.g. +0,95 or −0,50 (Babel's separators)."""
    if value is None:
        return "–"
    return format_decimal(round(value, 2) + 0.0, format="+0.00;-0.00", locale=get_locale())


def alpha_text(value: float | None) -> str:
    """Alpha with three decimals (Babel's separators), or a dash where it is undefined."""
    if value is None:
        return "–"
    return format_decimal(value, format="0.000", locale=get_locale())


def raters_rule(min_raters: int | None) -> str:
    """Who must rate a proposal before it is ranked, in words."""
    if min_raters is None:
        return gettext("every planner of the session rates a proposal before it is ranked")
    return ngettext("at least %(num)d planner rates a proposal before it is ranked",
                    "at least %(num)d planners rate a proposal before it is ranked", min_raters)


def aggregation_of(payload: dict) -> dict:
    """The aggregation a ranking payload records; a snapshot older than the setting used the mean of all."""
    return payload.get("aggregation") or {"method": RatingAggregation.MEAN.value, "min_raters": None}
