"""Personal-data rights (DESIGN §8, UU 27/2022): data.zip, account deletion, IP retention, on both databases."""
from __future__ import annotations

import csv
import io
import json
import threading
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from participation.extensions import db
from participation.models import (
    AccountErasure,
    AuditEvent,
    Business,
    Decision,
    HousekeepingRun,
    Invitation,
    Job,
    JobState,
    Notification,
    Outcome,
    Proposal,
    ProposalStatus,
    RankingSnapshot,
    RateLimitHit,
    SessionStatus,
    StoredFile,
    ThemedSession,
    User,
    utcnow,
)
from participation.notifications import outbox
from participation.notifications.kinds import proposal_payload
from participation.notifications.registry import Notice
from tests.auth.test_register import VALID, register
from tests.conftest import app_db, csrf_token, login, post_form
from tests.factories import (
    PDF_BYTES,
    as_actor,
    make_business,
    make_proposal,
    make_session,
    rate_all,
)
from tests.hostile import HOSTILE, is_server_error

NAME = "Sulastri Wibowo Ningsih"
EMAIL = "sulastri.wibowo@contoh.id"
PHONE_TYPED = "0813-7777-1234"
PHONE_DIGITS = "81377771234"
ADDRESS = "Jl. Melati Putih No. 17"
NIB = "3201555566667"
BUSINESS = "Keripik Tempe Lestari"
OWNER = {**VALID, "name": NAME, "email": EMAIL, "phone": PHONE_TYPED, "address": ADDRESS, "nib": NIB,
         "business_name": BUSINESS, "password": VALID["password"], "password_confirm": VALID["password"]}
# What must be found nowhere after the deletion, lower-case (the scan lower-cases each column too).
SECRETS = (NAME.lower(), EMAIL, PHONE_DIGITS, ADDRESS.lower(), NIB)


def owner_id(app) -> int:
    with app_db(app) as session:
        return session.scalar(select(User.id).where(User.email == EMAIL))


def attach(proposal: Proposal, data: bytes = PDF_BYTES, name: str = "penawaran.pdf") -> None:
    from participation import storage

    proposal.attachment_file = storage.new_file(data, "application/pdf")
    proposal.attachment_name, proposal.attachment_type, proposal.attachment_size = name, "application/pdf", len(data)


def delete_account(client, password=VALID["password"], understood="y"):
    data = {"password": password}
    if understood is not None:
        data["understood"] = understood
    return post_form(client, "/akun/hapus", data)


def scan(app, needles=SECRETS) -> list[str]:
    """Every text and JSON column of every table, searched for each needle: where each was found."""
    found = []
    with app_db(app) as session:
        for table in db.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, (sa.String, sa.Text, sa.JSON)):
                    continue
                text = func.lower(sa.cast(column, sa.Text))
                for needle in needles:
                    count = session.scalar(select(func.count()).select_from(table)
                                           .where(text.contains(needle, autoescape=True)))
                    if count:
                        found.append(f"{table.name}.{column.name} holds {needle!r} ({count} rows)")
    return found


