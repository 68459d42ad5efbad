"""Marshmallow schemas of the public reads: what the public pages show, never an NIB, phone or file."""
from __future__ import annotations

from datetime import timezone

import marshmallow as ma

from participation.models import CriterionSource, FollowUpStatus, Outcome, SessionStatus

PUBLIC_STATUSES = (SessionStatus.OPEN, SessionStatus.REVIEW, SessionStatus.FINALIZED)


class UtcDateTime(ma.fields.DateTime):
    """A stored (naive UTC) timestamp written as RFC 3339 with its offset, e.g. 2027-02-12T03:00:00+00:00."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


class SameObject(ma.fields.Nested):
    """A nested object drawn from the same object's own attributes (a group of its fields)."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return obj


def codes(enum_cls, members=None) -> ma.validate.OneOf:
    """The codes of `enum_cls` (or of `members`), as the document's enum."""
    return ma.validate.OneOf([member.value for member in (members or enum_cls)])


class SubmissionWindowSchema(ma.Schema):
    opens_at = UtcDateTime(allow_none=True, required=True, attribute="submission_opens_at")
    closes_at = UtcDateTime(allow_none=True, required=True, attribute="submission_closes_at")


class SessionSchema(ma.Schema):
    """A session as the public list shows it."""

    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    theme = ma.fields.String(required=True)
    status = ma.fields.String(required=True, attribute="status.value", validate=codes(SessionStatus, PUBLIC_STATUSES))
    fiscal_year = ma.fields.Integer(required=True, metadata={"description": "The budget year (tahun anggaran)"})
    budget_ceiling = ma.fields.Integer(required=True, metadata={"description": "Pagu, whole Rupiah"})
    submission_window = SameObject(SubmissionWindowSchema, required=True)
    meeting_start = UtcDateTime(allow_none=True, required=True)
    venue = ma.fields.String(required=True)


class CategorySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class CriterionSchema(ma.Schema):
    """A criterion with its weight normalised to sum 1 over the session, as the ranking uses it."""

    key = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    weight = ma.fields.Float(required=True)
    direction = ma.fields.Integer(required=True, validate=ma.validate.OneOf([1, -1]),
                                  metadata={"description": "1: higher is better; -1: lower is better"})
    source = ma.fields.String(required=True, validate=codes(CriterionSource))


class NormalisedCriteria(ma.fields.List):
    """A session's criteria in order, each weight divided by their sum (as the export gives them)."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        from participation.review.ranking import session_weights

        weights = session_weights(obj)
        return [{"key": criterion.key, "name": criterion.name, "weight": float(weights[j]),
                 "direction": criterion.direction, "source": criterion.source.value}
                for j, criterion in enumerate(obj.criteria)]


class SessionDetailSchema(SessionSchema):
    """One session with its categories and criteria."""

    description = ma.fields.String(required=True)
    scoring_method = ma.fields.String(required=True, attribute="scoring_method.value")
    normalization = ma.fields.String(required=True, attribute="normalization.value")
    selection_method = ma.fields.String(required=True, attribute="selection_method.value")
    categories = ma.fields.List(ma.fields.Nested(CategorySchema), required=True)
    criteria = NormalisedCriteria(ma.fields.Nested(CriterionSchema), required=True)


class ResultSessionSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    budget_ceiling = ma.fields.Integer(required=True)


class ResultLineSchema(ma.Schema):
    """One proposal's line of the final ranking (DESIGN §7, plus its kecamatan and the decision's reason)."""

    rank = ma.fields.Integer(required=True, allow_none=True, metadata={"description": "null: not ranked"})
    receipt_number = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    business = ma.fields.String(required=True)
    category = ma.fields.String(required=True, allow_none=True)
    kecamatan = ma.fields.String(required=True)
    estimated_cost = ma.fields.Integer(required=True)
    values = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float(allow_none=True), required=True,
                            metadata={"description": "Aggregated raw value per criterion key"})
    score = ma.fields.Float(required=True, allow_none=True)
    selected = ma.fields.Boolean(required=True, allow_none=True)
    decision = ma.fields.String(required=True, allow_none=True, validate=codes(Outcome))
    reason = ma.fields.String(required=True, allow_none=True)
    must_fund_reason = ma.fields.String(allow_none=True, metadata={
        "description": "Why the planners fund it whatever its rank; null when it is not must-fund"})
    kept_out_by = ma.fields.Dict(allow_none=True, metadata={
        "description": "What keeps a ranked proposal out of the funded set besides the ceiling: "
                       '{"kind": "exclusive", "partner": receipt number} or {"kind": "category_cap", '
                       '"category", "cap", "remaining", "over"}; null otherwise'})


class AggregationSchema(ma.Schema):
    """How the planners' ratings became one value (absent from snapshots made before the setting)."""

    method = ma.fields.String(required=True, validate=ma.validate.OneOf(["mean", "median", "standardized"]))
    min_raters = ma.fields.Integer(required=True, allow_none=True,
                                   metadata={"description": "null: every planner of the session"})


