"""The SIPD-layout export (DESIGN §10): codes typed where they belong, one row per funded proposal."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from participation.models import AuditEvent, Category, Proposal, SessionStatus, ThemedSession
from tests.conftest import app_db, post_form
from tests.hostile import corpus_for, is_server_error
from tests.proposals.test_proposals import FULL
from tests.test_hostile_forms import hammer

# DESIGN §10, spelled out: SIPD's usulan column names in order.
SIPD_COLUMNS = ["id_usulan", "tahun_anggaran", "masalah", "tujuan_usul", "alamat_teks", "nama_kecamatan",
                "id_kecamatan", "nama_kelurahan", "id_kelurahan", "anggaran", "volume", "satuan", "jenis_belanja",
                "kode_skpd", "nama_skpd", "kode_sub_giat", "giat_teks", "pengusul", "status_usul_teks",
                "rekom_teks"]
CATEGORY_CODES = {"kode_skpd": "2.17.3.30.0.00.01.0000", "nama_skpd": "Dinas Koperasi, UKM dan Perdagangan",
                  "kode_sub_giat": "2.17.07.2.01.0001", "giat_teks": "Pemberdayaan usaha mikro",
                  "jenis_belanja": "Belanja Barang dan Jasa"}
OVERRIDE = {"kode_skpd": "7.01.0.00.0.00.01.0000", "nama_skpd": "Kecamatan Laweyan",
            "kode_sub_giat": "7.01.02.2.01.0001", "giat_teks": "Pemberdayaan masyarakat kelurahan"}
FORMULA_UNIT = "=HYPERLINK(\"http://evil.example\",\"paket\")"
OPD_MESSAGE = "Tulis kode SKPD seperti di SIPD"
SUB_ACTIVITY_MESSAGE = "Tulis kode sub kegiatan sesuai Permendagri 90/2019"


@pytest.fixture
def world(make_world, login_as):
    """A session in review with a 60 million ceiling: A (35 M) and D (5 M) are funded; B (30 M) lies
    outside the ceiling, C (10 M) is selected but rejected. The planner is signed in."""
    place = {"kelurahan": "Sondakan", "kecamatan": "Laweyan", "kelurahan_code": "33.72.01.1004"}
    world = make_world(status=SessionStatus.REVIEW, budget_ceiling=60_000_000, facilitator=True, proposals=[
        {"business": {"nib": "1111111111111", "name": "Keripik Sondakan", "address": "Jl. Slamet Riyadi 12"},
         "title": "Mesin pengemas vakum", "problem": "Keripik cepat lembek.", "description": "Satu mesin bersama.",
         "estimated_cost": 35_000_000, "volume": 20.0, "satuan": FORMULA_UNIT, "rated": 5, **place},
        {"business": {"nib": "2222222222222", "name": "Batik Kedua"}, "estimated_cost": 30_000_000, "rated": 4},
        {"business": {"nib": "3333333333333", "name": "Usaha Ketiga"}, "estimated_cost": 10_000_000, "rated": 3},
        {"business": {"nib": "4444444444444", "name": "Usaha Keempat"}, "title": "Pelatihan kemasan",
         "problem": "Kemasan kurang menarik.", "description": "Dua hari.", "estimated_cost": 5_000_000, "volume": 1.5,
         "satuan": "paket", "rated": 2, "category": 1},
    ])
    login_as(world.planner)
    return world


def _decide(client, world, index, outcome, reason):
    response = post_form(client, f"/sesi/{world.session}/keputusan/{world.proposals[index]}",
                         {"outcome": outcome, "reason": reason})
    assert response.status_code == 303


def _set_category(client, world, index, data):
    return post_form(client, f"/sesi/{world.session}/kategori/{world.categories[index]}/sipd", data)


def _sipd_sheet(client, world):
    response = client.get(f"/sesi/{world.session}/peringkat-sipd.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "usulan-sipd-sesi-" in response.headers["Content-Disposition"]
    return load_workbook(io.BytesIO(response.data))["usulan"]


def _rows(sheet):
    header = [cell.value for cell in sheet[1]]
    return header, {row[0].value: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)}


def test_every_column_for_each_funded_proposal(app, client, world):
    assert _set_category(client, world, 0, CATEGORY_CODES).status_code == 303
    response = post_form(client, f"/sesi/{world.session}/keputusan/{world.proposals[3]}/sipd", OVERRIDE,
                         token_from=f"/sesi/{world.session}/keputusan/{world.proposals[3]}")
    assert response.status_code == 303
    _decide(client, world, 0, "prioritized", "Mendukung produk unggulan kelurahan.")
    _decide(client, world, 2, "rejected", "Sudah didanai tahun lalu.")
    header, rows = _rows(_sipd_sheet(client, world))
    assert header == SIPD_COLUMNS
    receipts = world.receipts
    assert list(rows) == [receipts[0], receipts[3]]  # funded only, in rank order: B is outside, C rejected
    first = {name: cell.value for name, cell in rows[receipts[0]].items()}
    assert first == {
        "id_usulan": receipts[0], "tahun_anggaran": 2027, "masalah": "Keripik cepat lembek.",
        "tujuan_usul": "Mesin pengemas vakum\n\nSatu mesin bersama.", "alamat_teks": "Jl. Slamet Riyadi 12",
        "nama_kecamatan": "Laweyan", "id_kecamatan": "33.72.01", "nama_kelurahan": "Sondakan",
        "id_kelurahan": "33.72.01.1004", "anggaran": 35_000_000, "volume": 20, "satuan": "'" + FORMULA_UNIT,
        "jenis_belanja": "Belanja Barang dan Jasa", "kode_skpd": "2.17.3.30.0.00.01.0000",
        "nama_skpd": "Dinas Koperasi, UKM dan Perdagangan", "kode_sub_giat": "2.17.07.2.01.0001",
        "giat_teks": "Pemberdayaan usaha mikro", "pengusul": "Keripik Sondakan",
        "status_usul_teks": "Diprioritaskan · didanai dalam pagu",
        "rekom_teks": "Mendukung produk unggulan kelurahan.",
    }
    fourth = {name: cell.value for name, cell in rows[receipts[3]].items()}
    # Its category has no defaults; the planner's override gives the OPD and sub-activity.
    assert (fourth["kode_skpd"], fourth["nama_skpd"]) == ("7.01.0.00.0.00.01.0000", "Kecamatan Laweyan")
    assert (fourth["kode_sub_giat"], fourth["giat_teks"]) == ("7.01.02.2.01.0001", "Pemberdayaan masyarakat kelurahan")
    assert fourth["volume"] == 1.5 and fourth["satuan"] == "paket" and fourth["anggaran"] == 5_000_000
    assert fourth["status_usul_teks"] == "Dalam pagu · belum ada keputusan" and not fourth["rekom_teks"]
    assert fourth["tujuan_usul"] == "Pelatihan kemasan\n\nDua hari." and fourth["alamat_teks"] == "Sukamaju, Sukamaju"
    with app_db(app) as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"session.category_sipd_set", "proposal.sipd_codes_set"} <= actions


def test_codes_stay_text_and_formulas_stay_inert(app, client, world):
    _set_category(client, world, 0, CATEGORY_CODES)
    _header, rows = _rows(_sipd_sheet(client, world))
    row = rows[world.receipts[0]]
    for name in ("id_usulan", "id_kecamatan", "id_kelurahan", "kode_skpd", "kode_sub_giat", "satuan", "pengusul"):
        assert row[name].data_type == "s" and row[name].number_format == "@", name
    assert row["satuan"].value.startswith("'=")  # neutralised, never a formula
    assert row["anggaran"].data_type == "n" and row["tahun_anggaran"].data_type == "n"


def test_the_rows_stay_indonesian_under_an_english_interface(app, client, world):
    post_form(client, "/bahasa", {"locale": "en"}, token_from=f"/sesi/{world.session}/peringkat")
    _header, rows = _rows(_sipd_sheet(client, world))
    assert rows[world.receipts[0]]["status_usul_teks"].value == "Dalam pagu · belum ada keputusan"


def test_a_finalised_session_exports_its_snapshot_from_the_command_line(app, client, world, tmp_path):
    _set_category(client, world, 0, CATEGORY_CODES)
    with app_db(app) as session:
        from participation.review.services import write_snapshot

        themed_session = session.get(ThemedSession, world.session)
        write_snapshot(themed_session, None)
        themed_session.status = SessionStatus.FINALIZED
        # After finalisation a cost changed in the live data: the export keeps the snapshot's figure.
        session.get(Proposal, world.proposals[0]).estimated_cost = 1
        session.commit()
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["export-ranking", str(world.session), "--format", "sipd"])
    assert refused.exit_code != 0 and "--output" in refused.output
    target = tmp_path / "sipd.xlsx"
    result = runner.invoke(args=["export-ranking", str(world.session), "--format", "sipd", "--output", str(target)])
    assert result.exit_code == 0, result.output
    _header, rows = _rows(load_workbook(target)["usulan"])
    assert list(rows) == [world.receipts[0], world.receipts[2], world.receipts[3]]  # no decisions: selection
    assert rows[world.receipts[0]]["anggaran"].value == 35_000_000
    assert rows[world.receipts[0]]["kode_sub_giat"].value == "2.17.07.2.01.0001"
    assert rows[world.receipts[0]]["status_usul_teks"].value == "Dalam pagu · belum ada keputusan"


@pytest.mark.parametrize(("name", "typed", "message"), [
    ("kode_skpd", "7.01.00.00.01", OPD_MESSAGE),
    ("kode_skpd", "7010000000010000", OPD_MESSAGE),
    ("kode_sub_giat", "7.01.02.2.01.01", SUB_ACTIVITY_MESSAGE),  # the old two-digit sub-activity
    ("kode_sub_giat", "X.XX.01.2.01.0001", SUB_ACTIVITY_MESSAGE),
])
def test_a_category_code_in_the_wrong_format_is_refused_on_its_field(app, client, world, name, typed, message):
    response = _set_category(client, world, 0, {**CATEGORY_CODES, name: typed})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in body and f'id="{name}-error"' in body and f'value="{typed}"' in body
    assert 'value="Dinas Koperasi, UKM dan Perdagangan"' in body  # what else was typed is kept
    with app_db(app) as session:
        category = session.get(Category, world.categories[0])
        assert (category.kode_skpd, category.kode_sub_giat, category.nama_skpd) == ("", "", "")


def test_a_proposal_override_in_the_wrong_format_is_refused_on_its_field(app, client, world):
    page = f"/sesi/{world.session}/keputusan/{world.proposals[0]}"
    response = post_form(client, page + "/sipd", {**OVERRIDE, "kode_sub_giat": "7.1.2.2.1.1"}, token_from=page)
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and SUB_ACTIVITY_MESSAGE in body and 'value="7.1.2.2.1.1"' in body
    assert 'value="Kecamatan Laweyan"' in body and 'value="7.01.0.00.0.00.01.0000"' in body
    with app_db(app) as session:
        assert session.get(Proposal, world.proposals[0]).kode_skpd is None
    # Spaces typed inside a code are dropped; an emptied field falls back to the category's default.
    response = post_form(client, page + "/sipd", {**OVERRIDE, "kode_skpd": " 7.01.0.00.0.00.01.0000 "},
                         token_from=page)
    assert response.status_code == 303
    _set_category(client, world, 0, CATEGORY_CODES)
    post_form(client, page + "/sipd", {**OVERRIDE, "kode_skpd": "", "nama_skpd": "", "giat_teks": ""},
              token_from=page)
    with app_db(app) as session:
        proposal = session.get(Proposal, world.proposals[0])
        assert (proposal.kode_skpd, proposal.nama_skpd, proposal.kode_sub_giat) == (None, None, "7.01.02.2.01.0001")
        # An emptied pair takes the category's; a pair given in part stays the planner's, never half of each.
        assert proposal.sipd_opd == ("2.17.3.30.0.00.01.0000", "Dinas Koperasi, UKM dan Perdagangan")
        assert proposal.sipd_sub_activity == ("7.01.02.2.01.0001", "")


def test_facilitators_do_not_get_the_sipd_export(app, client, world, login_as):
    post_form(client, "/keluar", {}, token_from="/")
    login_as(world.facilitator)
    assert client.get(f"/sesi/{world.session}/peringkat-sipd.xlsx").status_code == 403
    assert "peringkat-sipd.xlsx" not in client.get(f"/sesi/{world.session}/peringkat").get_data(as_text=True)


def test_the_owner_gives_a_quantity_and_a_unit(app, client, make_world, login_as):
    world = make_world(owner=True)
    login_as(world.owner)
    url = f"/usulan/baru/{world.session}"
    base = {**FULL, "category_id": str(world.categories[0]), "action": "submit"}
    refused = post_form(client, url, {**base, "volume": "0", "satuan": "paket"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Isi volume lebih dari nol" in body and 'value="paket"' in body
    assert post_form(client, url, {**base, "volume": "2.500,5", "satuan": "lembar"}).status_code == 303
    with app_db(app) as session:
        proposal = session.scalars(select(Proposal).where(Proposal.session_id == world.session)).one()
        assert (proposal.volume, proposal.satuan) == (2500.5, "lembar")
        proposal_id = proposal.id
    page = client.get(f"/usulan/{proposal_id}").get_data(as_text=True)
    assert "2.500,5 lembar" in page


def test_hostile_input_on_the_sipd_fields(app, client, world, make_world, login_as):
    sid = world.session
    hammer(app, client, f"/sesi/{sid}/kategori/{world.categories[0]}/sipd", CATEGORY_CODES, list(CATEGORY_CODES))
    decision_page = f"/sesi/{sid}/keputusan/{world.proposals[0]}"
    hammer(app, client, decision_page + "/sipd", OVERRIDE, list(OVERRIDE), token_page=decision_page)
    assert client.get(f"/sesi/{sid}/peringkat-sipd.xlsx").status_code == 200
    post_form(client, "/keluar", {}, token_from="/")
    owner_world = make_world(owner=True)
    login_as(owner_world.owner)
    hammer(app, client, f"/usulan/baru/{owner_world.session}",
           {**FULL, "category_id": str(owner_world.categories[0]), "action": "draft", "volume": "3",
            "satuan": "paket"}, ["volume", "satuan"])


def test_hostile_units_reach_the_export_as_inert_text(app, client, world):
    """Whatever reached the database (an import, an older row) comes out as plain text, never a formula."""
    from participation.review.exports import neutralise

    for label, payload in corpus_for(app).items():
        if "\x00" in payload:  # PostgreSQL stores no NUL; the forms refuse it on both
            continue
        unit = payload[:50]
        with app_db(app) as session:
            session.get(Proposal, world.proposals[0]).satuan = unit
            session.commit()
        _header, rows = _rows(_sipd_sheet(client, world))
        cell = rows[world.receipts[0]]["satuan"]
        # XLSX holds no control character, and XML reads a CR LF line break as LF.
        expected = neutralise(unit).replace("\x07", "").replace("\r\n", "\n")
        assert cell.data_type == "s" and (cell.value or "") == expected, label