@pytest.fixture
def world(app, client, make_user):
    """The owner (registered through the form, signed in), a finalised and an open session."""
    from participation.intake.services import invite
    from participation.review.services import write_snapshot

    assert register(client, **OWNER).status_code == 303
    # A profile edit: the audit log now holds the phone and address in before/after.
    profile = {key: value for key, value in OWNER.items()
               if key not in ("name", "email", "password", "password_confirm", "agree")}
    assert post_form(client, "/akun/usaha", {**profile, "workforce_men": "3"}).status_code == 303
    planner_id = make_user("planner", name="Perencana Budi Santoso")
    other_id = make_user("proponent", name="Pemilik Lain Hartono", email="hartono@contoh.id")
    with app_db(app) as session:
        owner = session.scalar(select(User).where(User.email == EMAIL))
        owner.email_verified_at = utcnow()  # as the link mailed on registration would (it submits below)
        planner, other = session.get(User, planner_id), session.get(User, other_id)
        business = owner.business
        finalized = make_session(planner, title="Sesi Final", members=[])
        mine = make_proposal(finalized, business, title=f"Oven pengering (kontak {PHONE_TYPED})",
                             description=f"Hubungi {NAME} di {PHONE_TYPED}.")
        attach(mine)
        theirs = make_proposal(finalized, other.business, title="Pelatihan pemasaran daring",
                               estimated_cost=40_000_000)
        rate_all(finalized, [planner])
        session.add(Decision(proposal=mine, outcome=Outcome.PRIORITIZED, reason=f"Usulan {NAME} mendesak.",
                             decided_by_id=planner.id))
        # A walk-in registered at the door for the same person, present at the meeting.
        walk_in = make_business(nib=NIB, name=BUSINESS, owner_name=NAME, phone="+62" + PHONE_DIGITS,
                                address=ADDRESS)
        invite(finalized, [business.id, walk_in.id, other.business.id], as_actor(planner))
        for invitation in session.scalars(select(Invitation).where(Invitation.session_id == finalized.id)):
            invitation.attended = True
        session.flush()
        write_snapshot(finalized, planner)
        finalized.status = SessionStatus.FINALIZED
        running = make_session(planner, title="Sesi Berjalan")
        live = make_proposal(running, business, title="Mesin pengemas")
        attach(live, b"%PDF-1.4 live")
        draft = make_proposal(running, business, submit=False, title="Draf pelatihan")
        attach(draft, b"%PDF-1.4 draft")
        # The receipts of both owners' proposals, by email and in the app (notifications/kinds.py).
        for receipt_of, to in ((live, owner), (theirs, other)):
            outbox.write("proposal_receipt", Notice(to, proposal_payload(receipt_of)))
        session.commit()
        ids = {"owner": owner.id, "planner": planner_id, "other": other_id, "business": business.id,
               "walk_in": walk_in.id, "finalized": finalized.id, "running": running.id, "mine": mine.id,
               "theirs": theirs.id, "live": live.id, "draft": draft.id,
               "files": (mine.attachment_id, live.attachment_id, draft.attachment_id)}
    return ids


def ranking_figures(payload: dict) -> list[tuple]:
    return [(line["rank"], line["receipt_number"], line["business"], line["score"], line["selected"],
             line["values"], line["estimated_cost"], line["decision"]) for line in payload["proposals"]]


def official_payload(app, session_id: int) -> dict:
    from participation.review.services import official_ranking

    with app_db(app) as session:
        return official_ranking(session.get(ThemedSession, session_id)).payload


def exports_text(app, session_id: int) -> str:
    """The ranking as export-ranking writes it in json, csv and xlsx, and the four PDFs' text, together."""
    from participation.documents import render
    from participation.review import exports

    payload = official_payload(app, session_id)
    parts = []
    with app.test_request_context():
        themed_session = db.session.get(ThemedSession, session_id)
        for fmt in ("json", "csv", "xlsx"):
            body, _type = exports.render(payload, fmt, themed_session)
            if fmt == "xlsx":
                workbook = load_workbook(io.BytesIO(body))
                parts.extend(str(cell.value) for sheet in workbook for row in sheet.iter_rows() for cell in row
                             if cell.value is not None)
            elif fmt == "csv":
                parts.extend(",".join(row) for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))))
            else:
                parts.append(body.decode())
        for slug in render.DOCUMENTS:
            reader = PdfReader(io.BytesIO(render.pdf(themed_session, slug)))
            parts.extend(page.extract_text() for page in reader.pages)
        db.session.remove()
    result = app.test_cli_runner().invoke(args=["export-ranking", str(session_id), "--format", "json"])
    assert result.exit_code == 0, result.output
    parts.append(result.output)
    return "\n".join(parts)


# --- data.zip -------------------------------------------------------------------------------

