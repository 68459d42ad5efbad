"""Follow-up of funded proposals: records at finalisation, the update form, the import, the export, the public page."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from participation.models import (
    FollowUp,
    FollowUpStatus,
    FollowUpUpdate,
    Notification,
    NotificationChannel,
    Proposal,
    SessionStatus,
    ThemedSession,
    User,
)
from tests.conftest import app_db, csrf_token
from tests.factories import PNG_BYTES, as_actor, make_finalized_session
from tests.hostile import corpus_for, is_server_error

COSTS = [30_000_000, 20_000_000, 40_000_000, 200_000_000]  # the last one does not fit the ceiling


def jakarta_today() -> date:
    """The app's today (Asia/Jakarta, UTC+7): from 17:00 UTC it is already tomorrow there."""
    return datetime.now(ZoneInfo("Asia/Jakarta")).date()


HEADER = ["nomor_tanda_terima", "tanggal", "status", "progres_fisik", "realisasi_anggaran", "catatan"]


@pytest.fixture
def world(app, make_world):
    """A session finalised through the service: the owner's proposal and two others funded, a fourth outside the ceiling."""
    from participation.review.services import finalize

    world = make_world(owner=True, status=SessionStatus.REVIEW, budget_ceiling=100_000_000, rated=4,
                       proposals=[{"business": "owner", "estimated_cost": COSTS[0], "title": "Usulan milik pemilik"}]
                       + [{"estimated_cost": cost, "title": f"Usulan lain nomor {n}"} for n, cost in enumerate(COSTS[1:])])
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        finalize(themed_session, {}, as_actor(session.get(User, world.planner)))
        session.commit()
    return world


@pytest.fixture
def planner_client(client, world, login_as):
    login_as(world.planner)
    return client


def follow_ups(app, world) -> dict[str, FollowUp]:
    with app_db(app) as session:
        rows = session.scalars(select(FollowUp).where(FollowUp.session_id == world.session)).all()
        return {row.proposal.receipt_number: row for row in rows}


def follow_up_id(app, receipt: str) -> int:
    with app_db(app) as session:
        return session.scalar(select(FollowUp.id).join(FollowUp.proposal).where(Proposal.receipt_number == receipt))


def update_count(app) -> int:
    with app_db(app) as session:
        return session.scalar(select(func.count(FollowUpUpdate.id)))


def post_update(client, follow_up: int, **fields):
    url = f"/tindak-lanjut/{follow_up}"
    data = {"dated": jakarta_today().isoformat(), "status": "berjalan", "progress": "40", "realised": "5000000",
            "note": "Mesin sudah dipesan.", "cancel_reason": "", **fields}
    data["csrf_token"] = csrf_token(client, url)
    return client.post(url, data=data, content_type="multipart/form-data")


