"""The messages: one function each, from an audit event to its recipients and payloads.

A payload holds what the message says, as it was when the event happened (the title submitted,
the deadline then); the text is rendered from it at send time in the recipient's language.
Times are ISO strings in UTC (`render` turns keys ending in `_at` back into datetimes).
"""
from __future__ import annotations

from participation.extensions import db
from participation.models import Proposal, utcnow
from participation.notifications.registry import Notice, kind


def _iso(value) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def _owner(proposal: Proposal | None):
    """The account behind the proposal's business, if it has one (a walk-in's paper form has none)."""
    if proposal is None or proposal.business is None:
        return None
    return proposal.business.user


def proposal_payload(proposal: Proposal) -> dict:
    themed_session = proposal.themed_session
    return {
        "proposal_id": proposal.id,
        "receipt_number": proposal.receipt_number,
        "title": proposal.title,
        "session_id": themed_session.id,
        "session_title": themed_session.title,
        "source": proposal.source.value,
        # Until when the owner may still edit or withdraw it (None: no longer, e.g. a paper form
        # typed in after the window closed).
        "editable_until_at": (_iso(themed_session.submission_closes_at)
                              if proposal.owner_change_refusal() is None else None),
    }


def _to_proposal(payload: dict) -> tuple[str, dict]:
    return "proposals.detail", {"proposal_id": payload["proposal_id"]}


@kind("proposal_receipt", on=("proposal.submitted", "proposal.resubmitted", "proposal.paper_entered"),
      link=_to_proposal)
def proposal_receipt(event, actor, obj) -> list[Notice]:
    """The receipt for a submitted proposal: to the business's account, whoever submitted it
    (the owner online, or a facilitator typing in a paper form for a business with an account),
    and again when a withdrawn proposal is submitted once more (with the same receipt number)."""
    if isinstance(obj, Proposal):
        proposal = obj
    else:  # proposal.paper_entered is recorded on the session, naming the proposal
        proposal_id = (event.after or {}).get("proposal_id")
        proposal = db.session.get(Proposal, proposal_id) if proposal_id else None
    owner = _owner(proposal)
    if owner is None:
        return []
    return [Notice(owner, {**proposal_payload(proposal),
                           "submitted_at": _iso(proposal.submitted_at)})]


@kind("proposal_withdrawn", on="proposal.withdrawn", link=_to_proposal)
def proposal_withdrawn(event, actor, proposal) -> list[Notice]:
    """The confirmation that a proposal was withdrawn; none when its account is being erased."""
    if (event.after or {}).get("reason") == "account_erased":
        return []
    owner = _owner(proposal)
    if owner is None:
        return []
    return [Notice(owner, {**proposal_payload(proposal), "withdrawn_at": _iso(utcnow())})]


# The other kinds, in the order the preferences form lists them.
from participation.notifications import (  # noqa: E402,F401,I001
    kinds_follow_up, kinds_joint, kinds_meeting, kinds_outcome, kinds_scheduled,
)
