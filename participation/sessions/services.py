"""Themed sessions: the default template, editing, criteria and the life cycle."""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import func, select

from participation.events import Actor, record
from participation.extensions import db
from participation.models import (
    SPENDING_KINDS,
    TRANSITIONS,
    Category,
    Criterion,
    CriterionSource,
    Proposal,
    Role,
    SessionStatus,
    ThemedSession,
    User,
    WeightsOrigin,
)
from participation.scoring.ahp import CR_LIMIT

# DESIGN §1: what the city can typically support. Domain names, kept in Indonesian.
DEFAULT_CATEGORIES = (
    "Bantuan peralatan",
    "Fasilitasi merek",
    "Sertifikasi halal",
    "Pelatihan dan pendampingan",
    "Promosi produk unggulan daerah",
    "Modal kerja usaha mikro",
    "Fasilitasi pemasaran",
    "Peningkatan kapasitas SDM",
)

# key, name, source, direction, weight. Urgency and fit with the regional plan weigh most,
# cost is the main counterweight; the weights sum to 1.
DEFAULT_CRITERIA = (
    ("urgensi", "Urgensi", CriterionSource.RATING, 1, 0.20),
    ("kesesuaian_rpjmd", "Kesesuaian dengan prioritas daerah (RPJMD)", CriterionSource.RATING, 1, 0.20),
    ("kesiapan_pelaksanaan", "Kesiapan pelaksanaan", CriterionSource.RATING, 1, 0.10),
    ("penerima_manfaat", "Penerima manfaat", CriterionSource.BENEFICIARIES, 1, 0.15),
    ("tenaga_kerja_baru", "Tenaga kerja baru", CriterionSource.JOBS_CREATED, 1, 0.10),
    ("perkiraan_biaya", "Perkiraan biaya", CriterionSource.ESTIMATED_COST, -1, 0.15),
    ("dukungan_peserta", "Dukungan peserta", CriterionSource.VOTES, 1, 0.10),
)

SESSION_FIELDS = ("title", "theme", "description", "venue", "meeting_start", "submission_opens_at",
                  "submission_closes_at", "fiscal_year", "budget_ceiling", "max_proposals_per_business",
                  "invitation_only", "scoring_method", "normalization", "selection_method",
                  "rating_aggregation", "min_raters")


OVERRIDE_REASON_MIN, OVERRIDE_REASON_MAX = 5, 500


class SessionError(Exception):
    """A rule refused the change; the message is shown to the planner."""


def check_structure_editable(themed_session: ThemedSession) -> None:
    """Categories, criteria and weights are locked once the session is finalized or archived.

    The final ranking was computed from them; changing them afterwards would make the published
    snapshot disagree with the session it belongs to.
    """
    if not themed_session.is_editable:
        raise SessionError("locked")


def check_min_raters(min_raters: int | None, planner_count: int) -> None:
    """A minimum number of raters is 1 up to the planners in the team (None: every planner)."""
    if min_raters is not None and not 1 <= min_raters <= planner_count:
        raise SessionError("min_raters")


