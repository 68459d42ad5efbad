"""What a planner is told when a session rule refuses a change (shared by every door to it)."""
from __future__ import annotations

from flask_babel import gettext as _

from participation.sessions.services import SessionError

ERRORS = {
    "duplicate": lambda: _("A category with that name already exists."),
    "in_use": lambda: _("Proposals use this category; it cannot be removed."),
    "source_locked": lambda: _("A criterion's source cannot change once the session has opened."),
    "criteria_locked": lambda: _("Criteria can only be removed while the session is a draft."),
    "criteria_closed": lambda: _("Criteria can only be added while the session is a draft."),
    "zero_weights": lambda: _("At least one criterion needs a weight above zero."),
    "wrong_status": lambda: _("The session is not in a state that allows this."),
    "unknown_action": lambda: _("Unknown action."),
    "finalized": lambda: _("A finalized session can no longer be changed."),
    "locked": lambda: _("Categories, criteria and weights are locked once the session is finalized."),
    "window_required": lambda: _("The submission window cannot be cleared while the session is open."),
    "not_staff": lambda: _("Only active planners and facilitators can join a session's team."),
    "last_planner": lambda: _("A session needs at least one planner."),
    "min_raters": lambda: _("The number of planners who must rate a proposal is 1 up to the number of planners "
                            "in the session's team; leave it empty for every planner."),
    "min_raters_member": lambda: _("The session needs this many planners to rate each proposal: lower the "
                                   "number of planners who must rate a proposal before this planner leaves."),
    "ahp_override_required": lambda: _("The comparisons are inconsistent (CR above 0.10): to apply these weights "
                                       "anyway, give the reason for the override."),
    "ahp_override_length": lambda: _("The reason for the override must be 5 to 500 characters."),
    "unknown_spending_kind": lambda: _("Choose one of the listed kinds of spending."),
    "unknown_criterion": lambda: _("The criteria have changed since the page was opened; check the weights again."),
}


def error_message(error: SessionError) -> str:
    """The user-facing message for a refused change."""
    code = str(error)
    return ERRORS[code]() if code in ERRORS else code


def meeting_frozen_message() -> str:
    """Why the agenda, roster, attendance and document settings refuse a change once finalized."""
    return _("The session is finalised: the agenda, the invitation roster, attendance and the document "
             "settings stay as the minutes record them.")
