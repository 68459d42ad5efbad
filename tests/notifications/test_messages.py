"""The receipt and the withdrawal confirmation, as they arrive at a real SMTP server, on both databases."""
from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy
from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from participation.extensions import db
from participation.i18n import date_time
from participation.models import (
    AuditEvent,
    Notification,
    NotificationChannel,
    NotificationState,
    Proposal,
    ThemedSession,
    User,
    utcnow,
)
from participation.notifications import delivery
from tests.conftest import STAFF_PASSWORD, app_db, login, post_form
from tests.factories import PROPOSAL_DATA, as_actor
from tests.notifications.conftest import parts
from tests.proposals.test_proposals import FULL, submit_new

URL = re.compile(r"https?://[^\s\"<>]+")


@pytest.fixture
def world(make_world, login_as):
    """An open session with a business owner signed in."""
    world = make_world(facilitator=True, owner=True, title="Musrenbang Tematik Kuliner")
    login_as(world.owner)
    return world


def set_locale(app, user_id: int, locale: str) -> None:
    with app_db(app) as session:
        session.get(User, user_id).locale = locale
        session.commit()


def send(app) -> str:
    """`flask send-notifications --once`, as the worker runs it; what it printed."""
    result = app.test_cli_runner().invoke(args=["send-notifications", "--once"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def rows(app, channel=None) -> list[Notification]:
    with app_db(app) as session:
        query = select(Notification).order_by(Notification.id)
        if channel is not None:
            query = query.where(Notification.channel == channel)
        found = session.scalars(query).all()
        session.expunge_all()
        return found


def the_proposal(app) -> Proposal:
    with app_db(app) as session:
        proposal = session.scalars(select(Proposal)).one()
        session.expunge_all()
        return proposal


def follow(client, url: str):
    """Open a link from a message as its reader would (the test client serves every host)."""
    assert url.startswith("https://musrenbang.test/"), url
    return client.get(urlsplit(url).path)


EXPECTED = {
    "id": {"receipt": "Usulan diterima: {number}", "withdrawn": "Usulan ditarik: {number}",
           "greeting": "Yth. Pengguna", "received": "Usulan Anda telah diterima.",
           "until": "Sampai {deadline} Anda masih dapat mengubah atau menariknya", "edit": "“Ubah” atau “Tarik usulan”",
           "gone": "Usulan Anda telah ditarik.", "open": "Buka usulan", "month": "Desember|Januari|Februari|Maret|"
           "April|Mei|Juni|Juli|Agustus|September|Oktober|November"},
    "en": {"receipt": "Proposal received: {number}", "withdrawn": "Proposal withdrawn: {number}",
           "greeting": "Hello Pengguna", "received": "Your proposal has been received.",
           "until": "Until {deadline} you can still change or withdraw it", "edit": "“Edit” or “Withdraw”",
           "gone": "Your proposal has been withdrawn.", "open": "Open the proposal", "month": "December|January|"
           "February|March|April|May|June|July|August|September|October|November"},
}


@pytest.mark.parametrize("locale", ["id", "en"])
def test_the_receipt_and_the_withdrawal_arrive_in_the_owners_language_with_working_links(
        app, client, world, smtp_server, locale):
    set_locale(app, world.owner, locale)
    words = EXPECTED[locale]
    assert submit_new(client, world).status_code == 303
    proposal = the_proposal(app)
    # One email and one in-app row, written with the submission, the email waiting for the worker.
    written = rows(app)
    assert [(row.kind, row.channel, row.state) for row in written] == [
        ("proposal_receipt", NotificationChannel.EMAIL, NotificationState.PENDING),
        ("proposal_receipt", NotificationChannel.IN_APP, NotificationState.SENT)]
    assert smtp_server.inbox.messages == []  # nothing is sent from the request

    assert send(app) == "1 pesan terkirim."  # the command speaks the default language
    [receipt] = smtp_server.inbox.messages
    with app.app_context(), force_locale(locale):
        owner = db.session.get(User, world.owner)
        email = owner.email
        deadline = date_time(db.session.get(Proposal, proposal.id).themed_session.submission_closes_at)
    assert smtp_server.inbox.recipients == [[email]]
    assert receipt["To"].addresses[0].addr_spec == email
    assert receipt["From"].addresses[0].addr_spec == "noreply@musrenbang.test"
    assert receipt["Subject"] == words["receipt"].format(number=proposal.receipt_number)
    assert receipt["Message-ID"] == f"<notification-{written[0].id}@musrenbang.test>"
    assert receipt["Auto-Submitted"] == "auto-generated"
    text, html = parts(receipt)
    for body in (text, html):
        assert words["greeting"] in body and words["received"] in body
        assert proposal.receipt_number in body and FULL["title"] in body
        assert "Musrenbang Tematik Kuliner" in body
        assert words["open"] in body
    # The deadline, in the owner's language and the app's time zone (Babel's month names).
    assert re.fullmatch(rf"\d{{1,2}} ({words['month']}) 20\d\d \d\d[.:]\d\d", deadline)
    for body in (text, html):
        assert words["until"].format(deadline=deadline) in " ".join(body.split())
        assert words["edit"] in " ".join(body.split())
    # No remote images or style sheets; every link leads to the public site and works.
    assert "<img" not in html and "<link" not in html and "src=" not in html
    links = set(URL.findall(text)) | set(URL.findall(html))
    assert links == {f"https://musrenbang.test/usulan/{proposal.id}", "https://musrenbang.test/notifikasi/"}
    page = follow(client, f"https://musrenbang.test/usulan/{proposal.id}").get_data(as_text=True)
    assert proposal.receipt_number in page and FULL["title"] in page
    assert follow(client, "https://musrenbang.test/notifikasi/").status_code == 200
    assert send(app) == "0 pesan terkirim."  # sent once

    # The withdrawal: the owner's button on the proposal page, then its confirmation.
    response = post_form(client, f"/usulan/{proposal.id}/tarik", {}, token_from=f"/usulan/{proposal.id}")
    assert response.status_code == 303
    assert send(app) == "1 pesan terkirim."
    withdrawal = smtp_server.inbox.messages[1]
    assert withdrawal["Subject"] == words["withdrawn"].format(number=proposal.receipt_number)
    text, html = parts(withdrawal)
    for body in (text, html):
        assert words["gone"] in body and FULL["title"] in body and proposal.receipt_number in body
    assert f"https://musrenbang.test/usulan/{proposal.id}" in URL.findall(text)
    assert follow(client, URL.findall(text)[0]).status_code == 200
    with app_db(app) as session:
        assert session.scalar(select(func.count(Notification.id)).where(
            Notification.state == NotificationState.SENT)) == 4

    # Submitted again while the window is open: a receipt again, with the same number.
    response = post_form(client, f"/usulan/{proposal.id}/kirim-ulang", {}, token_from=f"/usulan/{proposal.id}")
    assert response.status_code == 303
    assert send(app) == "1 pesan terkirim."
    again = smtp_server.inbox.messages[2]
    assert again["Subject"] == words["receipt"].format(number=proposal.receipt_number)


def test_links_come_from_public_base_url_never_the_requests_host(app, client, world):
    assert submit_new(client, world).status_code == 303
    with app.test_request_context("/usulan/", base_url="http://attacker.example"):  # a forged Host
        row = db.session.scalars(select(Notification).where(Notification.channel == NotificationChannel.EMAIL)).one()
        message = delivery.compose(row).as_string()
    assert "attacker.example" not in message
    assert f"https://musrenbang.test/usulan/{row.payload['proposal_id']}" in message


def test_a_rolled_back_change_sends_nothing(app, world, smtp_server):
    from participation.proposals import services

    with app.app_context():
        themed_session = db.session.get(ThemedSession, world.session)
        owner = db.session.get(User, world.owner)
        proposal = services.create_proposal(themed_session, owner.business,
                                            {**PROPOSAL_DATA, "category_id": world.categories[0]},
                                            as_actor(owner), submit=True)
        assert proposal.receipt_number
        db.session.flush()
        assert db.session.scalar(select(func.count(Notification.id))) == 2  # written in the transaction...
        db.session.rollback()  # ...and gone with it
        assert db.session.scalar(select(func.count(Notification.id))) == 0
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "proposal.submitted")) == 0
    assert send(app) == "0 pesan terkirim."
    assert smtp_server.inbox.messages == []


