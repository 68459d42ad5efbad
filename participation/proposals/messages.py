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
        "not_invited": _("This session takes proposals only from invited businesses, and yours is not on its "
                         "invitation list. You can still read this proposal, and delete it while it is a draft."),
        "withdrawn": _("A withdrawn proposal cannot be changed. While the window is open you can submit it "
                       "again, and then edit it."),
        "not_withdrawn": _("Only a withdrawn proposal can be submitted again."),
        "merged": _("The planners merged this proposal into a joint proposal; it can no longer be changed. "
                    "Contact the planners of the session if it should be reviewed on its own."),
        "joint": _("A joint proposal is made and changed by the planners of the session."),
        "unverified": _("Confirm your email address before submitting: open the link we sent you, or send it "
                        "again from the notice at the top of the page. You can save this proposal as a draft "
                        "meanwhile."),
        "volume": _("The quantity must be above zero."),
        "draft_limit": draft_limit_text(error.details.get("limit", "")),
    }
    return messages.get(error.code, error.code)


def draft_limit_text(limit) -> str:
    """Why no new draft can be saved: the business keeps the most drafts a session allows."""
    return _("Your business already keeps the limit of %(limit)s drafts in this session. Submit or delete "
             "one of them first, or submit this proposal at once.", limit=limit)


def attachment_text(error: attachments.AttachmentError) -> str:
    return {
        "too_large": _("The file is larger than 5 MB."),
        "wrong_type": _("Only PDF, JPEG or PNG files are accepted (checked by their content)."),
        "empty": _("The file is empty."),
    }[error.code]


def mark_missing(form: ProposalForm, fields: list[str]) -> None:
    """Put a 'required to submit' message on each missing field."""
    if form.city is not None:  # one select stands for both place fields
        fields = list(dict.fromkeys("kelurahan_code" if name in ("kelurahan", "kecamatan") else name
                                    for name in fields))
    for name in fields:
        form[name].errors.append(_("Required before submitting."))
