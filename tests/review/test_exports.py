"""Exports: the JSON contract, CSV with BOM and neutralised formulas, XLSX, the CLI, the demo."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from openpyxl import load_workbook

from participation.models import Role, SessionStatus, ThemedSession, User
from tests.conftest import app_db, post_form
from tests.factories import rate_all

HOSTILE_TITLE = '=HYPERLINK("http://evil.example","klik")'


@pytest.fixture
def world(make_world, login_as):
    """A session in review: two rated proposals with formula-like text, one unrated; the planner signed in."""
    world = make_world(status=SessionStatus.REVIEW, budget_ceiling=60_000_000, proposals=[
        {"business": {"nib": "1234567890123", "name": "@Usaha Minus"}, "title": HOSTILE_TITLE,
         "estimated_cost": 35_000_000, "rated": 3},
        {"business": {"nib": "2222222222222", "name": "Usaha Kedua"}, "title": "+62 pelatihan kemasan",
         "estimated_cost": 30_000_000, "rated": 4},
        {"business": {"nib": "3333333333333", "name": "Usaha Ketiga"}, "title": "Usulan belum dinilai",
         "estimated_cost": 10_000_000},
    ])
    login_as(world.planner)
    return world


def test_json_follows_the_contract(app, client, world):
    response = client.get(f"/sesi/{world.session}/peringkat.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    payload = json.loads(response.data)
    assert set(payload) == {"session", "method", "normalization", "selection", "aggregation", "criteria",
                            "proposals", "generated_at", "constraints"}
    assert payload["aggregation"] == {"method": "mean", "min_raters": None}
    assert set(payload["session"]) == {"id", "title", "status", "budget_ceiling"}
    assert payload["session"]["status"] == "review" and payload["session"]["budget_ceiling"] == 60_000_000
    assert set(payload["criteria"][0]) == {"key", "name", "weight", "direction", "source"}
    assert sum(c["weight"] for c in payload["criteria"]) == pytest.approx(1.0)
    line = payload["proposals"][0]
    assert set(line) == {"rank", "receipt_number", "title", "business", "category", "estimated_cost", "values",
                         "score", "selected", "decision", "must_fund_reason", "kept_out_by"}
    assert payload["constraints"] == {"must_fund": [], "exclusive_groups": [], "category_caps": [], "problem": None}
    assert [p["rank"] for p in payload["proposals"]] == [1, 2, None]
    assert payload["proposals"][-1]["score"] is None and payload["proposals"][-1]["selected"] is None
    assert payload["generated_at"].endswith("Z")


def test_csv_has_a_bom_and_neutralises_formula_cells(app, client, world):
    response = client.get(f"/sesi/{world.session}/peringkat.csv")
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:9] == ["rank", "receipt_number", "title", "business", "category", "estimated_cost", "score",
                           "selected", "decision"]
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + HOSTILE_TITLE in cells and "'+62 pelatihan kemasan" in cells and "'@Usaha Minus" in cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
    assert sorted(row[7] for row in rows[1:3]) == ["false", "true"]  # 35 + 30 million do not both fit in 60
    assert rows[-1][0] == "" and rows[-1][7] == ""  # the unranked proposal: no rank, no selection


FORMULA_REASON = "=1+1 dana sudah habis"


def _decide(client, world, index, outcome, reason):
    response = post_form(client, f"/sesi/{world.session}/keputusan/{world.proposals[index]}",
                         {"outcome": outcome, "reason": reason})
    assert response.status_code == 303


def _xlsx(client, world):
    response = client.get(f"/sesi/{world.session}/peringkat.xlsx")
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.data))


def test_xlsx_speaks_indonesian_with_exact_figures_and_text_kept_as_text(app, client, world):
    _decide(client, world, 0, "prioritized", FORMULA_REASON)
    _decide(client, world, 1, "deferred", "Menunggu hasil survei lapangan.")
    workbook = _xlsx(client, world)
    assert workbook.sheetnames == ["Peringkat", "Kriteria", "Sesi"]
    sheet = workbook["Peringkat"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header[:11] == ["Peringkat", "Nomor tanda terima", "Judul", "Usaha", "Kategori", "Perkiraan biaya",
                           "Skor", "Terpilih", "Keputusan", "Alasan keputusan", "Keterangan pagu"]
    assert header[11:] == ["Urgensi", "Kesesuaian dengan prioritas daerah (RPJMD)", "Kesiapan pelaksanaan",
                           "Penerima manfaat", "Tenaga kerja baru", "Perkiraan biaya", "Dukungan peserta"]
    rows = {row[2].value: row for row in sheet.iter_rows(min_row=2)}
    first, second, unranked = rows["+62 pelatihan kemasan"], rows[HOSTILE_TITLE], rows["Usulan belum dinilai"]
    # Text a spreadsheet would run as a formula stays text: the title, the business and the reason.
    assert second[2].data_type == "s" and second[3].value == "@Usaha Minus" and second[3].data_type == "s"
    assert second[9].value == FORMULA_REASON and second[9].data_type == "s"
    # Figures: exact in the cell, rounded by the number format only.
    payload = json.loads(client.get(f"/sesi/{world.session}/peringkat.json").data)
    exact = {line["title"]: line for line in payload["proposals"]}
    assert first[0].value == 1 and second[0].value == 2 and unranked[0].value is None
    assert first[6].value == exact["+62 pelatihan kemasan"]["score"] and first[6].number_format == "0.0000"
    assert isinstance(first[5].value, int) and first[5].number_format == '"Rp"#,##0'
    assert first[11].value == 4 and first[11].number_format == "0.00"  # a rating
    assert first[16].value == 30_000_000 and first[16].number_format == '"Rp"#,##0'  # the cost criterion
    # Yes/No, outcomes and reasons in words.
    assert (first[7].value, second[7].value, unranked[7].value) == ("Ya", "Tidak", "–")
    assert (first[8].value, second[8].value, unranked[8].value) == ("Ditunda", "Diprioritaskan", "–")
    assert second[9].value == FORMULA_REASON and first[9].value == "Menunggu hasil survei lapangan."
    assert first[10].value == "" or first[10].value is None
    assert second[10].value == "Tidak muat dalam sisa pagu Rp30.000.000. Kekurangan Rp5.000.000."
    assert unranked[10].value == "Belum dapat diperingkat."
    criteria = workbook["Kriteria"]
    assert [c.value for c in criteria[1]] == ["Kunci", "Kriteria", "Bobot", "Arah", "Sumber"]
    assert criteria.max_row == 8
    urgency = [c.value for c in criteria[2]]
    assert urgency[:2] == ["urgensi", "Urgensi"] and urgency[3:] == ["Manfaat", "Penilaian perencana"]
    assert urgency[2] == pytest.approx(payload["criteria"][0]["weight"]) and criteria["C2"].number_format == "0.0%"
    assert [c.value for c in criteria[7]][3] == "Biaya"
    meta = {row[0].value: row for row in workbook["Sesi"].iter_rows()}
    assert meta["Judul"][1].value == "Musrenbang Tematik Uji"
    assert meta["Pagu anggaran"][1].value == 60_000_000 and meta["Pagu anggaran"][1].number_format == '"Rp"#,##0'
    # Column B says the settings in words; column C keeps the JSON export's codes.
    words = {name: (meta[name][1].value, meta[name][2].value) for name in
             ("Status", "Metode penilaian", "Normalisasi (SAW)", "Pemilihan dalam batas pagu")}
    assert words == {"Status": ("Dalam penilaian", "review"),
                     "Metode penilaian": ("Pembobotan aditif sederhana (SAW)", "saw"),
                     "Normalisasi (SAW)": ("Min–maks", "minmax"),
                     "Pemilihan dalam batas pagu": ("Terbaik lebih dulu, selama pagu mencukupi", "greedy")}
    assert "Simple additive" not in str([[c.value for c in row] for ws in workbook for row in ws.iter_rows()])


def test_xlsx_follows_an_english_interface(app, client, world):
    _decide(client, world, 1, "rejected", "Tidak sesuai tema.")
    post_form(client, "/bahasa", {"locale": "en"}, token_from=f"/sesi/{world.session}/peringkat")
    workbook = _xlsx(client, world)
    assert workbook.sheetnames == ["Ranking", "Criteria", "Session"]
    sheet = workbook["Ranking"]
    assert [c.value for c in sheet[1]][:11] == ["Rank", "Receipt number", "Title", "Business", "Category",
                                                "Estimated cost", "Score", "Selected", "Decision",
                                                "Reason for the decision", "Budget note"]
    rows = {row[2].value: row for row in sheet.iter_rows(min_row=2)}
    first = rows["+62 pelatihan kemasan"]
    assert (first[7].value, first[8].value, first[9].value) == ("Yes", "Rejected", "Tidak sesuai tema.")
    meta = {row[0].value: row for row in workbook["Session"].iter_rows()}
    assert meta["Scoring method"][1].value == "Simple additive weighting (SAW)"
    # The JSON contract does not change with the language.
    payload = json.loads(client.get(f"/sesi/{world.session}/peringkat.json").data)
    assert payload["method"] == "saw" and payload["proposals"][0]["decision"] == "rejected"
    assert set(payload["proposals"][0]) == {"rank", "receipt_number", "title", "business", "category",
                                            "estimated_cost", "values", "score", "selected", "decision",
                                            "must_fund_reason", "kept_out_by"}


def test_cli_export_ranking_to_stdout_and_file(app, world, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["export-ranking", str(world.session), "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.output)["session"]["id"] == world.session
    result = runner.invoke(args=["export-ranking", str(world.session), "--format", "csv"])
    assert result.exit_code == 0 and result.output.lstrip("\ufeff").startswith("rank,receipt_number")
    assert runner.invoke(args=["export-ranking", str(world.session), "--format", "xlsx"]).exit_code != 0
    target = tmp_path / "peringkat.xlsx"
    result = runner.invoke(args=["export-ranking", str(world.session), "--format", "xlsx", "--output", str(target)])
    assert result.exit_code == 0 and load_workbook(target).sheetnames[0] == "Peringkat"
    assert runner.invoke(args=["export-ranking", "999", "--format", "json"]).exit_code != 0


def test_a_finalised_session_exports_its_snapshot(app, client, world):
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        second = User(email="kedua@contoh.id", name="Perencana Kedua", role=Role.PLANNER, password_hash="x")
        session.add(second)
        rate_all(themed_session, [second], value=2)  # now every proposal has a rating on every criterion
        session.commit()
    post_form(client, f"/sesi/{world.session}/finalisasi", {"confirm": "FINAL"})
    exported = json.loads(client.get(f"/sesi/{world.session}/peringkat.json").data)
    with app_db(app) as session:
        from participation.review.services import latest_snapshot

        snapshot = latest_snapshot(session.get(ThemedSession, world.session))
        assert exported == snapshot.payload["export"]
        assert exported["session"]["status"] == "finalized"


def test_the_demo_export_is_reproducible_with_an_independent_implementation(app):
    """DESIGN §7: recompute every score from the export's own values, weights and directions."""
    from pymcdm.methods import TOPSIS, WSM
    from pymcdm.normalizations import linear_normalization, minmax_normalization, vector_normalization

    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    result = app.test_cli_runner().invoke(args=["export-ranking", "1", "--format", "json"])
    payload = json.loads(result.output)
    ranked = [p for p in payload["proposals"] if p["rank"] is not None]
    assert len(ranked) == len(payload["proposals"]) >= 60  # the demo ranks every proposal
    keys = [c["key"] for c in payload["criteria"]]
    matrix = np.array([[p["values"][k] for k in keys] for p in ranked], dtype=float)
    weights = np.array([c["weight"] for c in payload["criteria"]])
    types = np.array([c["direction"] for c in payload["criteria"]])
    method = {("saw", "minmax"): WSM(minmax_normalization), ("saw", "max"): WSM(linear_normalization),
              ("topsis", "minmax"): TOPSIS(vector_normalization),
              ("topsis", "max"): TOPSIS(vector_normalization)}[(payload["method"], payload["normalization"])]
    expected = method(matrix, weights, types, validation=False)
    np.testing.assert_allclose([p["score"] for p in ranked], expected, rtol=0, atol=1e-12)
    # Ranks: higher score first, ties (within 1e-9) by cost, then receipt.
    order = sorted(range(len(ranked)), key=lambda i: (-round(expected[i], 9), ranked[i]["estimated_cost"],
                                                       ranked[i]["receipt_number"]))
    assert [ranked[i]["rank"] for i in order] == list(range(1, len(ranked) + 1))
    # Selection: greedy within the ceiling, best first.
    remaining, selected = payload["session"]["budget_ceiling"], []
    for i in order:
        take = ranked[i]["estimated_cost"] <= remaining
        remaining -= ranked[i]["estimated_cost"] if take else 0
        selected.append((i, take))
    assert all(ranked[i]["selected"] is take for i, take in selected)
    assert sum(p["decision"] is not None for p in payload["proposals"]) >= 3
