"""Preferences per user on the account page: in-app only sends no mail, the daily digest gathers
into one mail with one-click List-Unsubscribe, the staff's summary is opt-in; hostile input on the form."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from participation.extensions import db
from participation.models import (
    AuditEvent,
    NotificationMode,
    NotificationPreference,
    Proposal,
    ThemedSession,
    User,
    utcnow,
)
from participation.notifications import preferences, schedule
from tests.conftest import STAFF_PASSWORD, app_db, csrf_token, login, post_form
from tests.factories import as_actor
from tests.hostile import HOSTILE, is_server_error
from tests.notifications.conftest import parts
from tests.notifications.test_messages import URL, follow, rows, send, set_locale

OWNER_KINDS = ("invitation", "meeting_reminder", "draft_reminder", "follow_up_update")


def daily_time(after: datetime) -> datetime:
    """The first moment from `after` (UTC) at which the daily mails are due (07:00 Jakarta or later)."""
    zone = ZoneInfo("Asia/Jakarta")
    local = after.replace(tzinfo=timezone.utc).astimezone(zone)
    if local.hour < 7:
        local = local.replace(hour=7, minute=30)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def checked(page: str, name: str) -> list[str]:
    return re.findall(rf'<input[^>]*checked[^>]*name="{name}"[^>]*value="([^"]+)"', page) + \
        re.findall(rf'<input[^>]*name="{name}"[^>]*value="([^"]+)"[^>]*checked', page)


def stored(app, user_id: int) -> dict[str, str]:
    with app_db(app) as session:
        return {row.kind: row.mode.value for row in session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user_id))}


def test_the_account_page_offers_owners_and_staff_their_kinds_and_saves_the_choice(
        app, client, make_world, login_as):
    world = make_world(owner=True)
    login_as(world.owner)
    page = client.get("/akun").get_data(as_text=True)
    assert "Undangan ke pertemuan sesi" in page and "Pengingat sehari sebelum pertemuan" in page
    assert "Pengingat 48 jam sebelum masa pengiriman ditutup" in page
    assert "Ringkasan harian usulan baru" not in page  # staff only
    assert "Tanda terima usulan Anda dan hasil sesi selalu dikirim lewat email" in page
    for name in OWNER_KINDS:
        assert checked(page, name) == ["immediate"]
    # Receipts cannot be switched off, even by a hand-made field.
    data = {"invitation": "in_app", "meeting_reminder": "digest", "draft_reminder": "immediate",
            "follow_up_update": "digest",
            "proposal_receipt": "in_app", "outcome": "off"}
    response = post_form(client, "/notifikasi/preferensi", data, token_from="/akun")
    assert response.status_code == 303 and response.headers["Location"].endswith("/akun#notification-preferences")
    page = client.get("/akun").get_data(as_text=True)
    assert "Pengaturan notifikasi Anda telah disimpan." in page
    assert checked(page, "invitation") == ["in_app"] and checked(page, "meeting_reminder") == ["digest"]
    assert stored(app, world.owner) == {"invitation": "in_app", "meeting_reminder": "digest",
                                        "draft_reminder": "immediate", "follow_up_update": "digest"}
    with app_db(app) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "notification_preferences.saved")).one()
        assert event.after == {"invitation": "in_app", "meeting_reminder": "digest", "follow_up_update": "digest"}
    # A choice missing: the form comes back with the message and what was chosen, nothing saved.
    response = post_form(client, "/notifikasi/preferensi", {"invitation": "digest"}, token_from="/akun")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Pilih cara Anda menerima pesan ini." in page and checked(page, "invitation") == ["digest"]
    assert stored(app, world.owner)["invitation"] == "in_app"

    staff = app.test_client()
    with app_db(app) as session:
        email = session.get(User, world.planner).email
    assert login(staff, email, STAFF_PASSWORD).status_code == 303
    page = staff.get("/akun").get_data(as_text=True)
    assert "Ringkasan harian usulan baru di sesi saya yang sedang dibuka" in page
    assert checked(page, "staff_summary") == ["off"] and "Undangan ke pertemuan sesi" not in page


def test_hostile_input_on_the_preferences_form(app, client, make_world, login_as):
    world = make_world(owner=True)
    login_as(world.owner)
    base = {"invitation": "in_app", "meeting_reminder": "digest", "draft_reminder": "immediate",
            "follow_up_update": "immediate"}

    def count():
        with app_db(app) as session:
            return (session.scalar(select(func.count()).select_from(NotificationPreference)),
                    session.scalar(select(func.count(AuditEvent.id))))

    token = csrf_token(client, "/akun")
    fields = list(base)
    for number, (label, payload) in enumerate(HOSTILE.items()):
        # Each payload in every field at once, and in one field (in turn) among valid choices.
        for data in ({**base, **dict.fromkeys(fields, payload)}, {**base, fields[number % len(fields)]: payload}):
            before = count()
            response = client.post("/notifikasi/preferensi", data={"csrf_token": token, **data})
            assert not is_server_error(response), f"{label}: {response.status_code}"
            assert response.status_code == 400, f"{label}: {response.status_code}"
            body = response.get_data(as_text=True)
            assert "<script>alert" not in body and "<img src=x" not in body
            assert "Pilihan tidak valid." in body or "Pilih cara Anda menerima pesan ini." in body, label
            assert count() == before, f"{label} saved something"
    assert stored(app, world.owner) == {}


@pytest.mark.parametrize("locale", ["id", "en"])
def test_in_app_only_sends_no_mail_and_the_digest_gathers_into_one_mail_with_one_click_unsubscribe(
        app, client, make_world, login_as, smtp_server, monkeypatch, locale):
    world = make_world(facilitator=True, owner=True, title="Musrenbang Tematik Kuliner",
                       proposals=[{"business": "owner", "submit": False, "title": f"Draf {n}"} for n in ("satu", "dua")])
    login_as(world.owner)
    data = {"invitation": "in_app", "meeting_reminder": "immediate", "draft_reminder": "digest",
            "follow_up_update": "immediate"}
    assert post_form(client, "/notifikasi/preferensi", data, token_from="/akun").status_code == 303
    set_locale(app, world.owner, locale)
    with app.app_context():
        from participation.intake.services import invite

        themed_session = db.session.get(ThemedSession, world.session)
        invite(themed_session, [db.session.get(User, world.owner).business.id],
               as_actor(db.session.get(User, world.facilitator)))
        closes = themed_session.submission_closes_at
        db.session.commit()
    assert send(app) == "0 pesan terkirim."  # the invitation: in the app only
    assert [(row.kind, row.channel.value) for row in rows(app)] == [("invitation", "in_app")]

    moment = daily_time(closes - timedelta(hours=47))
    monkeypatch.setattr(schedule, "utcnow", lambda: moment)
    assert send(app) == "1 pesan terkirim."  # both reminders in one digest
    assert send(app) == "0 pesan terkirim."  # one digest a day
    [digest] = smtp_server.inbox.messages
    assert digest["Subject"] == {"id": "Ringkasan harian Anda: 2 pesan", "en": "Your daily digest: 2 messages"}[locale]
    text, html = parts(digest)
    for body in (text, html):
        assert "Draf satu" in body and "Draf dua" in body
    [unsubscribe] = re.fullmatch(r"<(https://musrenbang\.test/notifikasi/berhenti/[^>]+)>",
                                 digest["List-Unsubscribe"]).groups()
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with app_db(app) as session:
        proposal_ids = sorted(session.scalars(select(Proposal.id)))
    links = set(URL.findall(text))
    assert {f"https://musrenbang.test/usulan/{pid}" for pid in proposal_ids} <= links
    assert "https://musrenbang.test/akun#notification-preferences" in links
    for link in links:
        assert follow(client, link).status_code == 200, link
    reminders = [row for row in rows(app) if row.kind == "draft_reminder"]
    assert [row.channel.value for row in reminders] == ["in_app", "in_app"]
    assert not any(row.awaits_digest for row in reminders)

    # One-click unsubscribe, signed out, as a mail client does it: no session, no CSRF token.
    anonymous = app.test_client()
    page = follow(anonymous, unsubscribe)
    assert page.status_code == 200
    assert {"id": "Berhenti berlangganan", "en": "Unsubscribe"}["id"] in page.get_data(as_text=True)
    assert stored(app, world.owner)["draft_reminder"] == "digest"  # a GET changes nothing
    from urllib.parse import urlsplit

    response = anonymous.post(urlsplit(unsubscribe).path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "Anda tidak akan lagi menerima email ringkasan harian." in response.get_data(as_text=True)
    assert stored(app, world.owner)["draft_reminder"] == "in_app"
    assert anonymous.get("/notifikasi/berhenti/bukan-token").status_code == 404
    assert anonymous.post(urlsplit(unsubscribe).path[:-2] + "xx").status_code == 404


@pytest.mark.parametrize("locale", ["id", "en"])
def test_the_staff_summary_is_opt_in_and_comes_once_a_day(
        app, client, make_world, login_as, smtp_server, monkeypatch, locale):
    world = make_world(title="Musrenbang Tematik Kuliner", proposals=3)
    moment = daily_time(utcnow() + timedelta(minutes=1))
    monkeypatch.setattr(schedule, "utcnow", lambda: moment)
    assert send(app) == "0 pesan terkirim."  # not opted in
    with app.app_context():
        planner = db.session.get(User, world.planner)
        planner.locale = locale
        preferences.save(planner, {"staff_summary": NotificationMode.IMMEDIATE}, as_actor(planner))
        db.session.commit()
    assert send(app) == "1 pesan terkirim."
    assert send(app) == "0 pesan terkirim."
    [summary] = smtp_server.inbox.messages
    assert summary["Subject"] == {"id": "Ringkasan harian: 3 usulan baru",
                                  "en": "Daily summary: 3 new submissions"}[locale]
    text, html = parts(summary)
    words = {"id": "Musrenbang Tematik Kuliner: 3 baru, 3 terkirim seluruhnya.",
             "en": "Musrenbang Tematik Kuliner: 3 new, 3 submitted in all."}[locale]
    assert words in text and words in html
    assert set(URL.findall(text)) == {"https://musrenbang.test/sesi/", "https://musrenbang.test/notifikasi/"}
    login_as(world.planner)
    assert follow(client, "https://musrenbang.test/sesi/").status_code == 200
    # The next day, with nothing new: no summary.
    monkeypatch.setattr(schedule, "utcnow", lambda: moment + timedelta(days=1))
    assert send(app) == "0 pesan terkirim."
