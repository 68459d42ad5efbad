"""The owner of a funded proposal hears of each follow-up update (its progress on the way to delivery)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from participation.notifications.registry import CHOICES, Notice, kind


def _to_proposal(payload: dict) -> tuple[str, dict]:
    return "proposals.detail", {"proposal_id": payload["proposal_id"]}


@kind("follow_up_update", on="follow_up.updated", link=_to_proposal, choices=CHOICES,
      label=_l("Progress of a funded proposal (follow-up updates)"), audience="owners")
def follow_up_update(event, actor, follow_up) -> list[Notice]:
    """To the owner of the proposal: the new status, progress, realised budget and note, as of the update."""
    proposal = follow_up.proposal
    owner = proposal.business.user if proposal.business else None
    if owner is None:
        return []
    after = event.after or {}
    return [Notice(owner, {
        "proposal_id": proposal.id, "receipt_number": proposal.receipt_number, "title": proposal.title,
        "session_id": proposal.session_id, "session_title": proposal.themed_session.title,
        "status": after.get("status"), "progress": after.get("progress"), "realised": after.get("realised"),
        "allocated": follow_up.allocated_amount, "dated": after.get("dated"), "note": after.get("note") or "",
        "cancel_reason": after.get("cancel_reason") or ""})]
