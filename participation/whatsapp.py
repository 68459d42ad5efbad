"""Click-to-chat links for WhatsApp, where business owners are (issue 12).

The facilitator's pages offer a `https://wa.me/62…?text=…` link with a prefilled Indonesian (or the
owner's language) message: the invitation on the roster, the receipt on a submitted proposal.
Opening it starts a chat in the staff member's own WhatsApp with the message typed in, to be read
and sent by them: nothing is sent on anyone's behalf and no unofficial gateway is used. Only the
numbers the validation module accepts (+62…) get a link.
"""
from __future__ import annotations

import re
from urllib.parse import quote

from flask_babel import force_locale
from flask_babel import gettext as _

from participation.i18n import date_time, full_date, time_of_day
from participation.notifications.render import public_url, recipient_locale

_INDONESIAN_MOBILE = re.compile(r"^\+62(\d{8,13})$")


def chat_link(phone: str | None, message: str) -> str | None:
    """The wa.me link that opens a chat with `phone` and `message` typed in; None without a usable number."""
    match = _INDONESIAN_MOBILE.match(phone or "")
    if match is None:
        return None
    return f"https://wa.me/62{match.group(1)}?text={quote(message, safe='')}"


def _owner_locale(business) -> str:
    return recipient_locale(business.user if business is not None else None)


def invitation_link(invitation) -> str | None:
    """The invitation to the session, for the invited business's phone."""
    business, themed_session = invitation.business, invitation.themed_session
    if not business.phone:
        return None
    with force_locale(_owner_locale(business)):
        when = (_("on %(day)s at %(time)s", day=full_date(themed_session.meeting_start),
                  time=time_of_day(themed_session.meeting_start))
                if themed_session.meeting_start else _("at a date still to be announced"))
        lines = [_("Dear %(owner)s,", owner=business.owner_name),
                 _("%(business)s is invited to %(session)s %(when)s, at %(venue)s.", business=business.name,
                   session=themed_session.title, when=when, venue=themed_session.venue or "–")]
        if themed_session.invitation_notes:
            lines.append(_("Please bring: %(items)s", items=themed_session.invitation_notes))
        lines.append(_("Regards, %(institution)s", institution=_institution()))
        return chat_link(business.phone, "\n".join(lines))


def receipt_link(proposal) -> str | None:
    """The receipt of a submitted proposal, for its business's phone."""
    business = proposal.business
    if not business.phone or not proposal.receipt_number:
        return None
    with force_locale(_owner_locale(business)):
        lines = [_("Dear %(owner)s,", owner=business.owner_name),
                 _("The proposal \u201c%(title)s\u201d of %(business)s was received in %(session)s on %(at)s "
                   "with receipt number %(number)s.", title=proposal.title, business=business.name,
                   session=proposal.themed_session.title, at=date_time(proposal.submitted_at),
                   number=proposal.receipt_number)]
        if business.user is not None:
            lines.append(_("You can follow it here: %(link)s",
                           link=public_url("proposals.detail", proposal_id=proposal.id)))
        lines.append(_("Regards, %(institution)s", institution=_institution()))
        return chat_link(business.phone, "\n".join(lines))


def _institution() -> str:
    from participation.documents.services import letterhead

    return letterhead().institution_name
