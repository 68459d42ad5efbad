"""The worker's scan for messages that no event starts: reminders, the daily summary and digest.

`scan(now)` runs from the worker loop (participation.jobs.work: every pass with `--once`, else at
most once a SCAN_INTERVAL) and writes, in one short transaction:
- `draft_reminder`: for each draft not yet submitted in an open session whose window closes within
  48 hours, once per draft;
- `meeting_reminder`: for each invitation (not a walk-in) within 24 hours of its meeting, once per
  invitation and meeting time;
- `staff_summary` (opt-in): once a local day from DIGEST_HOUR, for staff with new submissions in
  their open sessions since their previous summary;
- `digest`: once a local day from DIGEST_HOUR, one email per user gathering the in-app messages
  that wait for it.
Each is written with a key under a unique index (outbox.write), so several workers scanning at
once, or a worker restarted mid-way, never write one twice: of two inserts of a key, the second
fails and its savepoint takes it back.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from participation.extensions import db
from participation.models import (
    Business,
    Invitation,
    Notification,
    NotificationChannel,
    NotificationMode,
    NotificationPreference,
    Proposal,
    ProposalStatus,
    Role,
    SessionStatus,
    ThemedSession,
    User,
    utcnow,
)
from participation.notifications import outbox
from participation.notifications.kinds_meeting import meeting_payload
from participation.notifications.kinds_scheduled import DIGEST
from participation.notifications.registry import Notice

log = logging.getLogger(__name__)

DRAFT_REMINDER_BEFORE = timedelta(hours=48)
MEETING_REMINDER_BEFORE = timedelta(hours=24)
SCAN_INTERVAL = timedelta(minutes=1)
_next_scan = 0.0


def _iso(value) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def local_day(now: datetime) -> tuple[str, bool]:
    """The app's local date of `now` (UTC, naive), and whether the daily mails are due (DIGEST_HOUR passed)."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")
    local = now.replace(tzinfo=timezone.utc).astimezone(zone)
    return local.date().isoformat(), local.hour >= current_app.config["NOTIFICATION_DIGEST_HOUR"]


def draft_reminders(now: datetime) -> int:
    rows = 0
    drafts = db.session.scalars(
        select(Proposal).join(ThemedSession, ThemedSession.id == Proposal.session_id)
        .where(Proposal.status == ProposalStatus.DRAFT, ThemedSession.status == SessionStatus.OPEN,
               ThemedSession.submission_closes_at > now,
               ThemedSession.submission_closes_at <= now + DRAFT_REMINDER_BEFORE)
        .options(selectinload(Proposal.business).selectinload(Business.user)).order_by(Proposal.id))
    for proposal in drafts:
        owner = proposal.business.user if proposal.business else None
        if owner is None:
            continue
        themed_session = proposal.themed_session
        payload = {"proposal_id": proposal.id, "title": proposal.title, "session_id": themed_session.id,
                   "session_title": themed_session.title, "closes_at": _iso(themed_session.submission_closes_at)}
        rows += len(outbox.write("draft_reminder", Notice(owner, payload, key=f"draft_reminder:{proposal.id}")))
    return rows


def meeting_reminders(now: datetime) -> int:
    rows = 0
    invitations = db.session.scalars(
        select(Invitation).join(ThemedSession, ThemedSession.id == Invitation.session_id)
        .join(Business, Business.id == Invitation.business_id)
        .where(Invitation.walk_in.is_(False), Business.user_id.is_not(None),
               ThemedSession.status.in_([SessionStatus.DRAFT, SessionStatus.OPEN, SessionStatus.REVIEW]),
               ThemedSession.meeting_start > now, ThemedSession.meeting_start <= now + MEETING_REMINDER_BEFORE)
        .options(selectinload(Invitation.business)).order_by(Invitation.id))
    for invitation in invitations:
        key = f"meeting_reminder:{invitation.id}:{_iso(invitation.themed_session.meeting_start)}"
        rows += len(outbox.write("meeting_reminder", Notice(invitation.business.user, meeting_payload(invitation),
                                                            key=key)))
    return rows


