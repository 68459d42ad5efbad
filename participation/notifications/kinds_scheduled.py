"""The messages the worker's scan writes (schedule.py), not an event: the reminder before a
submission window closes, the staff's daily summary and the daily digest."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from participation.extensions import db
from participation.models import Notification, NotificationMode
from participation.notifications.registry import CHOICES, OPT_IN, kind

DIGEST = "digest"


def _to_proposal(payload: dict) -> tuple[str, dict]:
    return "proposals.detail", {"proposal_id": payload["proposal_id"]}


def _nothing(event, actor, obj):
    return []


kind("draft_reminder", on=(), link=_to_proposal, choices=CHOICES,
     label=_l("Reminder 48 hours before a window closes, for a draft not yet submitted"), audience="owners")(_nothing)
kind("staff_summary", on=(), link=lambda payload: ("sessions.index", {}), choices=OPT_IN,
     default=NotificationMode.OFF, label=_l("Daily summary of new submissions in my open sessions"),
     audience="staff")(_nothing)


def digest_items(payload: dict) -> dict:
    """The digest's messages, each with its subject, summary and (absolute) link, oldest first."""
    from participation.notifications.render import outline, public_url

    rows = db.session.scalars(select(Notification).where(Notification.id.in_(payload.get("items") or []))
                              .order_by(Notification.id))
    return {"items": [outline(row) for row in rows],
            "preferences_url": public_url("auth.account") + "#notification-preferences"}


kind(DIGEST, on=(), link=lambda payload: ("notifications.index", {}), context=digest_items)(_nothing)