def test_data_zip_holds_the_users_data_and_files_and_nothing_of_anyone_else(app, client, world):
    assert post_form(client, "/notifikasi/preferensi", {"invitation": "digest", "meeting_reminder": "in_app",
                                                        "draft_reminder": "immediate", "follow_up_update": "in_app"},
                     token_from="/akun").status_code == 303
    response = client.get("/akun/data.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == "attachment; filename=data.zip"
    assert response.headers["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    assert {"README.txt", "data.json", f"lampiran/{world['mine']}-penawaran.pdf",
            f"lampiran/{world['live']}-penawaran.pdf", f"lampiran/{world['draft']}-penawaran.pdf"} == names
    assert archive.read(f"lampiran/{world['mine']}-penawaran.pdf") == PDF_BYTES
    assert archive.read(f"lampiran/{world['draft']}-penawaran.pdf") == b"%PDF-1.4 draft"
    data = json.loads(archive.read("data.json"))
    assert data["format"] == "musrenbang-tematik/personal-data" and data["version"] == 1
    assert data["account"]["email"] == EMAIL and data["account"]["name"] == NAME
    assert data["business"]["nib"] == NIB and data["business"]["phone"] == "+62" + PHONE_DIGITS
    assert data["business"]["address"] == ADDRESS
    # The confirmation mailed on registration, the invitation to "Sesi Final" and the receipt of
    # "Mesin pengemas", each as a mail and in the app (the confirmation by mail only); not the
    # other owner's.
    assert [(n["kind"], n["channel"], n["payload"].get("title")) for n in data["notifications"]] == [
        ("email_verification", "email", None), ("invitation", "email", None), ("invitation", "in_app", None),
        ("proposal_receipt", "email", "Mesin pengemas"), ("proposal_receipt", "in_app", "Mesin pengemas")]
    assert {n["payload"].get("session_title") for n in data["notifications"] if n["kind"] == "invitation"} == {
        "Sesi Final"}
    in_app_receipt = data["notifications"][4]
    assert in_app_receipt["state"] == "sent" and in_app_receipt["read_at"] is None
    assert [(p["kind"], p["mode"]) for p in data["notification_preferences"]] == [
        ("draft_reminder", "immediate"), ("follow_up_update", "in_app"), ("invitation", "digest"),
        ("meeting_reminder", "in_app")]
    assert data["account"]["email_verified_at"] is not None
    assert sorted(p["id"] for p in data["proposals"]) == sorted([world["mine"], world["live"], world["draft"]])
    mine = next(p for p in data["proposals"] if p["id"] == world["mine"])
    assert mine["decision"]["outcome"] == "prioritized" and NAME in mine["decision"]["reason"]
    assert mine["result"]["rank"] in (1, 2) and mine["result"]["score"] is not None
    assert mine["attachment"]["file"] == f"lampiran/{world['mine']}-penawaran.pdf"
    assert {p["status"] for p in data["proposals"]} == {"submitted", "draft"}
    assert {i["session"]["title"] for i in data["invitations"]} == {"Sesi Final"}
    actions = [event["action"] for event in data["audit_events"]]
    assert "user.register" in actions and "business.updated" in actions and "login.success" not in actions
    own = [event for event in data["audit_events"] if event["by"] == "self"]
    assert own and all(event["ip"] == "127.0.0.1" for event in own if event["channel"] == "web")
    assert all(event["ip"] is None for event in data["audit_events"] if event["by"] != "self")
    everything = b"".join(archive.read(name) for name in names).decode("utf-8", "replace")
    for foreign in ("Pelatihan pemasaran daring", "hartono@contoh.id", "Pemilik Lain Hartono",
                    "Perencana Budi Santoso", "planner1@contoh.id"):
        assert foreign not in everything, foreign


def test_attachment_names_stay_inside_their_folder_of_the_zip(app, client, world):
    with app_db(app) as session:
        session.get(Proposal, world["live"]).attachment_name = "../../etc/passwd"
        session.get(Proposal, world["draft"]).attachment_name = "C:\\Windows\\win.ini\x07"
        session.commit()
    archive = zipfile.ZipFile(io.BytesIO(client.get("/akun/data.zip").data))
    names = archive.namelist()
    assert f"lampiran/{world['live']}-_.._etc_passwd" in names
    for name in names:
        assert name in ("README.txt", "data.json") or (name.startswith("lampiran/") and name.count("/") == 1
                                                         and ".." not in name.split("/") and "\\" not in name)
    assert archive.read(f"lampiran/{world['live']}-_.._etc_passwd") == b"%PDF-1.4 live"


def test_staff_download_their_account_without_a_business(app, client, make_user, login_as):
    login_as(make_user("facilitator", name="Fasilitator Rina"))
    response = client.get("/akun/data.zip")
    data = json.loads(zipfile.ZipFile(io.BytesIO(response.data)).read("data.json"))
    assert data["account"]["name"] == "Fasilitator Rina" and data["account"]["role"] == "facilitator"
    assert data["business"] is None and data["proposals"] == [] and data["notifications"] == []
    assert [event["action"] for event in data["audit_events"]][-1] == "login.success"


def test_staff_find_their_own_conflict_declarations_in_their_data(app, client, make_world, login_as):
    from participation.models import Business, ConflictKind, User
    from participation.review.conflicts import declare, withdraw
    from tests.factories import as_actor

    world = make_world(planners=[{"name": "Perencana Ketua"}, {"name": "Perencana Anggota"}], proposals=2)
    with app_db(app) as session:
        chair, member = session.get(User, world.planners[0]), session.get(User, world.planners[1])
        first, second = (session.get(Business, business_id) for business_id in world.businesses)
        declare(as_actor(member), member, first, ConflictKind.FAMILY, "Sepupu pemilik")
        mistaken = declare(as_actor(chair), member, second, ConflictKind.OTHER, "")
        withdraw(as_actor(member), mistaken)
        declare(as_actor(chair), chair, second, ConflictKind.ASSOCIATION, "Satu paguyuban")  # not the member's
        session.commit()
    login_as(world.planners[1])
    data = json.loads(zipfile.ZipFile(io.BytesIO(client.get("/akun/data.zip").data)).read("data.json"))
    declared = [(item["business"]["name"], item["kind"], item["note"], item["declared_by"], item["withdrawn_by"])
                for item in data["conflicts_of_interest"]]
    assert declared == [("Usaha 0", "family", "Sepupu pemilik", "self", None),
                        ("Usaha 1", "other", "", "staff", "self")]
    assert all(item["declared_at"].endswith("Z") for item in data["conflicts_of_interest"])
    assert data["conflicts_of_interest"][1]["withdrawn_at"].endswith("Z")
    assert "Perencana Ketua" not in json.dumps(data["conflicts_of_interest"])


def test_signed_out_visitors_get_no_data(client):
    assert client.get("/akun/data.zip").status_code == 302


# --- deletion --------------------------------------------------------------------------------

def test_a_deleted_owner_is_nowhere_in_the_database_or_exports_and_the_ranking_is_unchanged(app, client, world):
    # A mistyped password at the login form: the audit log and the throttle now hold the email.
    post_form(client, "/keluar", {}, token_from="/akun")
    assert login(client, EMAIL, "salah-sekali").status_code == 401
    assert login(client, EMAIL, VALID["password"]).status_code == 303
    with app_db(app) as session:
        assert session.scalar(select(func.count(RateLimitHit.id)).where(RateLimitHit.key == EMAIL)) == 1
    before = official_payload(app, world["finalized"])
    assert any(needle in exports_text(app, world["finalized"]).lower() for needle in (NAME.lower(), PHONE_DIGITS))
    assert scan(app)  # the scan finds what is there

    page = client.get("/akun/hapus")
    assert page.status_code == 200 and "Hapus akun saya" in page.get_data(as_text=True)
    response = delete_account(client)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert "Akun Anda telah dihapus" in client.get("/").get_data(as_text=True)
    assert client.get("/akun").status_code == 302  # signed out

    assert scan(app) == []
    text = exports_text(app, world["finalized"]).lower()
    assert [needle for needle in SECRETS if needle in text] == []
    assert BUSINESS in exports_text(app, world["finalized"])  # the public record keeps the business name
    after = official_payload(app, world["finalized"])
    assert ranking_figures(after) == ranking_figures(before)
    assert [line["title"] for line in after["proposals"]] == [
        line["title"].replace(f"kontak {PHONE_TYPED}", "kontak [dihapus]") for line in before["proposals"]]

    with app_db(app) as session:
        user = session.get(User, world["owner"])
        assert (user.name, user.email, user.active) == (f"Akun terhapus #{user.id}",
                                                         f"akun-terhapus-{user.id}@terhapus.invalid", False)
        business = session.get(Business, world["business"])
        assert (business.name, business.owner_name, business.phone, business.address, business.nib,
                business.user_id) == (BUSINESS, f"Akun terhapus #{user.id}", None, "", "", None)
        walk_in = session.get(Business, world["walk_in"])
        assert (walk_in.owner_name, walk_in.phone, walk_in.nib) == (f"Akun terhapus #{user.id}", None, "")
        assert session.get(Proposal, world["draft"]) is None
        live = session.get(Proposal, world["live"])
        assert live.status is ProposalStatus.WITHDRAWN and live.attachment_id is None
        assert live.history[-1].note == "Akun dihapus"
        mine = session.get(Proposal, world["mine"])
        assert mine.status is ProposalStatus.SUBMITTED and mine.attachment_id is not None
        assert session.get(Proposal, world["theirs"]).title == "Pelatihan pemasaran daring"
        kept, live_file, draft_file = world["files"]
        assert session.get(StoredFile, kept) is not None
        assert session.get(StoredFile, live_file) is None and session.get(StoredFile, draft_file) is None
        erasure = session.scalar(select(AccountErasure))
        assert erasure.user_id == user.id and erasure.completed_at is not None
        assert erasure.summary["drafts_deleted"] == 1 and erasure.summary["withdrawn"] == 1
        assert erasure.summary["kept_as_record"] == 1 and erasure.summary["nib_erased"] is True
        # Their messages are gone (the withdrawal by erasure wrote none); the other owner's stay.
        # The confirmation mail, then the invitation and the receipt, each by mail and in the app.
        assert erasure.summary["notifications"] == 5
        assert session.scalar(select(func.count(Notification.id)).where(Notification.user_id == user.id)) == 0
        assert session.scalar(select(func.count(Notification.id)).where(
            Notification.user_id == world["other"])) == 4  # their invitation and receipt, twice each
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "account.erased"))
        assert event.actor_id == user.id and event.after == erasure.summary
        assert session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.actor_id == user.id, AuditEvent.ip.is_not(None), AuditEvent.created_at < erasure.requested_at)) == 0
        assert session.scalar(select(func.count(RateLimitHit.id)).where(RateLimitHit.key == EMAIL)) == 0
    # Nobody signs in to it: not with the old address, not with the pseudonymous one.
    assert login(client, EMAIL, VALID["password"]).status_code == 401
    assert login(client, f"akun-terhapus-{world['owner']}@terhapus.invalid", VALID["password"]).status_code in (401, 403)
    # The same address may register afresh: a new, separate account.
    assert register(client, **OWNER).status_code == 303