HOSTILE_TITLE = "<script>alert(1)</script> {{7*7}} ${7*7} <b>tebal</b> & \"kutip\""


def test_hostile_titles_arrive_literally(app, client, world, smtp_server):
    assert submit_new(client, world, title=HOSTILE_TITLE).status_code == 303
    send(app)
    [message] = smtp_server.inbox.messages
    text, html = parts(message)
    assert HOSTILE_TITLE in text  # plain text: exactly as typed
    # Neither markup nor a template evaluation of the title ("{{7*7}}" -> "49") anywhere; the times
    # in the message (a deadline at 18.49) may contain 49, so look where the title would be.
    assert "<script>" not in html and "<b>tebal</b>" not in html
    assert "&lt;/script&gt; 49" not in html and "&lt;/script&gt; 49" not in text.replace("</script>", "&lt;/script&gt;")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}} ${7*7} &lt;b&gt;tebal&lt;/b&gt; &amp;" in html
    # The in-app list shows it literally too.
    page = client.get("/notifikasi/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}}" in page and "<script>alert" not in page


def test_without_a_mail_server_the_messages_are_eml_files_under_instance_mail(app_config, make_world, tmp_path):
    from participation import create_app
    from participation.proposals import services

    application = create_app({**app_config, "MAIL_SERVER": None, "PUBLIC_BASE_URL": None})
    world = make_world(owner=True)  # the same database as `application`'s
    with application.app_context():
        themed_session = db.session.get(ThemedSession, world.session)
        owner = db.session.get(User, world.owner)
        proposal = services.create_proposal(themed_session, owner.business,
                                            {**PROPOSAL_DATA, "category_id": world.categories[0]},
                                            as_actor(owner), submit=True)
        db.session.commit()
        email, proposal_id = owner.email, proposal.id
        # `flask run-jobs`, which `make run` starts, is the same loop as `flask send-notifications`.
        result = application.test_cli_runner().invoke(args=["run-jobs", "--once"])
        assert result.output.splitlines() == ["0 pekerjaan dijalankan.", "1 pesan terkirim."]
        folder = delivery.mail_folder()
        assert folder == tmp_path / "instance" / "mail"
        [path] = folder.glob("*.eml")
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert message["Subject"].startswith("Usulan diterima: MT-2027-")
        assert message["To"].addresses[0].addr_spec == email
        text, html = parts(message)
        # Development links: the address `make run` serves.
        assert f"http://127.0.0.1:5000/usulan/{proposal_id}" in text and "<html" in html
        assert delivery.send_due() == 0 and len(list(folder.glob("*.eml"))) == 1
        application_rows = db.session.scalars(select(Notification.state)).all()
        assert sorted(state.value for state in application_rows) == ["sent", "sent"]
        db.session.remove()


def test_a_server_that_is_down_delays_and_retries_without_losing_anything(app, client, world, smtp_server):
    smtp_server.stop()
    assert submit_new(client, world).status_code == 303
    before = utcnow()
    assert send(app) == "0 pesan terkirim."
    [email] = rows(app, NotificationChannel.EMAIL)
    assert email.state is NotificationState.PENDING and email.attempts == 1
    assert "Connection refused" in email.last_error or "ConnectionRefused" in email.last_error
    assert before + timedelta(seconds=55) <= email.next_attempt_at <= utcnow() + timedelta(seconds=65)
    assert send(app) == "0 pesan terkirim."  # not due yet: nothing is tried, nothing lost
    assert rows(app, NotificationChannel.EMAIL)[0].attempts == 1

    smtp_server.start()
    with app_db(app) as session:  # a minute later
        session.get(Notification, email.id).next_attempt_at = utcnow() - timedelta(seconds=1)
        session.commit()
    assert send(app) == "1 pesan terkirim."
    assert send(app) == "0 pesan terkirim."
    assert len(smtp_server.inbox.messages) == 1  # delivered once
    [email] = rows(app, NotificationChannel.EMAIL)
    assert email.state is NotificationState.SENT and email.attempts == 2 and email.last_error is None


def test_the_backoff_is_1_5_30_minutes_2_6_24_hours_then_failed_with_the_reason(app, client, world, smtp_server,
                                                                                make_user):
    smtp_server.stop()
    assert submit_new(client, world).status_code == 303
    waits = []
    for _attempt in range(7):
        with app_db(app) as session:
            row = session.scalars(select(Notification).where(
                Notification.channel == NotificationChannel.EMAIL)).one()
            row.next_attempt_at = utcnow() - timedelta(seconds=1)
            session.commit()
        started = utcnow()
        send(app)
        [row] = rows(app, NotificationChannel.EMAIL)
        if row.state is NotificationState.PENDING:
            waits.append(round((row.next_attempt_at - started).total_seconds() / 60))
    assert waits == [1, 5, 30, 120, 360, 1440]
    assert row.state is NotificationState.FAILED and row.attempts == 7 and "refused" in row.last_error.lower()
    assert row.next_attempt_at is None

    # An admin sees it with the reason, and sends it again once the server is back.
    admin = make_user("admin", email="admin@contoh.id")
    client = app.test_client()
    assert login(client, "admin@contoh.id", STAFF_PASSWORD).status_code == 303
    page = client.get("/admin/notifikasi").get_data(as_text=True)
    assert "Usulan diterima: MT-2027-" in page and "Gagal" in page and row.last_error in page
    response = post_form(client, f"/admin/notifikasi/{row.id}/kirim-ulang", {}, token_from="/admin/notifikasi")
    assert response.status_code == 303
    assert "akan segera dikirim ulang" in client.get("/admin/notifikasi").get_data(as_text=True)
    smtp_server.start()
    assert send(app) == "1 pesan terkirim."
    assert len(smtp_server.inbox.messages) == 1
    with app_db(app) as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "notification.resent"))
        assert event.actor_id == admin and event.before["state"] == "failed" and event.before["attempts"] == 7
        assert session.get(Notification, row.id).state is NotificationState.SENT
    # A sent message is not sent again by the button.
    post_form(client, f"/admin/notifikasi/{row.id}/kirim-ulang", {}, token_from="/admin/notifikasi")
    assert "tidak sedang menunggu" in client.get("/admin/notifikasi").get_data(as_text=True)
    assert send(app) == "0 pesan terkirim."


