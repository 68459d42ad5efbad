"""The reminder 48 hours before a window closes: once per unsent draft, at the right time (the
clock is moved, nothing sleeps), never for submitted, withdrawn or deleted drafts, and never twice
however many workers scan at once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from participation.extensions import db
from participation.i18n import date_time
from participation.models import Notification, NotificationChannel, Proposal, ThemedSession, User
from participation.notifications import schedule
from tests.conftest import app_db
from tests.factories import as_actor
from tests.notifications.conftest import parts
from tests.notifications.test_messages import URL, follow, rows, send, set_locale

SUBJECT = {"id": "Draf Anda belum dikirim: Musrenbang Tematik Kuliner ditutup pada {deadline}",
           "en": "Your draft is not submitted yet: Musrenbang Tematik Kuliner closes on {deadline}"}
BODY = {"id": "masih berupa draf", "en": "is still a draft"}


def draft_world(app, make_world):
    drafts = [{"business": "owner", "submit": False, "title": f"Draf {name}"}
              for name in ("tertinggal", "dikirim", "ditarik", "dihapus")]
    world = make_world(owner=True, title="Musrenbang Tematik Kuliner",
                       proposals=[*drafts, {"submit": False, "title": "Draf usaha tanpa akun"}])
    from participation.proposals import services

    with app.app_context():
        owner = db.session.get(User, world.owner)
        actor = as_actor(owner)
        left, submitted, withdrawn, deleted = (db.session.get(Proposal, pid) for pid in world.proposals[:4])
        left_id = left.id
        services.submit_proposal(submitted, actor)
        services.submit_proposal(withdrawn, actor)
        services.withdraw_proposal(withdrawn, actor)
        services.delete_draft(deleted, actor)
        closes = db.session.get(ThemedSession, world.session).submission_closes_at
        db.session.commit()
    return world, left_id, closes


@pytest.mark.parametrize("locale", ["id", "en"])
def test_one_reminder_48_hours_before_the_window_closes_for_the_draft_still_unsent(
        app, client, make_world, login_as, smtp_server, monkeypatch, locale):
    world, left, closes = draft_world(app, make_world)
    set_locale(app, world.owner, locale)
    assert send(app) == "3 pesan terkirim."  # two receipts and the withdrawal
    monkeypatch.setattr(schedule, "utcnow", lambda: closes - timedelta(hours=49))
    assert send(app) == "0 pesan terkirim."
    monkeypatch.setattr(schedule, "utcnow", lambda: closes - timedelta(hours=47))
    assert send(app) == "1 pesan terkirim."
    for hours in (47, 30, 1):  # later scans, restarts: never again
        monkeypatch.setattr(schedule, "utcnow", lambda hours=hours: closes - timedelta(hours=hours))
        assert send(app) == "0 pesan terkirim."
    reminder = smtp_server.inbox.messages[3]
    with app.app_context(), force_locale(locale):
        deadline = date_time(closes)
    assert reminder["Subject"] == SUBJECT[locale].format(deadline=deadline)
    text, html = parts(reminder)
    for body in (text, html):
        assert "Draf tertinggal" in body and BODY[locale] in body and deadline in body
    assert "Draf dikirim" not in text + html
    link = f"https://musrenbang.test/usulan/{left}"
    assert set(URL.findall(text)) == {link, "https://musrenbang.test/notifikasi/"}
    login_as(world.owner)
    assert follow(client, link).status_code == 200
    reminders = [row for row in rows(app) if row.kind == "draft_reminder"]
    assert [(row.channel, row.payload["proposal_id"]) for row in reminders] == [
        (NotificationChannel.EMAIL, left), (NotificationChannel.IN_APP, left)]


def test_a_draft_submitted_after_all_gets_no_reminder_and_a_closed_window_none(app, make_world, monkeypatch):
    world, left, closes = draft_world(app, make_world)
    from participation.proposals import services

    with app.app_context():
        services.submit_proposal(db.session.get(Proposal, left), as_actor(db.session.get(User, world.owner)))
        db.session.commit()
    monkeypatch.setattr(schedule, "utcnow", lambda: closes - timedelta(hours=10))
    send(app)
    monkeypatch.setattr(schedule, "utcnow", lambda: closes + timedelta(hours=1))
    send(app)
    assert [row for row in rows(app) if row.kind == "draft_reminder"] == []


def test_several_workers_scanning_at_once_write_each_reminder_once(app, make_world):
    world, left, closes = draft_world(app, make_world)
    start = threading.Barrier(3)
    errors = []

    def worker():
        try:
            with app.app_context():
                start.wait()
                for _ in range(3):
                    schedule.scan(closes - timedelta(hours=40))
                db.session.remove()
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with app_db(app) as session:
        written = session.execute(select(Notification.channel, func.count(Notification.id))
                                  .where(Notification.kind == "draft_reminder")
                                  .group_by(Notification.channel)).all()
    assert sorted((channel.value, count) for channel, count in written) == [("email", 1), ("in_app", 1)]
