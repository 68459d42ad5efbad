"""The invitation to a session's meeting, and its reminder the day before.

The invitation answers the roster events (`roster.invited`, `roster.imported`), which name the
businesses new to the roster; each business with an account is told once per invitation (its key).
Walk-ins, put on the roster at the door, are not invited after the fact. The reminder is written
by the worker's scan (schedule.py) during the 24 hours before the meeting starts, once per
invitation and meeting time (a meeting moved to another day is reminded of again).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from participation.extensions import db
from participation.models import Business, Invitation
from participation.notifications.registry import CHOICES, Notice, kind


def _iso(value) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def meeting_payload(invitation: Invitation) -> dict:
    """What an invitation says: the session, when and where, what to bring (None: the default
    text, rendered in the recipient's language when the message is written out)."""
    themed_session = invitation.themed_session
    return {"invitation_id": invitation.id, "session_id": themed_session.id, "session_title": themed_session.title,
            "business_name": invitation.business.name, "meeting_start_at": _iso(themed_session.meeting_start),
            "venue": themed_session.venue, "bring": themed_session.invitation_notes or None}


def _to_own_proposals(payload: dict) -> tuple[str, dict]:
    return "proposals.mine", {}


@kind("invitation", on=("roster.invited", "roster.imported"), link=_to_own_proposals, choices=CHOICES,
      label=_l("Invitations to a session's meeting"), audience="owners")
def invitation(event, actor, themed_session) -> list[Notice]:
    """To each newly invited business that has an account."""
    new = (event.after or {}).get("new_business_ids") or []
    if not new:
        return []
    invitations = db.session.scalars(
        select(Invitation).join(Business, Business.id == Invitation.business_id)
        .where(Invitation.session_id == themed_session.id, Invitation.business_id.in_(new),
               Invitation.walk_in.is_(False), Business.user_id.is_not(None))
        .options(selectinload(Invitation.business)).order_by(Invitation.id))
    return [Notice(item.business.user, meeting_payload(item), key=f"invitation:{item.id}")
            for item in invitations]


@kind("meeting_reminder", on=(), link=_to_own_proposals, choices=CHOICES,
      label=_l("Reminder the day before a meeting"), audience="owners")
def meeting_reminder(event, actor, obj) -> list[Notice]:
    """Written by the scan, never by an event."""
    return []