def test_a_paper_form_tells_the_account_behind_its_business_and_nobody_for_a_walk_in(app, world, smtp_server):
    from participation.intake.services import record_paper_proposal

    with app.app_context():
        themed_session = db.session.get(ThemedSession, world.session)
        facilitator = db.session.get(User, world.facilitator)
        data = {**PROPOSAL_DATA, "category_id": world.categories[0]}
        walk_in = {"nib": "3201000000777", "name": "Warung Tanpa Akun", "owner_name": "Bu Sari",
                   "kbli": ["10794"], "kelurahan": "Sukamaju", "kecamatan": "Sukamaju"}
        proposal = record_paper_proposal(themed_session, walk_in, data, "F-0001", as_actor(facilitator))
        db.session.commit()
        assert proposal.business.user is None
        assert db.session.scalar(select(func.count(Notification.id))) == 0
        # The facilitator confirms that a form is the business of an account: its owner is told.
        business = db.session.get(User, world.owner).business
        confirmed = {"nib": business.nib, "name": business.name, "owner_name": business.owner_name,
                     "owner_match": "attach", "owner_business_id": business.id}
        paper = record_paper_proposal(themed_session, confirmed, {**data, "title": "Usulan dari kertas"}, "F-0002",
                                      as_actor(facilitator))
        db.session.commit()
        receipt = db.session.scalars(select(Notification)).first()
        assert (receipt.user_id, receipt.kind, receipt.payload["receipt_number"]) == (
            world.owner, "proposal_receipt", paper.receipt_number)
        assert receipt.event.action == "proposal.paper_entered"
    assert send(app) == "1 pesan terkirim."
    text, _html = parts(smtp_server.inbox.messages[0])
    assert "Usulan dari kertas" in text


def test_an_address_the_server_refuses_fails_at_once_and_the_others_still_go(app, world, make_user, smtp_server):
    from participation.notifications import outbox
    from participation.notifications.kinds import proposal_payload
    from participation.notifications.registry import Notice
    from tests.factories import make_proposal

    refused = make_user("proponent", email="tidak.ada@contoh.id")
    with app.app_context():
        themed_session = db.session.get(ThemedSession, world.session)
        for user_id in (world.owner, refused, world.owner):
            user = db.session.get(User, user_id)
            proposal = make_proposal(themed_session, user.business)
            outbox.write("proposal_receipt", Notice(user, proposal_payload(proposal),
                                                    channels=(NotificationChannel.EMAIL,)))
        db.session.commit()
    smtp_server.inbox.refuse.add("tidak.ada@contoh.id")
    assert send(app) == "2 pesan terkirim."  # one connection: the refusal does not stop the batch
    assert len(smtp_server.inbox.raw) == 2
    failed = [row for row in rows(app) if row.state is NotificationState.FAILED]
    assert [(row.user_id, row.attempts, row.last_error) for row in failed] == [
        (refused, 1, "SMTP recipient refused: 550 5.1.1 Mailbox unavailable")]