def test_the_audit_log_stays_append_only_outside_an_erasure(app, client, world):
    assert delete_account(client).status_code == 303
    table = AuditEvent.__table__
    with app_db(app) as session:
        event_id = session.scalar(select(AuditEvent.id).where(AuditEvent.action == "account.erased"))
        for values in ({"after": {"forged": True}}, {"action": "forged"}, {"ip": "10.0.0.1"}):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                session.execute(table.update().where(table.c.id == event_id).values(**values))
            session.rollback()
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            session.execute(table.delete().where(table.c.id == event_id))
        session.rollback()
        snapshots = RankingSnapshot.__table__
        with pytest.raises(sa.exc.DatabaseError, match="immutable"):
            session.execute(snapshots.update().values(payload={"forged": True}))
        session.rollback()
        # Dropping an address, and nothing else, is allowed at any time.
        session.execute(table.update().where(table.c.id == event_id).values(ip=None))
        session.commit()
        assert session.get(AuditEvent, event_id).ip is None


def test_a_wrong_password_or_no_confirmation_deletes_nothing(app, client, world):
    for response in (delete_account(client, password="bukan-kata-sandinya"), delete_account(client, understood=None),
                     delete_account(client, password="")):
        assert response.status_code == 400
        body = response.get_data(as_text=True)
        assert "data-error-summary" in body
    body = delete_account(client, password="bukan-kata-sandinya").get_data(as_text=True)
    assert "Kata sandi salah." in body
    body = delete_account(client, understood=None).get_data(as_text=True)
    assert "Konfirmasikan bahwa Anda memahami akibat penghapusan akun." in body
    with app_db(app) as session:
        assert session.scalar(select(func.count(AccountErasure.id))) == 0
        assert session.get(User, world["owner"]).email == EMAIL
        assert session.get(Proposal, world["draft"]) is not None
    assert client.get("/akun").status_code == 200


