"""A proposal merged into a joint proposal by the planners, and the merge undone: to each original's
owner (a walk-in's business without an account is not told). Always by email and in the app, like
the receipt: the proposal they submitted is no longer ranked on its own, or is again."""
from __future__ import annotations

from participation.models import Proposal
from participation.notifications.registry import Notice, kind


def _to_original(payload: dict) -> tuple[str, dict]:
    return "proposals.detail", {"proposal_id": payload["proposal_id"]}


def _notices(joint: Proposal) -> list[Notice]:
    """One notice per original of `joint` whose business has an account."""
    themed_session = joint.themed_session
    notices = []
    for row in joint.co_proposers:
        original = row.original
        owner = original.business.user if original.business else None
        if owner is None:
            continue
        notices.append(Notice(owner, {
            "proposal_id": original.id, "receipt_number": original.receipt_number, "title": original.title,
            "joint_id": joint.id, "joint_receipt_number": joint.receipt_number, "joint_title": joint.title,
            "co_proposers": len({other.business_id for other in joint.co_proposers}),
            "session_id": themed_session.id, "session_title": themed_session.title}))
    return notices


@kind("proposal_merged", on="proposal.merged", link=_to_original)
def proposal_merged(event, actor, joint) -> list[Notice]:
    """To each original's owner: their proposal is now part of the joint proposal, ranked in its place."""
    return _notices(joint)


@kind("proposal_merge_undone", on="proposal.merge_undone", link=_to_original)
def proposal_merge_undone(event, actor, joint) -> list[Notice]:
    """To each original's owner: the merge was undone, their proposal is ranked on its own again."""
    return _notices(joint)
