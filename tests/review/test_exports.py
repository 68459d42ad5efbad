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
    assert set(payload) == {"session", "method", "normalization", "selection", "criteria", "proposals", "generated_at"}
    assert set(payload["session"]) == {"id", "title", "status", "budget_ceiling"}
    assert payload["session"]["status"] == "review" and payload["session"]["budget_ceiling"] == 60_000_000
    assert set(payload["criteria"][0]) == {"key", "name", "weight", "direction", "source"}
    assert sum(c["weight"] for c in payload["criteria"]) == pytest.approx(1.0)
    line = payload["proposals"][0]
    assert set(line) == {"rank", "receipt_number", "title", "business", "category", "estimated_cost", "values",
                         "score", "selected", "decision"}
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


def test_xlsx_keeps_text_as_text_with_rupiah_format_frozen_header_and_three_sheets(app, client, world):
    response = client.get(f"/sesi/{world.session}/peringkat.xlsx")
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["Peringkat", "Kriteria", "Sesi"]
    sheet = workbook["Peringkat"]
    assert sheet.freeze_panes == "A2"
    titles = {sheet.cell(row=r, column=3).value: sheet.cell(row=r, column=3) for r in range(2, sheet.max_row + 1)}
    assert titles[HOSTILE_TITLE].data_type == "s"  # text, not a formula
    cost = sheet.cell(row=2, column=6)
    assert isinstance(cost.value, int) and cost.number_format == '"Rp"#,##0'
    criteria = workbook["Kriteria"]
    assert [c.value for c in criteria[1]] == ["key", "name", "weight", "direction", "source"]
    assert criteria.max_row == 8
    meta = {row[0].value: row[1].value for row in workbook["Sesi"].iter_rows()}
    assert meta["title"] == "Musrenbang Tematik Uji" and meta["budget_ceiling"] == 60_000_000
    # Column B keeps the JSON export's codes; column C says them in words for whoever opens the file.
    assert (meta["status"], meta["method"], meta["normalization"], meta["selection"]) == ("review", "saw", "minmax",
                                                                                        "greedy")
    words = {row[0].value: row[2].value for row in workbook["Sesi"].iter_rows() if row[2].value}
    assert words == {"status": "Dalam penilaian", "method": "Simple additive weighting (SAW)",
                     "normalization": "Min–maks", "selection": "Terbaik lebih dulu, selama pagu mencukupi"}


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