def _sessions_of(user: User) -> list[ThemedSession]:
    query = select(ThemedSession).where(ThemedSession.status == SessionStatus.OPEN).order_by(ThemedSession.id)
    if user.role is not Role.ADMIN:
        query = query.where(ThemedSession.members.any(User.id == user.id))
    return list(db.session.scalars(query))


def staff_summaries(now: datetime, day: str) -> int:
    rows = 0
    staff = db.session.scalars(
        select(User).join(NotificationPreference, NotificationPreference.user_id == User.id)
        .where(NotificationPreference.kind == "staff_summary", NotificationPreference.mode != NotificationMode.OFF,
               User.active.is_(True), User.role != Role.PROPONENT).order_by(User.id))
    for user in staff:
        key = f"staff_summary:{user.id}:{day}"
        if outbox.written(key):
            continue
        previous = db.session.scalar(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == "staff_summary")
            .order_by(Notification.id.desc()).limit(1))
        since = now - timedelta(days=1)
        if previous is not None and previous.payload.get("until_at"):
            since = max(since - timedelta(days=6), datetime.fromisoformat(previous.payload["until_at"]))
        sessions = []
        for themed_session in _sessions_of(user):
            total, new = db.session.execute(
                select(func.count(Proposal.id), func.count(case((Proposal.submitted_at >= since, Proposal.id))))
                .where(Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED,
                       Proposal.submitted_at < now)).one()
            if new:
                sessions.append({"id": themed_session.id, "title": themed_session.title, "new": new,
                                 "total": total})
        if not sessions:
            continue
        payload = {"sessions": sessions, "since_at": _iso(since), "until_at": _iso(now),
                   "new": sum(item["new"] for item in sessions)}
        rows += len(outbox.write("staff_summary", Notice(user, payload, key=key)))
    return rows


def digests(now: datetime, day: str) -> int:
    """One digest email per user with in-app messages waiting for it; they stop waiting."""
    sent = 0
    user_ids = list(db.session.scalars(
        select(Notification.user_id).where(Notification.awaits_digest.is_(True)).distinct()
        .order_by(Notification.user_id)))
    for user_id in user_ids:
        user = db.session.get(User, user_id)
        key = f"digest:{user_id}:{day}"
        if user is None or outbox.written(key):
            continue
        ids = list(db.session.scalars(select(Notification.id).where(
            Notification.user_id == user_id, Notification.awaits_digest.is_(True)).order_by(Notification.id)))
        try:
            with db.session.begin_nested():
                db.session.execute(update(Notification).where(Notification.id.in_(ids))
                                   .values(awaits_digest=False))
                if user.active:
                    email = (NotificationChannel.EMAIL,)
                    outbox.add_rows(DIGEST, Notice(user, {"items": ids, "day": day}, channels=email, key=key),
                                    email, False)
                db.session.flush()
        except IntegrityError:
            continue
        sent += 1
    return sent


def scan(now: datetime | None = None) -> dict:
    """Write the scheduled messages due at `now` (UTC) and commit; how many of each."""
    now = now or utcnow()
    day, daily = local_day(now)
    try:
        done = {"draft_reminders": draft_reminders(now), "meeting_reminders": meeting_reminders(now)}
        if daily:
            done["staff_summaries"] = staff_summaries(now, day)
            done["digests"] = digests(now, day)
        db.session.commit()
    except Exception:  # the worker goes on sending; the next scan tries again
        db.session.rollback()
        log.exception("the scan for scheduled notifications failed")
        return {}
    return done


def look() -> dict | None:
    """`scan()`, at most once per SCAN_INTERVAL in this process (the long-running worker's call)."""
    global _next_scan
    if time.monotonic() < _next_scan:
        return None
    _next_scan = time.monotonic() + SCAN_INTERVAL.total_seconds()
    return scan()
