"""The outcome for each proposal's owner when its session is finalised, and each later correction
of its decision. Authors always get these by email (no choices), like the receipt."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from participation.extensions import db
from participation.models import Proposal, ProposalStatus
from participation.notifications.registry import Notice, kind


def _to_breakdown(payload: dict) -> tuple[str, dict]:
    return "proposals.detail", {"proposal_id": payload["proposal_id"]}


def _owners(proposal: Proposal) -> list:
    """Who hears of a proposal's outcome: its business's owner and, for a joint proposal, every
    co-proposer's, each once."""
    businesses = [proposal.business] + [row.business for row in proposal.co_proposers]
    owners = {}
    for business in businesses:
        if business is not None and business.user is not None:
            owners.setdefault(business.user.id, business.user)
    return list(owners.values())


def _base(proposal: Proposal) -> dict:
    return {"proposal_id": proposal.id, "receipt_number": proposal.receipt_number, "title": proposal.title,
            "session_id": proposal.session_id, "session_title": proposal.themed_session.title}


@kind("outcome", on="session.finalized", link=_to_breakdown)
def outcome(event, actor, themed_session) -> list[Notice]:
    """To the owner of every submitted proposal of the session: its line in the final ranking."""
    from participation.review.services import latest_snapshot

    snapshot = latest_snapshot(themed_session)
    if snapshot is None:
        return []
    export = snapshot.payload["export"]
    lines = {line["receipt_number"]: line for line in export["proposals"]}
    ranked = sum(1 for line in export["proposals"] if line.get("rank") is not None)
    notices = []
    proposals = db.session.scalars(
        select(Proposal).where(Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED,
                               Proposal.merged_into_id.is_(None))  # a merged one is ranked as its joint one
        .options(selectinload(Proposal.business), selectinload(Proposal.co_proposers)).order_by(Proposal.id))
    for proposal in proposals:
        line = lines.get(proposal.receipt_number) or {}
        decision = proposal.decision
        notices.extend(Notice(owner, {
            **_base(proposal), "rank": line.get("rank"), "ranked": ranked, "score": line.get("score"),
            "selected": bool(line.get("selected")), "budget_ceiling": export["session"]["budget_ceiling"],
            "estimated_cost": proposal.estimated_cost,
            "decision": decision.outcome.value if decision else None, "reason": decision.reason if decision else "",
            "excluded": snapshot.payload.get("excluded", {}).get(str(proposal.id)),
            "version": snapshot.version}) for owner in _owners(proposal))
    return notices


@kind("outcome_corrected", on="decision.corrected", link=_to_breakdown)
def outcome_corrected(event, actor, proposal) -> list[Notice]:
    """To the owner when a correction after finalisation changes the decision (its outcome or reason)."""
    before, after = event.before or {}, event.after or {}
    if (before.get("outcome"), before.get("reason")) == (after.get("outcome"), after.get("reason")):
        return []
    if proposal.status is not ProposalStatus.SUBMITTED:
        return []
    return [Notice(owner, {**_base(proposal), "decision": after.get("outcome"), "reason": after.get("reason") or "",
                           "previous_decision": before.get("outcome"), "rank": after.get("rank"),
                           "correction_reason": after.get("correction_reason") or ""}) for owner in _owners(proposal)]
