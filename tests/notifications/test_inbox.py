"""The bell and the notifications page: the same messages as the mails, marked read by their reader."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from participation.models import (
    AuditEvent,
    Notification,
    NotificationChannel,
    Proposal,
    User,
)
from tests.conftest import app_db, login, post_form
from tests.proposals.test_proposals import FULL, submit_new

BELL = re.compile(r'class="badge rounded-pill text-bg-warning">(\d+)<span class="visually-hidden"> (belum dibaca|unread)')


@pytest.fixture
def world(make_world, login_as):
    world = make_world(owner=True, title="Musrenbang Tematik Kuliner")
    login_as(world.owner)
    return world


def bell(client, path="/usulan/") -> int:
    """The unread count the navigation shows (0: no badge)."""
    page = client.get(path).get_data(as_text=True)
    assert "/notifikasi/" in page  # the bell is there for a signed-in user
    found = BELL.search(page)
    return int(found.group(1)) if found else 0


def test_the_bell_counts_unread_messages_and_the_page_shows_the_mails_subject_and_summary(app, client, world):
    assert bell(client) == 0
    assert submit_new(client, world).status_code == 303
    assert submit_new(client, world, title="Pelatihan pengemasan").status_code == 303
    assert bell(client) == 2
    page = client.get("/notifikasi/").get_data(as_text=True)
    with app_db(app) as session:
        first, second = session.scalars(select(Proposal).order_by(Proposal.id)).all()
        numbers = (first.receipt_number, second.receipt_number)
        ids = (first.id, second.id)
    assert f"Usulan diterima: {numbers[0]}" in page and f"Usulan diterima: {numbers[1]}" in page
    assert f"“{FULL['title']}” telah diterima dalam Musrenbang Tematik Kuliner." in page
    assert page.index(numbers[1]) < page.index(numbers[0])  # newest first
    assert "Anda dapat mengubah atau menariknya sampai" in page

    # Opening one marks it read and leads to the proposal.
    with app_db(app) as session:
        opened = session.scalar(select(Notification.id).where(
            Notification.channel == NotificationChannel.IN_APP, Notification.payload["proposal_id"].as_integer() == ids[0]))
    response = post_form(client, f"/notifikasi/{opened}/buka", {}, token_from="/notifikasi/")
    assert response.status_code == 303 and response.headers["Location"] == f"/usulan/{ids[0]}"
    assert bell(client) == 1
    response = post_form(client, "/notifikasi/baca-semua", {}, token_from="/notifikasi/")
    assert response.status_code == 303
    assert "Semua notifikasi ditandai sudah dibaca." in client.get("/notifikasi/").get_data(as_text=True)
    assert bell(client) == 0
    with app_db(app) as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("notification%"))).all()
        assert actions == ["notification.read", "notifications.all_read"]
        # The email rows are not the reader's to mark: only in-app rows carry a read time.
        assert session.scalar(select(func.count(Notification.id)).where(
            Notification.channel == NotificationChannel.EMAIL, Notification.read_at.is_not(None))) == 0


def test_the_page_speaks_the_readers_language(app, client, world):
    assert submit_new(client, world).status_code == 303
    post_form(client, "/bahasa", {"locale": "en"}, token_from="/notifikasi/")
    page = client.get("/notifikasi/").get_data(as_text=True)
    assert "Proposal received: MT-2027-" in page and "was received in Musrenbang Tematik Kuliner." in page
    assert bell(client) == 1


def test_another_users_message_is_not_found_and_marking_it_changes_nothing(app, client, world, make_user):
    assert submit_new(client, world).status_code == 303
    with app_db(app) as session:
        theirs = session.scalar(select(Notification.id).where(Notification.channel == NotificationChannel.IN_APP))
    other = app.test_client()
    make_user("proponent", email="lain@contoh.id")
    assert login(other, "lain@contoh.id").status_code == 303
    for action in ("buka", "baca"):
        assert post_form(other, f"/notifikasi/{theirs}/{action}", {}, token_from="/notifikasi/").status_code == 404
    assert post_form(other, "/notifikasi/baca-semua", {}, token_from="/notifikasi/").status_code == 303
    assert "Belum ada notifikasi." in other.get("/notifikasi/").get_data(as_text=True)
    assert bell(client) == 1  # still unread for its owner
    # A POST without the token is refused.
    assert other.post("/notifikasi/baca-semua").status_code == 400


def test_a_deactivated_account_is_sent_nothing(app, client, world, smtp_server):
    assert submit_new(client, world).status_code == 303
    with app_db(app) as session:
        session.get(User, world.owner).active = False
        session.commit()
    result = app.test_cli_runner().invoke(args=["send-notifications", "--once"])
    assert result.output.strip() == "0 pesan terkirim."
    with app_db(app) as session:
        email = session.scalar(select(Notification).where(Notification.channel == NotificationChannel.EMAIL))
        assert email.state.value == "failed" and email.last_error == "the account is deactivated"
    assert smtp_server.inbox.raw == []
