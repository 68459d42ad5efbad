"""Background jobs: queued by a page, run by the worker (`flask run-jobs`), followed on a page.

The worker loop (`work`) also delivers the notification mails (participation/notifications/
delivery.py): `flask send-notifications` is the same loop, so one worker process does both.

Heavy work (a large import, a PDF of hundreds of letters) would hold a web worker past its timeout
and, on SQLite, the write lock with it. Such work is queued as a `Job` row in the database instead
of a broker's queue: the embedded default then needs no other server, every host's worker sees the
same queue, and the job and its effects commit together. A worker claims the oldest due job (on
PostgreSQL with FOR UPDATE SKIP LOCKED, so several workers never take the same one; SQLite's
BEGIN IMMEDIATE already serialises the claim) under a lease; a job whose worker died is claimed
again when its lease runs out, up to MAX_ATTEMPTS times.

A handler runs with the job's user as actor and in the user's language. It reports progress
through `progress(done, total)`, which commits: it must be called only while the handler has
written nothing yet (its reading and checking phase), and it keeps every transaction short. The
handler's writes and the job's result then commit in one transaction, so a job that fails or
whose worker dies leaves nothing half-saved.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select, update

from participation.events import Actor, Channel, record
from participation.extensions import db
from participation.models import Job, JobState, User, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
PROGRESS_INTERVAL = 0.5  # seconds between progress commits


@dataclass
class Outcome:
    """What a handler produced: a result for the job page, and a file to download."""

    result: dict = field(default_factory=dict)
    ok: bool = True
    output_name: str | None = None
    output_type: str | None = None
    output_data: bytes | None = None


Handler = Callable[[Job, Actor, Callable[[int, int | None], None]], Outcome]


@dataclass(frozen=True)
class Kind:
    """A kind of job: how it runs, and how its page names it, sums it up and leads back."""

    run: Handler
    title: object  # a lazy string
    summary: Callable[[Job], str]
    back: Callable[[Job], str | None]


HANDLERS: dict[str, Kind] = {}


def handler(kind: str, *, title, summary: Callable[[Job], str], back: Callable[[Job], str | None]):
    """Register the function that runs jobs of `kind`, with its page's title, summary and way back."""
    def decorator(function: Handler) -> Handler:
        HANDLERS[kind] = Kind(function, title, summary, back)
        return function
    return decorator


def enqueue(kind: str, actor: Actor, *, themed_session=None, params: dict | None = None,
            input_name: str | None = None, input_data: bytes | None = None) -> Job:
    """Queue a job for the acting user; the caller commits."""
    if kind not in HANDLERS:
        raise KeyError(kind)
    job = Job(kind=kind, user=actor.user, themed_session=themed_session, params=params or {},
              channel=actor.channel.value, ip=actor.ip, input_name=input_name, input_data=input_data)
    db.session.add(job)
    db.session.flush()
    record("job.queued", actor, job, after={"kind": kind, "session_id": job.session_id,
                                            "file": (input_name or "")[:100] or None})
    return job


def _lease() -> timedelta:
    return current_app.config.get("JOB_LEASE", timedelta(minutes=15))


def claim(worker: str) -> int | None:
    """Take the oldest due job under a lease; its id, or None when nothing is due."""
    now = utcnow()
    due = or_(Job.state == JobState.PENDING, and_(Job.state == JobState.RUNNING, Job.lease_until < now))
    statement = select(Job).where(due).order_by(Job.id).limit(1)
    if db.session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    job = db.session.scalar(statement)
    if job is None:
        db.session.commit()
        return None
    job.attempts += 1
    if job.attempts > MAX_ATTEMPTS:
        _finish(job, JobState.FAILED, {"error": "gave_up"})
        log.error("job %s (%s) given up after %d attempts", job.id, job.kind, MAX_ATTEMPTS)
        db.session.commit()
        return claim(worker)
    job.state = JobState.RUNNING
    job.started_at = now
    job.lease_until = now + _lease()
    job_id = job.id
    db.session.commit()
    log.info("%s took job %s (%s)", worker, job_id, job.kind)
    return job_id