class MustFundSchema(ma.Schema):
    receipt_number = ma.fields.String(required=True)
    reason = ma.fields.String(required=True)


class ExclusiveGroupSchema(ma.Schema):
    name = ma.fields.String(required=True)
    receipt_numbers = ma.fields.List(ma.fields.String(), required=True)


class CategoryCapSchema(ma.Schema):
    category = ma.fields.String(required=True)
    cap = ma.fields.Integer(required=True, metadata={"description": "Whole Rupiah"})


class ConstraintsSchema(ma.Schema):
    """The planners' selection constraints (absent from snapshots made before them)."""

    must_fund = ma.fields.List(ma.fields.Nested(MustFundSchema), required=True)
    exclusive_groups = ma.fields.List(ma.fields.Nested(ExclusiveGroupSchema), required=True)
    category_caps = ma.fields.List(ma.fields.Nested(CategoryCapSchema), required=True)
    problem = ma.fields.String(required=True, allow_none=True)


class RankingSchema(ma.Schema):
    """A ranking in the export's figures (DESIGN §7): `flask export-ranking`."""

    session = ma.fields.Nested(ResultSessionSchema, required=True)
    method = ma.fields.String(required=True)
    normalization = ma.fields.String(required=True)
    selection = ma.fields.String(required=True)
    aggregation = ma.fields.Nested(AggregationSchema)
    constraints = ma.fields.Nested(ConstraintsSchema)
    criteria = ma.fields.List(ma.fields.Nested(CriterionSchema), required=True)
    proposals = ma.fields.List(ma.fields.Nested(ResultLineSchema), required=True)
    generated_at = ma.fields.String(required=True)


class ResultsSchema(RankingSchema):
    """The latest snapshot of a finalised session: the figures of `flask export-ranking`."""

    snapshot_version = ma.fields.Integer(required=True)


class FollowUpUpdateSchema(ma.Schema):
    """One dated update of a funded proposal's follow-up (never its author or photo)."""

    date = ma.fields.String(required=True, metadata={"description": "YYYY-MM-DD"})
    status = ma.fields.String(required=True, validate=codes(FollowUpStatus))
    progress = ma.fields.Integer(required=True, validate=ma.validate.Range(0, 100),
                                 metadata={"description": "Physical progress, percent"})
    realised_amount = ma.fields.Integer(required=True, metadata={"description": "Realised budget so far, whole Rupiah"})
    note = ma.fields.String(required=True)
    cancel_reason = ma.fields.String(required=True, allow_none=True)


class FollowUpSchema(ma.Schema):
    """One funded proposal's follow-up: its latest state and its dated updates, oldest first."""

    receipt_number = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    opd = ma.fields.String(required=True, metadata={"description": "The responsible office (OPD); empty when not set"})
    budget_year = ma.fields.Integer(required=True)
    allocated_amount = ma.fields.Integer(required=True, metadata={"description": "Whole Rupiah"})
    status = ma.fields.String(required=True, validate=codes(FollowUpStatus))
    progress = ma.fields.Integer(required=True, validate=ma.validate.Range(0, 100))
    realised_amount = ma.fields.Integer(required=True)
    cancel_reason = ma.fields.String(required=True, allow_none=True)
    updates = ma.fields.List(ma.fields.Nested(FollowUpUpdateSchema), required=True)


class MonthRealisationSchema(ma.Schema):
    month = ma.fields.String(required=True, metadata={"description": "YYYY-MM"})
    realised_amount = ma.fields.Integer(required=True, metadata={"description": "Realised in the month"})
    cumulative = ma.fields.Integer(required=True, metadata={"description": "Realised up to the month's end"})


class FollowUpSummarySchema(ma.Schema):
    """The public page's summary: the mean progress leaves out cancelled proposals, the budgets count all."""

    funded = ma.fields.Integer(required=True)
    planned = ma.fields.Integer(required=True)
    in_progress = ma.fields.Integer(required=True)
    completed = ma.fields.Integer(required=True)
    cancelled = ma.fields.Integer(required=True)
    mean_progress = ma.fields.Float(required=True)
    allocated_amount = ma.fields.Integer(required=True)
    realised_amount = ma.fields.Integer(required=True)
    months = ma.fields.List(ma.fields.Nested(MonthRealisationSchema), required=True)


class SessionFollowUpSchema(ma.Schema):
    """The follow-up of a finalised session's funded proposals, by receipt number."""

    session = ma.fields.Nested(ResultSessionSchema, required=True)
    summary = ma.fields.Nested(FollowUpSummarySchema, required=True)
    follow_ups = ma.fields.List(ma.fields.Nested(FollowUpSchema), required=True)
