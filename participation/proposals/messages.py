"""What an owner or facilitator is told when a proposal rule refuses an operation."""
from __future__ import annotations

from flask_babel import gettext as _

from participation.proposals import attachments, services
from participation.proposals.forms import ProposalForm


def error_text(error: services.ProposalError) -> str:
    """The owner-facing message for a refused operation."""
    messages = {
        "closed": _("The submission window of this session is closed."),
        "not_draft": _("Only a draft can be submitted or deleted."),
        "not_submitted": _("Only a submitted proposal can be withdrawn."),
        "limit": _("Your business has reached this session's limit of %(limit)s submitted proposals. "
                   "Keep this one as a draft, or withdraw another first.",
                   limit=error.details.get("limit", "")),
        "incomplete": _("Complete every field before submitting."),
    }
    return messages.get(error.code, error.code)


def attachment_text(error: attachments.AttachmentError) -> str:
    return {
        "too_large": _("The file is larger than 5 MB."),
        "wrong_type": _("Only PDF, JPEG or PNG files are accepted (checked by their content)."),
        "empty": _("The file is empty."),
    }[error.code]


def mark_missing(form: ProposalForm, fields: list[str]) -> None:
    """Put a 'required to submit' message on each missing field."""
    for name in fields:
        form[name].errors.append(_("Required before submitting."))
