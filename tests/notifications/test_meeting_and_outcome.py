"""The invitation, the meeting reminder, the outcome and its correction, as they arrive at a real
SMTP server, in both languages and on both databases; every link answers for its reader."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from participation.extensions import db
from participation.i18n import full_date, rupiah, time_of_day
from participation.models import (
    Invitation,
    Notification,
    NotificationChannel,
    Outcome,
    Proposal,
    SessionStatus,
    ThemedSession,
    User,
    utcnow,
)
from participation.notifications import schedule
from tests.conftest import app_db
from tests.factories import as_actor
from tests.notifications.conftest import parts
from tests.notifications.test_messages import URL, follow, rows, send, set_locale

WORDS = {
    "id": {"invited": "Undangan: Musrenbang Tematik Kuliner", "bring": "Yang perlu dibawa",
           "reminder": "Pengingat: pertemuan Musrenbang Tematik Kuliner besok", "open": "Usulan Anda dan sesi yang dibuka",
           "outcome": "Hasil usulan Anda: {number}", "rank": "1 dari 2", "funded": "didanai dalam pagu anggaran",
           "decision": "Diprioritaskan", "corrected": "Keputusan atas usulan Anda dikoreksi: {number}",
           "new": "Ditunda", "why": "Alasan koreksi"},
    "en": {"invited": "Invitation: Musrenbang Tematik Kuliner", "bring": "What to bring",
           "reminder": "Reminder: the meeting of Musrenbang Tematik Kuliner is tomorrow",
           "open": "Your proposals and the open sessions", "outcome": "The outcome of your proposal: {number}",
           "rank": "1 of 2", "funded": "funded within the budget ceiling of", "decision": "Prioritized",
           "corrected": "The decision on your proposal was corrected: {number}", "new": "Deferred",
           "why": "Why it was corrected"},
}


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("locale", ["id", "en"])
def test_an_invited_owner_gets_the_invitation_and_one_reminder_the_day_before(
        app, client, make_world, login_as, smtp_server, monkeypatch, locale):
    meeting = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    world = make_world(facilitator=True, owner=True, title="Musrenbang Tematik Kuliner", venue="Aula <b>Bappeda</b>",
                       meeting_start=meeting)
    set_locale(app, world.owner, locale)
    words = WORDS[locale]
    with app.app_context():
        themed_session = db.session.get(ThemedSession, world.session)
        themed_session.invitation_notes = "Fotokopi NIB dan contoh produk"
        owner = db.session.get(User, world.owner)
        from participation.intake.services import invite

        assert invite(themed_session, [owner.business.id], as_actor(db.session.get(User, world.facilitator))) == 1
        db.session.commit()
        with force_locale(locale):
            day, hour = full_date(meeting), time_of_day(meeting)
    assert send(app) == "1 pesan terkirim."
    [invitation] = smtp_server.inbox.messages
    assert invitation["Subject"] == words["invited"]
    text, html = parts(invitation)
    for body in (text, html):
        assert day in body and hour in body and "Fotokopi NIB dan contoh produk" in body
        assert words["bring"] in body and words["open"] in body
    assert "Aula <b>Bappeda</b>" in text and "Aula &lt;b&gt;Bappeda&lt;/b&gt;" in html  # the venue as typed
    assert set(URL.findall(text)) == {"https://musrenbang.test/usulan/", "https://musrenbang.test/notifikasi/"}
    login_as(world.owner)
    assert follow(client, "https://musrenbang.test/usulan/").status_code == 200
    assert [row.kind for row in rows(app, NotificationChannel.IN_APP)] == ["invitation"]
    with app_db(app) as session:  # both rows name the roster event they report
        assert {row.event.action for row in session.scalars(select(Notification))} == {"roster.invited"}

    with app.app_context():  # invited again (already on the roster): nothing new
        from participation.intake.services import invite

        themed_session = db.session.get(ThemedSession, world.session)
        assert invite(themed_session, [db.session.get(User, world.owner).business.id],
                      as_actor(db.session.get(User, world.facilitator))) == 0
        db.session.commit()
    # The reminder: not 25 hours before, once within the last 24 hours, never twice.
    monkeypatch.setattr(schedule, "utcnow", lambda: meeting - timedelta(hours=25))
    assert send(app) == "0 pesan terkirim."
    monkeypatch.setattr(schedule, "utcnow", lambda: meeting - timedelta(hours=23))
    assert send(app) == "1 pesan terkirim."
    assert send(app) == "0 pesan terkirim."
    monkeypatch.setattr(schedule, "utcnow", lambda: meeting - timedelta(hours=2))
    assert send(app) == "0 pesan terkirim."
    reminder = smtp_server.inbox.messages[1]
    assert reminder["Subject"] == words["reminder"]
    text, html = parts(reminder)
    assert day in text and hour in html and "Fotokopi NIB dan contoh produk" in html
    assert follow(client, URL.findall(text)[0]).status_code == 200
    assert len(smtp_server.inbox.messages) == 2


def test_a_walk_in_and_a_business_without_an_account_get_no_invitation(app, make_world, smtp_server):
    world = make_world(facilitator=True, businesses=[{"nib": "3201000000999", "name": "Usaha Tanpa Akun"}],
                       invited=True)
    with app_db(app) as session:
        assert session.scalar(select(Invitation.id).where(Invitation.session_id == world.session)) is not None
    assert send(app) == "0 pesan terkirim."
    assert rows(app) == []


def decide(app, world, proposal_id, outcome, reason, correction=None):
    from participation.review import services

    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        services.decide(proposal, outcome, reason, as_actor(db.session.get(User, world.planner)),
                        correction_reason=correction)
        db.session.commit()


@pytest.mark.parametrize("locale", ["id", "en"])
def test_the_owner_gets_the_outcome_at_finalisation_and_each_correction_of_its_decision(
        app, client, make_world, login_as, smtp_server, locale):
    from participation.review import services

    world = make_world(owner=True, title="Musrenbang Tematik Kuliner", status=SessionStatus.REVIEW,
                       proposals=[{"business": "owner", "beneficiaries": 90, "title": "Oven <b>pengering</b>"},
                                  {"beneficiaries": 5}], rated=4)
    set_locale(app, world.owner, locale)
    words = WORDS[locale]
    mine, number = world.proposals[0], world.receipts[0]
    decide(app, world, mine, Outcome.PRIORITIZED, "Sesuai prioritas kota")
    decide(app, world, world.proposals[1], Outcome.DEFERRED, "Tahun depan")
    with app.app_context():
        services.finalize(db.session.get(ThemedSession, world.session), {}, as_actor(db.session.get(User, world.planner)))
        db.session.commit()
        with force_locale(locale):
            ceiling = rupiah(500_000_000)
    assert send(app) == "1 pesan terkirim."  # the other business has no account
    [outcome] = smtp_server.inbox.messages
    assert outcome["Subject"] == words["outcome"].format(number=number)
    text, html = parts(outcome)
    for body in (text, html):
        body = flat(body)
        assert words["rank"] in body and words["funded"] in body and ceiling in body
        assert words["decision"] in body and "Sesuai prioritas kota" in body
    assert "Oven <b>pengering</b>" in text and "Oven &lt;b&gt;pengering&lt;/b&gt;" in html
    link = f"https://musrenbang.test/usulan/{mine}"
    assert link in URL.findall(text) and link in URL.findall(html)
    login_as(world.owner)
    page = follow(client, link)
    assert page.status_code == 200 and number in page.get_data(as_text=True)

    # A correction that changes the decision: a message with the new one and why; none for a
    # correction that leaves outcome and reason as they were.
    decide(app, world, mine, Outcome.DEFERRED, "Menunggu anggaran perubahan", correction="Salah catat pagu")
    decide(app, world, mine, Outcome.DEFERRED, "Menunggu anggaran perubahan", correction="Dicek ulang")
    assert send(app) == "1 pesan terkirim."
    corrected = smtp_server.inbox.messages[1]
    assert corrected["Subject"] == words["corrected"].format(number=number)
    text, html = parts(corrected)
    for body in (text, html):
        assert words["new"] in body and words["decision"] in body  # new and previous
        assert words["why"] in body and "Salah catat pagu" in body and "Menunggu anggaran perubahan" in body
    assert follow(client, URL.findall(text)[0]).status_code == 200
    assert send(app) == "0 pesan terkirim."
    assert [row.kind for row in rows(app, NotificationChannel.IN_APP)] == ["outcome", "outcome_corrected"]
