"""Several workers, and a worker killed mid-batch: every message is delivered, none twice (both databases)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

from sqlalchemy import func, select

from participation.extensions import db
from participation.models import (
    Notification,
    NotificationChannel,
    NotificationState,
    User,
    utcnow,
)
from participation.notifications import delivery
from tests.conftest import ROOT, app_db


def queue(app, owner_id: int, count: int) -> list[int]:
    """`count` receipts due now for the owner, as the outbox writes them."""
    with app_db(app) as session:
        owner = session.get(User, owner_id)
        now = utcnow()
        rows = [Notification(user=owner, kind="proposal_receipt", channel=NotificationChannel.EMAIL,
                             state=NotificationState.PENDING, next_attempt_at=now, attempts=0, created_at=now,
                             payload={"proposal_id": n, "receipt_number": f"MT-2027-{n:04d}",
                                      "title": f"Usulan nomor {n}", "session_id": 1,
                                      "session_title": "Sesi Uji", "source": "online",
                                      "editable_until_at": None})
                for n in range(1, count + 1)]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


def worker(app, port: int, lease: float, go=None) -> subprocess.Popen:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    args = [sys.executable, "-m", "tests.notifications.worker_process", url, str(port), str(lease)]
    if go is not None:
        args.append(str(go))
    return subprocess.Popen(args, cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def message_ids(ids: list[int]) -> list[str]:
    return [f"<notification-{row_id}@musrenbang.test>" for row_id in ids]


def states(app) -> Counter:
    with app_db(app) as session:
        return Counter(state.value for state in session.scalars(select(Notification.state)))


def test_two_workers_deliver_500_queued_messages_exactly_once_each(app, backend, make_user, smtp_server, tmp_path):
    # PostgreSQL is where workers on several hosts take rows side by side (SKIP LOCKED): 500 there.
    # On SQLite, whose BEGIN IMMEDIATE serialises the claims, 100 show the same and keep the suite quick.
    count = 500 if backend == "postgresql" else 100
    ids = queue(app, make_user("proponent"), count)
    go = tmp_path / "go"
    workers = [worker(app, smtp_server.port, lease=600, go=go) for _ in range(2)]
    time.sleep(1.5)  # both processes are up and waiting
    go.touch()
    outputs = [process.communicate(timeout=300) for process in workers]
    for process, (out, err) in zip(workers, outputs):
        assert process.returncode == 0, err[-3000:]
    sent = [int(out.split()[0]) for out, _err in outputs]
    with app_db(app) as session:
        errors = Counter(session.scalars(select(Notification.last_error)))
    assert sum(sent) == count, errors
    arrived = Counter(smtp_server.inbox.ids())
    assert sorted(arrived) == sorted(message_ids(ids))  # every one arrived...
    assert set(arrived.values()) == {1}  # ...exactly once
    assert states(app) == Counter({"sent": count})
    with app_db(app) as session:
        assert set(session.scalars(select(Notification.attempts))) == {1}
        claimers = {name.split(":")[1] for name in session.scalars(select(Notification.claimed_by))}
    assert claimers == {str(process.pid) for process in workers}  # both took their share
    assert all(count > 0 for count in sent)


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_only_the_message_in_flight_twice(
        app, make_user, smtp_server):
    ids = queue(app, make_user("proponent"), 25)
    inbox = smtp_server.inbox
    inbox.hold_at = 5  # the server takes the 5th message and keeps the worker waiting for its answer
    lease = 12.0
    first = worker(app, smtp_server.port, lease)
    assert inbox.holding.wait(timeout=60), first.stderr.read() if first.poll() is not None else "no 5th message"
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    inbox.release.set()
    # Nothing lost: 4 sent, the batch of 10 still held by the dead worker's lease, the rest waiting.
    assert states(app) == Counter({"sent": 4, "sending": 6, "pending": 15})
    with app_db(app) as session:
        in_flight = session.scalar(select(Notification).where(Notification.state == NotificationState.SENDING)
                                   .order_by(Notification.id)).id
        lease_until = session.scalar(select(func.max(Notification.lease_until)))
    assert in_flight == ids[4]  # the 5th: the one whose answer the worker never read
    # Until the lease lapses, another worker sends the waiting rows and leaves the held ones alone.
    with app.app_context():
        assert delivery.send_due() == 15
        db.session.remove()
    assert states(app) == Counter({"sent": 19, "sending": 6})
    assert len(inbox.messages) == 5 + 15
    # Once it has lapsed, a restarted worker takes them up.
    time.sleep(max(0.0, (lease_until - utcnow()).total_seconds()) + 0.5)
    restarted = worker(app, smtp_server.port, lease)
    out, err = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, err[-3000:]
    assert out.strip() == "6 pesan terkirim."
    assert states(app) == Counter({"sent": 25})
    arrived = Counter(inbox.ids())
    assert sorted(arrived) == sorted(message_ids(ids))  # every message arrived
    # Only the one in flight when the worker died arrived twice; every other exactly once.
    assert {message_id: count for message_id, count in arrived.items() if count > 1} == {
        f"<notification-{in_flight}@musrenbang.test>": 2}
    with app_db(app) as session:
        attempts = dict(session.execute(select(Notification.id, Notification.attempts)).all())
    # The dead worker's batch was claimed twice; the rest once.
    assert [attempts[i] for i in ids] == [1] * 4 + [2] * 6 + [1] * 15