def slugify(text: str) -> str:
    """A criterion key from its name: lower-case ASCII words joined by underscores."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")
    return slug[:60] or "kriteria"


def create_session(data: dict, actor: Actor) -> ThemedSession:
    """A new draft session from the default template; the creator becomes its planner."""
    themed_session = ThemedSession(**{key: data[key] for key in SESSION_FIELDS if key in data},
                                   created_by_id=actor.user_id)
    themed_session.categories = [Category(name=name, position=i) for i, name in enumerate(DEFAULT_CATEGORIES)]
    themed_session.criteria = [
        Criterion(key=key, name=name, source=source, direction=direction, weight=weight, position=i)
        for i, (key, name, source, direction, weight) in enumerate(DEFAULT_CRITERIA)
    ]
    if actor.user is not None and actor.user.role is Role.PLANNER:
        themed_session.members = [actor.user]
    check_min_raters(themed_session.min_raters, themed_session.planner_count)
    db.session.add(themed_session)
    db.session.flush()
    _audit("session.created", themed_session, actor, after={"title": themed_session.title})
    return themed_session


def _audit(event: str, themed_session: ThemedSession, actor: Actor, **kwargs) -> None:
    record(event, actor, themed_session, object_type="ThemedSession", **kwargs)


def update_session(themed_session: ThemedSession, data: dict, actor: Actor) -> dict:
    """Apply edited details; returns {field: (before, after)} for what changed."""
    if not themed_session.is_editable:
        raise SessionError("finalized")
    window = ("submission_opens_at", "submission_closes_at")
    if themed_session.status is SessionStatus.OPEN and any(key in data and data[key] is None for key in window):
        # Owners are submitting: without a window `accepts_submissions` would quietly turn false.
        raise SessionError("window_required")
    if "min_raters" in data:
        check_min_raters(data["min_raters"], themed_session.planner_count)
    changes = {}
    for key in SESSION_FIELDS:
        if key in data and getattr(themed_session, key) != data[key]:
            changes[key] = (getattr(themed_session, key), data[key])
            setattr(themed_session, key, data[key])
    if changes:
        _audit("session.updated", themed_session, actor, before={k: str(v[0]) for k, v in changes.items()},
               after={k: str(v[1]) for k, v in changes.items()})
    return changes


def add_category(themed_session: ThemedSession, name: str, actor: Actor) -> Category:
    """Append a category; names are unique within the session (case-insensitive)."""
    check_structure_editable(themed_session)
    if any(category.name.lower() == name.lower() for category in themed_session.categories):
        raise SessionError("duplicate")
    category = Category(name=name, position=len(themed_session.categories))
    themed_session.categories.append(category)
    db.session.flush()
    _audit("session.category_added", themed_session, actor, after={"category": category.name})
    return category


CATEGORY_SIPD_FIELDS = ("kode_skpd", "nama_skpd", "kode_sub_giat", "giat_teks", "jenis_belanja")


def set_category_sipd(themed_session: ThemedSession, category: Category, data: dict, actor: Actor) -> dict:
    """Set a category's SIPD defaults (OPD, sub-activity, kind of spending); returns {field: (before, after)}.

    Allowed in every status: the codes are not part of the ranking, and planners carry the funded
    proposals into SIPD after finalisation. A code in the wrong format raises `sipd.CodeError`.
    """
    from participation.review import sipd

    if data.get("jenis_belanja") not in SPENDING_KINDS:
        raise SessionError("unknown_spending_kind")
    sipd.check_codes(data)
    changes = {}
    for key in CATEGORY_SIPD_FIELDS:
        value = data.get(key) or ""
        if getattr(category, key) != value:
            changes[key] = (getattr(category, key), value)
            setattr(category, key, value)
    if changes:
        _audit("session.category_sipd_set", themed_session, actor,
               before={"category": category.name, **{k: v[0] for k, v in changes.items()}},
               after={"category": category.name, **{k: v[1] for k, v in changes.items()}})
    return changes


def remove_category(themed_session: ThemedSession, category: Category, actor: Actor) -> None:
    """Remove a category that no proposal uses."""
    check_structure_editable(themed_session)
    used = db.session.scalar(select(func.count(Proposal.id)).where(Proposal.category_id == category.id))
    if used:
        raise SessionError("in_use")
    themed_session.categories.remove(category)
    _renumber(themed_session.categories)
    _audit("session.category_removed", themed_session, actor, before={"category": category.name})


def move(items: list, item, step: int) -> tuple[int, int]:
    """Move `item` one place up (step -1) or down (+1) and renumber positions.

    Returns the item's (before, after) index; they are equal at either end of the list.
    Only the positions change: swapping entries of a delete-orphan relationship list in place
    would orphan, and so delete, the item being replaced.
    """
    order = list(items)
    index = order.index(item)
    target = index + step
    if not 0 <= target < len(order):
        target = index
    order[index], order[target] = order[target], order[index]
    _renumber(order)
    return index, target


def move_category(themed_session: ThemedSession, category: Category, step: int, actor: Actor) -> tuple[int, int]:
    """Move a category one place; returns its (before, after) index."""
    check_structure_editable(themed_session)
    before, after = move(themed_session.categories, category, step)
    if before != after:
        _audit("session.category_moved", themed_session, actor,
               before={"category": category.name, "position": before},
               after={"category": category.name, "position": after})
    return before, after


def move_criterion(themed_session: ThemedSession, criterion: Criterion, step: int, actor: Actor) -> tuple[int, int]:
    """Move a criterion one place; returns its (before, after) index."""
    check_structure_editable(themed_session)
    before, after = move(themed_session.criteria, criterion, step)
    if before != after:
        _audit("session.criterion_moved", themed_session, actor, before={"key": criterion.key, "position": before},
               after={"key": criterion.key, "position": after})
    return before, after


def _renumber(items) -> None:
    for position, item in enumerate(items):
        item.position = position


def add_criterion(themed_session: ThemedSession, actor: Actor, *, name: str, source: CriterionSource,
                  direction: int, weight: float, scale_min: int = 1, scale_max: int = 5) -> Criterion:
    """Append a criterion with a key derived from its name (made unique within the session).

    Only in a draft: once open, proposals and ratings rely on the set of criteria.
    """
    if not themed_session.can_add_or_remove_criteria:
        raise SessionError("criteria_closed")
    base = slugify(name)
    keys = {criterion.key for criterion in themed_session.criteria}
    key, counter = base, 2
    while key in keys:
        key, counter = f"{base[:56]}_{counter}", counter + 1
    criterion = Criterion(key=key, name=name, source=source, direction=direction, weight=weight,
                          scale_min=scale_min, scale_max=scale_max, position=len(themed_session.criteria))
    themed_session.criteria.append(criterion)
    db.session.flush()
    _audit("session.criterion_added", themed_session, actor,
           after={"key": criterion.key, "weight": criterion.weight, "direction": criterion.direction,
                  "source": criterion.source.value})
    return criterion


def update_criterion(criterion: Criterion, data: dict, actor: Actor) -> dict:
    """Change a criterion; its source is fixed once the session has opened."""
    themed_session = criterion.themed_session
    check_structure_editable(themed_session)
    if "source" in data and data["source"] != criterion.source and themed_session.status is not SessionStatus.DRAFT:
        raise SessionError("source_locked")
    changes = {}
    for key in ("name", "source", "direction", "weight", "scale_min", "scale_max"):
        if key in data and getattr(criterion, key) != data[key]:
            changes[key] = (_plain(getattr(criterion, key)), _plain(data[key]))
            setattr(criterion, key, data[key])
    if changes:
        if "weight" in changes:
            _end_ahp_claim(themed_session)
        _audit("session.criterion_updated", themed_session, actor,
               before={"key": criterion.key, **{k: v[0] for k, v in changes.items()}},
               after={"key": criterion.key, **{k: v[1] for k, v in changes.items()}})
    return changes


def remove_criterion(themed_session: ThemedSession, criterion: Criterion, actor: Actor) -> None:
    """Remove a criterion while the session is still a draft."""
    if themed_session.status is not SessionStatus.DRAFT:
        raise SessionError("criteria_locked")
    themed_session.criteria.remove(criterion)
    _renumber(themed_session.criteria)
    _end_ahp_claim(themed_session)
    _audit("session.criterion_removed", themed_session, actor, before={"key": criterion.key})


def set_weights(themed_session: ThemedSession, weights: dict[int, float], actor: Actor, *,
                directions: dict[int, int] | None = None, origin: WeightsOrigin = WeightsOrigin.MANUAL,
                ahp_matrix: list[list[float]] | None = None, ahp_cr: float | None = None,
                override_reason: str | None = None) -> dict:
    """Set every criterion's weight (and, when given, direction) at once; returns the changes by key.

    Every way of saving weights comes here: the weights page, the ranked list's what-if and AHP.
    The origin is stored with them, so typed weights end an earlier AHP claim, and only an AHP
    save keeps a comparison matrix and its consistency ratio. An AHP comparison with CR above
    0.10 is applied only with `override_reason` (5 to 500 characters), stored and audited.
    """
    check_structure_editable(themed_session)
    override_reason = check_ahp_override(origin, ahp_cr, override_reason)
    if set(weights) != {criterion.id for criterion in themed_session.criteria}:
        raise SessionError("unknown_criterion")
    if sum(weights.values()) <= 0:
        raise SessionError("zero_weights")
    if origin is WeightsOrigin.AHP and ahp_matrix is None:
        raise ValueError("AHP weights need their comparison matrix")
    changes = {}
    for criterion in themed_session.criteria:
        new = {"weight": weights[criterion.id],
               "direction": directions[criterion.id] if directions else criterion.direction}
        before = {"weight": criterion.weight, "direction": criterion.direction}
        if new != before:
            changes[criterion.key] = {"before": before, "after": new}
            criterion.weight, criterion.direction = new["weight"], new["direction"]
    origin_before = themed_session.weights_origin
    themed_session.weights_origin = origin
    themed_session.ahp_matrix = ahp_matrix if origin is WeightsOrigin.AHP else None
    themed_session.ahp_cr = ahp_cr if origin is WeightsOrigin.AHP else None
    themed_session.ahp_override_reason = override_reason
    if changes or origin is WeightsOrigin.AHP or origin_before is not origin:
        after = {k: v["after"] for k, v in changes.items()}
        after["origin"] = origin.value
        if origin is WeightsOrigin.AHP:
            after.update(cr=ahp_cr, matrix=ahp_matrix)
            if override_reason:
                after["override_reason"] = override_reason
        _audit("session.weights_set", themed_session, actor, before={k: v["before"] for k, v in changes.items()},
               after=after)
    return changes


def check_ahp_override(origin: WeightsOrigin, ahp_cr: float | None, reason: str | None) -> str | None:
    """The override reason to store: required (5 to 500 characters) when an AHP CR exceeds 0.10.

    Only an inconsistent AHP comparison keeps a reason; any other save clears it.
    """
    if origin is not WeightsOrigin.AHP or ahp_cr is None or ahp_cr <= CR_LIMIT:
        return None
    reason = (reason or "").strip()
    if not reason:
        raise SessionError("ahp_override_required")
    if not OVERRIDE_REASON_MIN <= len(reason) <= OVERRIDE_REASON_MAX:
        raise SessionError("ahp_override_length")
    return reason


def _end_ahp_claim(themed_session: ThemedSession) -> None:
    """Weights changed by hand (or a criterion gone): they no longer come from the AHP matrix."""
    themed_session.weights_origin = WeightsOrigin.MANUAL
    themed_session.ahp_matrix = None
    themed_session.ahp_cr = None
    themed_session.ahp_override_reason = None


def transition(themed_session: ThemedSession, action: str, actor: Actor) -> tuple[SessionStatus, SessionStatus]:
    """Move the session along its life cycle; returns (before, after)."""
    try:
        source, target = TRANSITIONS[action]
    except KeyError:
        raise SessionError("unknown_action") from None
    if themed_session.status is not source:
        raise SessionError("wrong_status")
    if target is SessionStatus.OPEN:
        problems = themed_session.open_problems()
        if problems:
            raise SessionError(" ".join(problems))
    themed_session.status = target
    _audit(f"session.{action}", themed_session, actor, before={"status": source.value},
           after={"status": target.value})
    return source, target


def add_member(themed_session: ThemedSession, user: User, actor: Actor) -> None:
    """Give a planner or facilitator access to the session."""
    if user.role not in (Role.PLANNER, Role.FACILITATOR) or not user.active:
        raise SessionError("not_staff")
    if not themed_session.is_member(user):
        themed_session.members.append(user)
    _audit("session.member_added", themed_session, actor, after={"user_id": user.id, "role": user.role.value})


def remove_member(themed_session: ThemedSession, user: User, actor: Actor) -> None:
    """Take a member off the session; the last planner stays."""
    planners = [member for member in themed_session.members if member.role is Role.PLANNER]
    if user.role is Role.PLANNER and len(planners) <= 1:
        raise SessionError("last_planner")
    if user.role is Role.PLANNER and themed_session.is_member(user) and \
            (themed_session.min_raters or 0) > len(planners) - 1:
        raise SessionError("min_raters_member")
    if themed_session.is_member(user):
        themed_session.members.remove(user)
    _audit("session.member_removed", themed_session, actor, before={"user_id": user.id})


def sessions_for(user) -> list[ThemedSession]:
    """The sessions a staff member works on (all of them for an admin), newest first."""
    query = select(ThemedSession).order_by(ThemedSession.created_at.desc(), ThemedSession.id.desc())
    if user.role is not Role.ADMIN:
        query = query.join(ThemedSession.members).where(User.id == user.id)
    return list(db.session.scalars(query))


def _plain(value):
    return getattr(value, "value", value)