def test_repeated_wrong_passwords_are_throttled_like_sign_ins(app, client, world):
    app.config["LOGIN_MAX_FAILURES"] = 2
    statuses = [delete_account(client, password=f"salah-{n}").status_code for n in range(3)]
    assert statuses[:2] == [400, 400] and statuses[2] == 429
    with app_db(app) as session:
        assert session.get(User, world["owner"]).active


def test_staff_read_why_they_are_deactivated_instead(app, client, make_user, login_as):
    staff_id = make_user("planner")
    login_as(staff_id)
    page = client.get("/akun/hapus").get_data(as_text=True)
    assert "Mintalah administrator menonaktifkan akun Anda" in page and 'name="password"' not in page
    token = csrf_token(client, "/akun")
    response = client.post("/akun/hapus", data={"password": "x", "understood": "y", "csrf_token": token})
    assert response.status_code == 403
    with app_db(app) as session:
        assert session.get(User, staff_id).active and session.scalar(select(func.count(AccountErasure.id))) == 0


def test_an_owner_of_a_shared_nib_keeps_it_and_the_other_business_is_untouched(app, client, make_user):
    assert register(client, **OWNER).status_code == 303
    other_id = make_user("proponent", business={"nib": NIB, "name": "Tempe Lestari Cabang", "owner_name": "Rahmat"})
    assert delete_account(client).status_code == 303
    with app_db(app) as session:
        owner = session.scalar(select(User).where(User.name.like("Akun terhapus%")))
        erased = session.scalar(select(Business).where(Business.name == BUSINESS))
        assert erased.nib == NIB and erased.phone is None and erased.owner_name == owner.name
        other = session.get(User, other_id).business
        assert (other.nib, other.owner_name, other.phone) == (NIB, "Rahmat", "+6281234567890")


