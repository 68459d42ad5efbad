"""The worker's daily housekeeping: IP addresses past their retention, spent throttle counts,
and (with STORAGE_URL) objects in the bucket that no stored file names.

`flask run-jobs` calls `run_if_due()` between looks at the queue. The last run is a row of
housekeeping_runs; a worker takes the run by moving its `started_at` forward in one conditional
UPDATE and commits that first, so that of any number of workers on any hosts one runs it per
period (PostgreSQL re-checks the condition after a concurrent update; SQLite serialises writers).
A run that died (its worker stopped mid-way) is taken up again after LEASE.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import and_, or_
from sqlalchemy.dialects import postgresql, sqlite

from participation.events import Actor
from participation.extensions import db
from participation.models import HousekeepingRun, utcnow

log = logging.getLogger(__name__)

TASK = "daily"
PERIOD = timedelta(days=1)
LEASE = timedelta(hours=1)
# A worker looks whether the run is due at most this often (a look is a small write transaction).
LOOK_INTERVAL = timedelta(minutes=5)
_next_look = 0.0


def _ensure_row() -> None:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(HousekeepingRun).values(task=TASK).on_conflict_do_nothing(index_elements=["task"]))


def claim(now: datetime) -> bool:
    """Take today's run if it is due (committed at once); False when another worker has it or it ran."""
    _ensure_row()
    table = HousekeepingRun.__table__
    unfinished = or_(table.c.finished_at.is_(None), table.c.finished_at < table.c.started_at)
    due = or_(table.c.started_at.is_(None), table.c.started_at <= now - PERIOD,
              and_(unfinished, table.c.started_at <= now - LEASE))
    taken = db.session.execute(table.update().where(table.c.task == TASK, due).values(started_at=now)).rowcount
    db.session.commit()
    return taken == 1


def run_if_due(now: datetime | None = None) -> dict | None:
    """Run the daily housekeeping when it is due; what it did, or None when it was not this worker's turn."""
    from participation.privacy.services import prune_ip_addresses

    now = now or utcnow()
    if not claim(now):
        return None
    try:
        result = prune_ip_addresses(Actor.cli(), now=now)
        result.update(_sweep_storage())
        run = db.session.get(HousekeepingRun, TASK)
        run.finished_at, run.result = max(utcnow(), now), result
        db.session.commit()
    except Exception:  # the worker goes on with its jobs; the run is taken up again after LEASE
        db.session.rollback()
        log.exception("daily housekeeping failed")
        return None
    log.info("daily housekeeping: %s", result)
    return result


def _sweep_storage() -> dict:
    """Delete the bucket's objects left by uploads whose transaction never committed."""
    from participation.database import reading
    from participation.events import record
    from participation.storage import object_store
    from participation.storage_commands import sweep

    store = object_store()
    if store is None:
        return {}
    with reading():  # commits the pruning first; the sweep's reads take no write lock
        swept = sweep(store)
    if swept.orphans:
        record("stored_files.swept", Actor.cli(), object_type="StoredFile", after={"deleted": len(swept.orphans)})
    return {"objects_swept": len(swept.orphans), "files_without_object": len(swept.missing)}


def look() -> dict | None:
    """`run_if_due()`, at most once per LOOK_INTERVAL in this process (the worker loop's call)."""
    global _next_look
    if time.monotonic() < _next_look:
        return None
    _next_look = time.monotonic() + LOOK_INTERVAL.total_seconds()
    return run_if_due()