def _finish(job: Job, state: JobState, result: dict, outcome: Outcome | None = None) -> None:
    job.state = state
    job.result = result
    job.finished_at = utcnow()
    job.lease_until = None
    if state is JobState.DONE and job.total:
        job.done = job.total
    if outcome is not None and outcome.output_data is not None:
        job.output_name, job.output_type = outcome.output_name, outcome.output_type
        job.output_data = outcome.output_data


class _Progress:
    """`progress(done, total)` for a handler: writes the job's counters, at most twice a second."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.last = 0.0

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL and (total is None or done < total):
            return
        self.last = now
        # The handler's reads end here, so that the update is the first statement of its own
        # short transaction (which `database.deferring()` relies on).
        db.session.commit()
        values = {"done": done, "lease_until": utcnow() + _lease()}
        if total is not None:
            values["total"] = total
        db.session.execute(update(Job).where(Job.id == self.job_id).values(**values))
        db.session.commit()


def run(job_id: int) -> JobState:
    """Run one claimed job to its end; returns its final state."""
    job = db.session.get(Job, job_id)
    user = db.session.get(User, job.user_id)
    actor = Actor(user=user, ip=job.ip, channel=Channel(job.channel))
    locale = user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "id")
    # Progress commits must not expire what the handler has loaded (each expired object would be
    # read again, one query each, in the write phase).
    db.session().expire_on_commit = False
    with force_locale(locale):
        try:
            outcome = HANDLERS[job.kind].run(job, actor, _Progress(job_id))
        except Exception:  # the job fails visibly; the worker goes on with the next one
            log.exception("job %s (%s) failed", job_id, job.kind)
            db.session.rollback()
            job = db.session.get(Job, job_id, populate_existing=True)
            _finish(job, JobState.FAILED, {"error": "crashed",
                                           "message": _("The work stopped on an unexpected error.")})
            record("job.failed", actor, job, after={"kind": job.kind})
            db.session.commit()
            return JobState.FAILED
        job = db.session.get(Job, job_id, populate_existing=True)
        state = JobState.DONE if outcome.ok else JobState.FAILED
        _finish(job, state, outcome.result, outcome)
        record("job.finished", actor, job, after={"kind": job.kind, "state": state.value})
        db.session.commit()
    return state


def release(job_id: int) -> None:
    """Hand a job cut short back to the queue, its writes rolled back."""
    db.session.rollback()
    db.session.execute(update(Job).where(Job.id == job_id, Job.state == JobState.RUNNING)
                       .values(state=JobState.PENDING, lease_until=None, attempts=Job.attempts - 1))
    db.session.commit()


def run_due(worker: str | None = None, limit: int | None = None) -> int:
    """Run due jobs one after another until none is left (or `limit` ran); how many ran."""
    worker = worker or f"{socket.gethostname()}:{os.getpid()}"
    count = 0
    while limit is None or count < limit:
        job_id = claim(worker)
        if job_id is None:
            break
        try:
            run(job_id)
        except (KeyboardInterrupt, SystemExit):
            release(job_id)  # the worker is being stopped: the next one takes the job up at once
            raise
        db.session.remove()
        count += 1
    return count


@dataclass
class Worked:
    """What a worker loop did: jobs run and messages sent."""

    jobs: int = 0
    messages: int = 0


def work(poll_seconds: float = 2.0, once: bool = False) -> Worked:
    """The worker loop behind `flask run-jobs` and `flask send-notifications` (one loop, two names):
    run the due jobs, write the scheduled messages (reminders, digests), send the due messages and
    the daily housekeeping, then sleep; `once` drains
    what is due and returns."""
    from participation.jobs import housekeeping
    from participation.notifications import delivery, schedule

    worked = Worked()
    worker = delivery.worker_name()
    while True:
        worked.jobs += run_due()
        if once:
            schedule.scan()  # reminders, daily summaries and digests that are due
        else:
            schedule.look()
        worked.messages += delivery.send_due(worker)
        if once:
            housekeeping.run_if_due()  # once a day, on one worker of all
            return worked
        housekeeping.look()
        time.sleep(poll_seconds)