def test_the_hostile_corpus_on_the_deletion_form_gives_no_server_error(app, client, world):
    app.config["LOGIN_MAX_FAILURES"] = 10_000
    for field in ("password", "understood"):
        for label, payload in HOSTILE.items():
            data = {"password": "bukan-kata-sandinya", "understood": "y", field: payload,
                    "csrf_token": csrf_token(client, "/akun/hapus")}
            response = client.post("/akun/hapus", data=data)
            assert not is_server_error(response), f"{field}={label}: {response.status_code}"
            assert response.status_code == 400, f"{field}={label}: {response.status_code}"
            body = response.get_data(as_text=True)
            assert "<script>alert" not in body and "<img src=x" not in body
    with app_db(app) as session:
        assert session.scalar(select(func.count(AccountErasure.id))) == 0
        assert session.get(User, world["owner"]).active
    assert delete_account(client).status_code == 303


def test_an_expired_form_comes_back_with_a_message(app, client, world):
    response = client.post("/akun/hapus", data={"password": VALID["password"], "understood": "y",
                                                "csrf_token": "kedaluwarsa"})
    assert response.status_code == 400
    assert "Formulir ini sudah kedaluwarsa" in response.get_data(as_text=True)
    with app_db(app) as session:
        assert session.get(User, world["owner"]).active


def test_the_scrubber_finds_every_spelling_and_keeps_the_business_name():
    from participation.privacy.services import Scrubber

    scrubber = Scrubber()
    scrubber.protect(["Warung Sulastri Wibowo Ningsih"])
    scrubber.add(NAME, "Akun terhapus #7")
    scrubber.add_phone("+62" + PHONE_DIGITS)
    scrubber.add_number(NIB)
    text = ("Hubungi SULASTRI  wibowo ningsih: 0813-7777-1234, +62 813 7777 1234, (0813) 77771234 atau "
            "6281377771234; bukan 081377771234567. NIB 3201555566667, bukan 13201555566667. "
            "Warung Sulastri Wibowo Ningsih tetap.")
    assert scrubber.text(text) == (
        "Hubungi Akun terhapus #7: [dihapus], [dihapus], [dihapus] atau [dihapus]; bukan 081377771234567. "
        "NIB [dihapus], bukan 13201555566667. Warung Sulastri Wibowo Ningsih tetap.")
    assert scrubber.json({"phone": "+6281377771234", "list": [NAME, 3], NAME: None}) == {
        "phone": "[dihapus]", "list": ["Akun terhapus #7", 3], "Akun terhapus #7": None}


# --- the notice ------------------------------------------------------------------------------

def test_the_privacy_notice_is_linked_from_the_footer_and_the_registration_form(app, client):
    page = client.get("/privasi")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Pemberitahuan privasi" in body and "UU 27/2022" in body
    assert app.config["INSTITUTION_NAME"] in body and "365 hari" in body
    assert 'href="/privasi"' in client.get("/").get_data(as_text=True)
    assert 'href="/privasi"' in client.get("/daftar").get_data(as_text=True)
    post_form(client, "/bahasa", {"locale": "en"}, token_from="/")
    assert "Under UU 27/2022 you have the right" in client.get("/privasi").get_data(as_text=True)


def test_the_account_page_offers_the_download_and_the_deletion(app, client, world):
    body = client.get("/akun").get_data(as_text=True)
    assert 'href="/akun/data.zip"' in body and 'href="/akun/hapus"' in body and "Unduh data saya" in body


