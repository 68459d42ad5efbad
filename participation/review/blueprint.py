"""The review blueprint shared by its views (ranked list, rating, meeting votes, decisions)."""
from __future__ import annotations

from flask import Blueprint, abort
from flask_babel import gettext as _

from participation.extensions import db
from participation.models import Proposal, ProposalStatus
from participation.review import services

bp = Blueprint("review", __name__, url_prefix="/sesi/<int:session_id>")

ERRORS = {
    "closed": lambda d: _("Ratings and votes can be changed while the session is open or under review."),
    "locked": lambda d: _("The session is finalised: give a reason for the correction."),
    "not_submitted": lambda d: _("Only submitted proposals are rated."),
    "conflict": lambda d: _("Someone saved this rating after you opened the form. Nothing was overwritten: "
                            "check the current values below and save again."),
    "not_in_review": lambda d: _("Decisions and finalisation happen while the session is under review."),
    "incomplete": lambda d: _("Some proposals cannot be ranked yet: rate them, or exclude each with a reason."),
    "unrankable": lambda d: str(d["problem"]),
    "conflicted": lambda d: _("You have declared a conflict of interest with this business: you do not rate or "
                              "decide its proposals."),
}


def message(error: services.ReviewError) -> str:
    return ERRORS[error.code](error.details)


def load_session_proposal(themed_session, proposal_id: int) -> Proposal:
    proposal = db.session.get(Proposal, proposal_id)
    if (proposal is None or proposal.session_id != themed_session.id
            or proposal.status is not ProposalStatus.SUBMITTED or proposal.is_merged):
        abort(404)  # a merged proposal is rated and decided as part of its joint proposal
    return proposal