def csv_file(*rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_file(*rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, session_id: int, data: bytes, name: str = "tindak-lanjut.csv"):
    url = f"/sesi/{session_id}/tindak-lanjut/impor"
    return client.post(url, data={"csrf_token": csrf_token(client, url), "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_finalisation_gives_each_funded_proposal_one_follow_up(app, world):
    records = follow_ups(app, world)
    funded = set(world.receipts[:3])
    assert set(records) == funded
    assert sorted(r.allocated_amount for r in records.values()) == sorted(COSTS[:3])
    assert {r.budget_year for r in records.values()} == {2027}
    assert {r.status for r in records.values()} == {FollowUpStatus.PLANNED}


def test_a_session_finalised_before_follow_up_gets_its_records_once_from_its_page(app, client, make_user, login_as):
    from participation.extensions import db
    from tests.factories import make_business

    planner_id = make_user("planner")
    with app.app_context():
        planner = db.session.get(User, planner_id)
        themed_session = make_finalized_session(planner, make_business(nib="3201999999999", name="Usaha Lama"))
        db.session.commit()
        session_id = themed_session.id
        assert db.session.scalar(select(func.count(FollowUp.id))) == 0
    login_as(planner_id)
    url = f"/sesi/{session_id}/tindak-lanjut"
    assert "1 usulan yang didanai belum memiliki catatan tindak lanjut" in text_of(client.get(url))
    for _ in range(2):
        assert client.post(f"{url}/siapkan", data={"csrf_token": csrf_token(client, url)}).status_code == 303
    assert "belum memiliki catatan tindak lanjut" not in text_of(client.get(url))
    with app_db(app) as session:
        assert session.scalar(select(func.count(FollowUp.id)).where(FollowUp.session_id == session_id)) == 1


def test_staff_record_an_update_with_a_photo_and_the_owner_sees_it_and_is_told(app, planner_client, world, login_as):
    receipt = world.receipts[0]
    target = follow_up_id(app, receipt)
    response = post_update(planner_client, target, photo=(io.BytesIO(PNG_BYTES), "mesin.png"))
    assert response.status_code == 303, text_of(response)[:2000]
    record = follow_ups(app, world)[receipt]
    assert (record.status, record.progress, record.realised_amount) == (FollowUpStatus.IN_PROGRESS, 40, 5_000_000)
    with app_db(app) as session:
        update = session.scalars(select(FollowUpUpdate)).one()
        assert update.photo_type == "image/png" and update.photo_size == len(PNG_BYTES)
        notices = session.scalars(select(Notification).where(Notification.kind == "follow_up_update")).all()
        assert {(n.user_id, n.channel) for n in notices} == {(world.owner, NotificationChannel.EMAIL),
                                                            (world.owner, NotificationChannel.IN_APP)}
        update_id = update.id
    planner_client.post("/keluar", data={"csrf_token": csrf_token(planner_client, "/")})
    login_as(world.owner)
    page = text_of(planner_client.get(f"/usulan/{world.proposals[0]}"))
    assert "Tindak lanjut" in page and "Mesin sudah dipesan." in page and "Progres fisik 40 %" in page
    photo = planner_client.get(f"/tindak-lanjut/foto/{update_id}")
    assert photo.status_code == 200 and photo.data == PNG_BYTES
    assert "Perkembangan usulan Anda yang didanai: " + receipt in text_of(planner_client.get("/notifikasi/"))


def test_the_owners_data_zip_holds_the_follow_up_with_its_photo(app, planner_client, world, login_as):
    import json
    import zipfile

    target = follow_up_id(app, world.receipts[0])
    assert post_update(planner_client, target, photo=(io.BytesIO(PNG_BYTES), "mesin/../x.png")).status_code == 303
    assert post_update(planner_client, target, status="selesai", progress="100", realised="28000000",
                       note="Mesin terpasang.").status_code == 303
    planner_client.post("/keluar", data={"csrf_token": csrf_token(planner_client, "/")})
    login_as(world.owner)
    response = planner_client.get("/akun/data.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    document = json.loads(archive.read("data.json"))
    funded = next(p for p in document["proposals"] if p["receipt_number"] == world.receipts[0])
    follow_up = funded["follow_up"]
    assert (follow_up["status"], follow_up["progress"], follow_up["realised_amount"],
            follow_up["allocated_amount"]) == ("selesai", 100, 28_000_000, COSTS[0])
    assert [(u["status"], u["progress"], u["note"], u["by"]) for u in follow_up["updates"]] == [
        ("berjalan", 40, "Mesin sudah dipesan.", "staff"), ("selesai", 100, "Mesin terpasang.", "staff")]
    photo = follow_up["updates"][0]["photo"]
    assert photo["file"].startswith("tindak-lanjut/") and "/" not in photo["file"][len("tindak-lanjut/"):]
    assert archive.read(photo["file"]) == PNG_BYTES and follow_up["updates"][1]["photo"] is None
    # The other businesses' funded proposals are not the owner's data.
    assert {p["receipt_number"] for p in document["proposals"]} == {world.receipts[0]}


@pytest.mark.parametrize("fields,message", [
    ({"progress": "101"}, "Progres fisik harus bilangan bulat 0 sampai 100."),
    ({"progress": "-3"}, "Progres fisik harus bilangan bulat 0 sampai 100."),
    ({"dated": (jakarta_today() + timedelta(days=2)).isoformat()}, "Tanggal tidak boleh di masa depan."),
    ({"dated": "15/03/2027"}, "Isi tanggal dengan format TTTT-BB-HH"),
    ({"status": "batal", "cancel_reason": ""}, "Isi alasan pembatalannya."),
    ({"realised": "31000000", "note": ""}, "Realisasi anggaran melebihi pagu; jelaskan alasannya di catatan."),
    ({"photo": b"%PDF-1.4 bukan foto"}, "Foto harus berupa gambar JPEG atau PNG."),
])
def test_the_form_refuses_with_a_clear_message_and_keeps_what_was_typed(app, planner_client, world, fields, message):
    target = follow_up_id(app, world.receipts[0])
    if "photo" in fields:  # a fresh file for each run: the parameters are shared by both databases
        fields = {**fields, "photo": (io.BytesIO(fields["photo"]), "foto.png")}
    response = post_update(planner_client, target, **{"note": "Catatan yang diketik", **fields})
    assert response.status_code == 400
    page = text_of(response)
    assert message in page
    if "note" not in fields:
        assert "Catatan yang diketik" in response.get_data(as_text=True)
    assert update_count(app) == 0


def test_an_import_with_one_bad_row_saves_nothing_and_names_the_row(app, planner_client, world):
    first, second, third = world.receipts[:3]
    today = jakarta_today().isoformat()
    data = csv_file([first, today, "berjalan", "20", "1000000", ""],
                    ["MT-2099-9999", today, "berjalan", "20", "1000000", ""],
                    [third, today, "selesai", "100", "39000000", ""])
    response = upload(planner_client, world.session, data)
    assert response.status_code == 400
    page = text_of(response)
    assert "Ditemukan 1 masalah; tidak ada yang diimpor." in page
    assert re.search(r"3 nomor_tanda_terima Nomor tanda terima tidak dikenal", page)
    assert update_count(app) == 0
    assert {r.status for r in follow_ups(app, world).values()} == {FollowUpStatus.PLANNED}


@pytest.mark.parametrize("row,column,message", [
    (["{r}", "{today}", "berjalan", "150", "1000000", ""], "progres_fisik",
     "Progres fisik harus bilangan bulat 0 sampai 100."),
    (["{r}", "{future}", "berjalan", "10", "1000000", ""], "tanggal", "Tanggal tidak boleh di masa depan."),
    (["{r}", "{today}", "selesai", "10", "1000000", ""], None, None),
    (["{r}", "{today}", "dibatalkan", "10", "0", ""], "status", "Status tidak dikenal"),
    (["{r}", "{today}", "batal", "10", "0", ""], "catatan", "Isi alasan pembatalannya."),
    (["{r}", "{today}", "berjalan", "10", "99000000", ""], "realisasi_anggaran", "melebihi pagu"),
])
def test_each_rule_of_an_import_row(app, planner_client, world, row, column, message):
    values = {"r": world.receipts[1], "today": jakarta_today().isoformat(),
              "future": (jakarta_today() + timedelta(days=1)).isoformat()}
    response = upload(planner_client, world.session, csv_file([cell.format(**values) for cell in row]))
    if column is None:
        assert response.status_code == 303
        assert update_count(app) == 1
        return
    assert response.status_code == 400
    assert re.search(rf"2 {column} [^<]*{re.escape(message)}", text_of(response)), text_of(response)[-1500:]
    assert update_count(app) == 0


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_valid_import_updates_every_listed_proposal(app, planner_client, world, kind):
    first, second, third = world.receipts[:3]
    earlier = (jakarta_today() - timedelta(days=40)).isoformat()
    today = jakarta_today().isoformat()
    rows = [[first, earlier, "berjalan", "30", "9000000", "Tahap pertama"],
            [first, today, "selesai", "100", "29500000", "Selesai diserahkan"],
            [second, today, "berjalan", "50", "10000000", ""],
            [third, today, "batal", "0", "0", "Pelaku usaha menutup usahanya"]]
    data = csv_file(*rows) if kind == "csv" else xlsx_file(*rows)
    response = upload(planner_client, world.session, data, f"tindak-lanjut.{kind}")
    assert response.status_code == 303, text_of(response)[-2000:]
    records = follow_ups(app, world)
    assert (records[first].status, records[first].progress, records[first].realised_amount) == (
        FollowUpStatus.COMPLETED, 100, 29_500_000)
    assert (records[second].status, records[second].progress) == (FollowUpStatus.IN_PROGRESS, 50)
    assert (records[third].status, records[third].cancel_reason) == (FollowUpStatus.CANCELLED,
                                                                      "Pelaku usaha menutup usahanya")
    assert update_count(app) == 4


def test_the_command_line_import_is_all_or_nothing(app, world, tmp_path):
    first = world.receipts[0]
    today = jakarta_today().isoformat()
    bad = tmp_path / "buruk.csv"
    bad.write_bytes(csv_file([first, today, "berjalan", "20", "1000000", ""], [first, "2027-02-30", "berjalan", "20", "1", ""]))
    result = app.test_cli_runner().invoke(args=["import-follow-up", str(world.session), str(bad)])
    assert result.exit_code != 0
    assert "tanggal" in result.output and "TTTT-BB-HH" in result.output
    assert update_count(app) == 0
    good = tmp_path / "baik.csv"
    good.write_bytes(csv_file([first, today, "berjalan", "20", "1000000", ""]))
    result = app.test_cli_runner().invoke(args=["import-follow-up", str(world.session), str(good)])
    assert result.exit_code == 0, result.output
    assert follow_ups(app, world)[first].progress == 20


def test_hostile_notes_on_the_form_and_in_the_import_stay_text_in_the_export(app, planner_client, world):
    target = follow_up_id(app, world.receipts[0])
    today = jakarta_today().isoformat()
    for label, payload in corpus_for(app).items():
        response = post_update(planner_client, target, note=payload, cancel_reason=payload, progress=payload[:40])
        assert not is_server_error(response), label
        assert "<script>alert" not in response.get_data(as_text=True), label
        response = upload(planner_client, world.session,
                          csv_file([world.receipts[1], today, "berjalan", "10", "1000", payload]))
        assert not is_server_error(response), label
        response = upload(planner_client, world.session,
                          csv_file([payload[:100], payload[:100], payload[:100], payload[:100], payload[:100], payload]))
        assert not is_server_error(response) and response.status_code == 400, label
    formula = '=HYPERLINK("http://evil.example","klik")'
    assert upload(planner_client, world.session,
                  csv_file([world.receipts[2], today, "berjalan", "10", "1000", formula])).status_code == 303
    exported = planner_client.get(f"/sesi/{world.session}/tindak-lanjut/ekspor.csv").get_data(as_text=True)
    assert "'" + formula.replace('"', '""') in exported
    workbook = load_workbook(io.BytesIO(planner_client.get(f"/sesi/{world.session}/tindak-lanjut/ekspor.xlsx").data))
    cells = [row for row in workbook.active.iter_rows(values_only=True)]
    assert cells[0] == tuple(HEADER)
    assert ("'" + formula) in {row[5] for row in cells[1:]}
    assert all(cell.data_type != "f" for row in workbook.active.iter_rows() for cell in row)


def test_the_public_page_shows_the_service_figures_and_a_cancellation_reason(app, planner_client, world):
    from participation.followup.progress import session_progress

    first, second, third = world.receipts[:3]
    earlier = (jakarta_today().replace(day=1) - timedelta(days=20)).isoformat()
    today = jakarta_today().isoformat()
    assert upload(planner_client, world.session, csv_file(
        [first, earlier, "berjalan", "30", "9000000", ""], [first, today, "berjalan", "60", "15000000", ""],
        [second, today, "selesai", "100", "20000000", ""],
        [third, today, "batal", "0", "0", "Lokasi tidak tersedia"])).status_code == 303
    anonymous = app.test_client()
    page = anonymous.get(f"/hasil/{world.session}").get_data(as_text=True)
    figures = dict(re.findall(r'data-figure="(\w+)">([^<]+)<', page))
    with app.test_request_context():
        from participation.i18n import number, rupiah

        with app_db(app) as session:
            summary = session_progress(session.get(ThemedSession, world.session)).summary
            expected = {"funded": str(summary.funded), "in_progress": str(summary.in_progress),
                        "completed": str(summary.completed), "cancelled": str(summary.cancelled),
                        "mean_progress": f"{number(summary.mean_progress, 1)} %", "realised": rupiah(summary.realised),
                        "allocated": rupiah(summary.allocated),
                        "realised_share": f"{number(summary.realised_share, 1)} %"}
    assert figures == expected
    assert (summary.funded, summary.in_progress, summary.completed, summary.cancelled) == (3, 1, 1, 1)
    assert summary.realised == 35_000_000 and summary.allocated == sum(COSTS[:3])
    assert summary.mean_progress == 80.0  # (60 + 100) / 2: the cancelled one is left out
    assert [m.amount for m in summary.months] == [9_000_000, 26_000_000]
    text = text_of(anonymous.get(f"/hasil/{world.session}"))
    assert "Alasan pembatalan: Lokasi tidak tersedia" in text
    assert 'role="img"' in page and "<title id=\"chart-title\">Realisasi anggaran per bulan</title>" in page
    assert 'data-progress="60"' in page


def test_the_api_gives_the_public_page_figures_and_the_dated_updates(app, planner_client, world, make_world):
    first, second, third = world.receipts[:3]
    earlier = (jakarta_today().replace(day=1) - timedelta(days=20)).isoformat()
    today = jakarta_today().isoformat()
    assert upload(planner_client, world.session, csv_file(
        [first, earlier, "berjalan", "30", "9000000", "Tahap pertama"], [first, today, "berjalan", "60", "15000000", ""],
        [third, today, "batal", "0", "0", "Lokasi tidak tersedia"])).status_code == 303
    anonymous = app.test_client()
    body = anonymous.get(f"/api/v1/sessions/{world.session}/follow-up").json
    page = anonymous.get(f"/hasil/{world.session}").get_data(as_text=True)
    figures = dict(re.findall(r'data-figure="(\w+)">([^<]+)<', page))
    summary = body["summary"]
    assert [figures[key] for key in ("funded", "in_progress", "completed", "cancelled")] == [
        str(summary[key]) for key in ("funded", "in_progress", "completed", "cancelled")]
    assert figures["mean_progress"] == "30,0 %" and summary["mean_progress"] == 30.0  # (60 + 0) / 2, not the cancelled
    assert figures["realised"] == "Rp15.000.000" and summary["realised_amount"] == 15_000_000
    assert summary["allocated_amount"] == sum(COSTS[:3])
    assert [m["realised_amount"] for m in summary["months"]] == [9_000_000, 6_000_000]
    by_receipt = {f["receipt_number"]: f for f in body["follow_ups"]}
    assert set(by_receipt) == set(world.receipts[:3])
    assert [(u["date"], u["progress"], u["realised_amount"], u["note"]) for u in by_receipt[first]["updates"]] == [
        (earlier, 30, 9_000_000, "Tahap pertama"), (today, 60, 15_000_000, "")]
    assert (by_receipt[third]["status"], by_receipt[third]["cancel_reason"]) == ("batal", "Lokasi tidak tersedia")
    assert (by_receipt[second]["status"], by_receipt[second]["updates"]) == ("direncanakan", [])
    open_session = make_world()
    for session_id in (open_session.session, 99999):
        response = anonymous.get(f"/api/v1/sessions/{session_id}/follow-up")
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