# --- IP retention and the daily housekeeping ---------------------------------------------------

def _old_rows(app, make_user):
    planner_id = make_user("planner")
    old, recent = utcnow() - timedelta(days=400), utcnow() - timedelta(days=10)
    with app_db(app) as session:
        for when in (old, recent):
            session.add(AuditEvent(action="test.event", created_at=when, ip="192.0.2.7", channel="web",
                                   after={"n": 1}, object_type="User", object_id=str(planner_id)))
            session.add(Job(kind="document_pdf", user_id=planner_id, created_at=when, ip="192.0.2.8", params={},
                            state=JobState.DONE))
        session.add(RateLimitHit(scope="login.ip", key="192.0.2.9", ip="192.0.2.9", created_at=old))
        session.commit()


def _ips(app):
    with app_db(app) as session:
        audit = session.execute(select(AuditEvent.created_at < utcnow() - timedelta(days=365), AuditEvent.ip)
                                .where(AuditEvent.action == "test.event").order_by(AuditEvent.id)).all()
        jobs = session.execute(select(Job.ip).order_by(Job.id)).scalars().all()
        return [tuple(row) for row in audit], jobs, session.scalar(select(func.count(RateLimitHit.id)))


def test_prune_audit_ips_drops_addresses_past_the_retention(app, make_user):
    _old_rows(app, make_user)
    result = app.test_cli_runner().invoke(args=["prune-audit-ips"])
    assert result.exit_code == 0, result.output
    assert "1 audit events, 1 jobs" in result.output and "1 spent throttle counts" in result.output
    assert _ips(app) == ([(True, None), (False, "192.0.2.7")], [None, "192.0.2.8"], 0)
    with app_db(app) as session:
        old = session.scalar(select(AuditEvent).where(AuditEvent.action == "test.event").order_by(AuditEvent.id))
        assert old.after == {"n": 1} and old.channel == "web"  # only the address went
        pruned = session.scalar(select(AuditEvent).where(AuditEvent.action == "audit.ips_pruned"))
        assert pruned.after["audit_events"] == 1 and pruned.channel == "cli"
    # --days overrides the configuration; nothing left to drop is no event.
    assert "1 audit events" in app.test_cli_runner().invoke(args=["prune-audit-ips", "--days", "5"]).output
    assert "0 audit events" in app.test_cli_runner().invoke(args=["prune-audit-ips", "--days", "5"]).output


def test_the_retention_comes_from_the_configuration(app, make_user):
    from participation.events import Actor
    from participation.privacy.services import prune_ip_addresses

    _old_rows(app, make_user)
    app.config["AUDIT_IP_RETENTION_DAYS"] = 5
    with app_db(app) as session:
        assert prune_ip_addresses(Actor.cli())["audit_events"] == 2
        session.commit()


def test_the_worker_runs_the_housekeeping_once_a_day(app, make_user):
    from participation import jobs
    from participation.jobs import housekeeping

    _old_rows(app, make_user)
    now = utcnow()
    with app.app_context():
        assert jobs.work(once=True).jobs == 0  # `flask run-jobs --once` runs it too
        assert _ips(app)[0][0] == (True, None)
        assert housekeeping.run_if_due(now + timedelta(hours=1)) is None
        assert housekeeping.run_if_due(now + timedelta(hours=23)) is None
        assert housekeeping.run_if_due(now + timedelta(hours=25)) == {"audit_events": 0, "jobs": 0,
                                                                      "rate_limit_hits": 0}
        run = db.session.get(HousekeepingRun, "daily")
        assert run.finished_at >= run.started_at and run.result["audit_events"] == 0
        # A run whose worker died is taken up again after its lease, not before.
        db.session.execute(HousekeepingRun.__table__.update().values(started_at=now + timedelta(hours=49),
                                                                    finished_at=None))
        db.session.commit()
        assert housekeeping.run_if_due(now + timedelta(hours=49, minutes=30)) is None
        assert housekeeping.run_if_due(now + timedelta(hours=50, minutes=1)) is not None
        db.session.remove()


def test_concurrent_workers_take_one_daily_run(app):
    from participation.jobs import housekeeping

    now = utcnow()
    start = threading.Barrier(4)
    taken = []

    def worker():
        with app.app_context():
            start.wait()
            taken.append(housekeeping.claim(now))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(taken) == [False, False, False, True]
