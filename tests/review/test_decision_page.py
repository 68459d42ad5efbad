"""The decision page: rank, score, cost and the budget effect; a warning outside the ceiling; the reason everywhere."""
from __future__ import annotations

import html
import io
import json
import re

import pytest
from openpyxl import load_workbook

from participation.models import SessionStatus
from tests.conftest import post_form
from tests.documents.conftest import pdf_reader, pdf_text

CEILING = 100_000_000
REASON_OUTSIDE = "Diprioritaskan forum karena menyerap tenaga kerja perempuan."
REASON_OWNER = "Sesuai prioritas RPJMD dan siap dilaksanakan."


@pytest.fixture
def world(make_world, login_as):
    """Three rated proposals costing 120 million together under a ceiling of 100 million; the planner signed in."""
    world = make_world(owner=True, status=SessionStatus.REVIEW, budget_ceiling=CEILING, proposals=[
        {"business": "owner", "title": "Mesin pengemas keripik", "estimated_cost": 40_000_000, "rated": 5},
        {"business": {"nib": "2222222222222", "name": "Batik Sekar"}, "title": "Pelatihan pewarna alami",
         "estimated_cost": 50_000_000, "rated": 4},
        {"business": {"nib": "3333333333333", "name": "Tahu Makmur"}, "title": "Sertifikasi halal tahu",
         "estimated_cost": 30_000_000, "rated": 2},
    ])
    login_as(world.planner)
    return world


def expected_figures(client, world) -> dict:
    """Each proposal's figures worked out from the JSON export alone, best first (greedy)."""
    payload = json.loads(client.get(f"/sesi/{world.session}/peringkat.json").data)
    assert payload["selection"] == "greedy"
    spent, figures = 0, {}
    for line in sorted(payload["proposals"], key=lambda line: line["rank"]):
        before = CEILING - spent
        figures[line["receipt_number"]] = {"rank": line["rank"], "score": line["score"], "cost": line["estimated_cost"],
                                           "before": before, "after": before - line["estimated_cost"],
                                           "cumulative": spent + line["estimated_cost"], "selected": line["selected"]}
        spent += line["estimated_cost"] if line["selected"] else 0
    return figures


def shown(page: str) -> dict:
    return {name: " ".join(html.unescape(re.sub(r"<[^>]+>", "", value)).split())
            for name, value in re.findall(r'data-figure="(\w+)">(.*?)</dd>', page, re.S)}


def rupiah_id(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


def test_the_page_shows_rank_score_cost_and_the_budget_effect(app, client, world):
    figures = expected_figures(client, world)
    outside = [receipt for receipt, f in figures.items() if not f["selected"]]
    assert len(outside) == 1  # 120 million do not fit in 100
    for receipt, proposal_id in zip(world.receipts, world.proposals, strict=True):
        page = client.get(f"/sesi/{world.session}/keputusan/{proposal_id}").get_data(as_text=True)
        f = figures[receipt]
        after = rupiah_id(f["after"]) if f["after"] >= 0 else f"kurang {rupiah_id(-f['after'])}"
        assert shown(page) == {"rank": f"{f['rank']} dari 3", "score": f"{f['score']:.4f}".replace(".", ","),
                               "cost": rupiah_id(f["cost"]), "ceiling": rupiah_id(CEILING),
                               "before": rupiah_id(f["before"]), "after": after,
                               "cumulative": rupiah_id(f["cumulative"])}, receipt
        assert f"Biaya kumulatif pada peringkat {f['rank']}" in page
        warned = "Usulan ini berada di luar pagu anggaran:" in page
        assert warned is (not f["selected"]), receipt
        if warned:
            short = f["cost"] - f["before"]
            assert (f"Usulan ini berada di luar pagu anggaran: Tidak muat dalam sisa pagu {rupiah_id(f['before'])}. "
                    f"Kekurangan {rupiah_id(short)}. Memprioritaskannya tidak membuatnya didanai dalam pagu.") in page


def test_prioritising_outside_the_ceiling_warns_and_the_reason_shows_everywhere(app, client, world, login_as):
    figures = expected_figures(client, world)
    receipt = next(r for r, f in figures.items() if not f["selected"])
    proposal_id = world.proposals[world.receipts.index(receipt)]
    response = post_form(client, f"/sesi/{world.session}/keputusan/{proposal_id}",
                         {"outcome": "prioritized", "reason": REASON_OUTSIDE})
    assert response.status_code == 303
    listing = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"{receipt} diprioritaskan tetapi berada di luar pagu anggaran: Tidak muat dalam sisa pagu" in listing
    page = client.get(f"/sesi/{world.session}/keputusan/{proposal_id}").get_data(as_text=True)
    assert "Usulan ini diprioritaskan tetapi berada di luar pagu anggaran: Tidak muat dalam sisa pagu" in page
    owners = world.proposals[0]
    assert post_form(client, f"/sesi/{world.session}/keputusan/{owners}",
                     {"outcome": "prioritized", "reason": REASON_OWNER}).status_code == 303
    # The minutes: a table of the decisions with their reasons (draft, then final).
    text = pdf_text(pdf_reader(client.get(f"/sesi/{world.session}/dokumen/berita-acara.pdf")))
    assert "Keputusan dan alasannya" in text
    assert f"{receipt} Diprioritaskan {REASON_OUTSIDE}" in text
    assert post_form(client, f"/sesi/{world.session}/finalisasi", {"confirm": "FINAL"}).status_code == 303
    body = client.get(f"/sesi/{world.session}/dokumen/berita-acara.pdf").data
    text = pdf_text(pdf_reader(client.get(f"/sesi/{world.session}/dokumen/berita-acara.pdf")))
    assert f"{receipt} Diprioritaskan {REASON_OUTSIDE}" in text and REASON_OWNER in text
    from tests.documents.test_letters import to_png

    assert to_png(body, "minutes-decision-reasons")
    # The XLSX export.
    sheet = load_workbook(io.BytesIO(client.get(f"/sesi/{world.session}/peringkat.xlsx").data))["Peringkat"]
    reasons = {row[1].value: row[9].value for row in sheet.iter_rows(min_row=2)}
    assert reasons[receipt] == REASON_OUTSIDE and reasons[world.receipts[0]] == REASON_OWNER
    # The JSON export keeps its contract: the outcome, no reason.
    payload = json.loads(client.get(f"/sesi/{world.session}/peringkat.json").data)
    line = next(line for line in payload["proposals"] if line["receipt_number"] == receipt)
    assert line["decision"] == "prioritized" and REASON_OUTSIDE not in json.dumps(payload)
    # The public results page, as anyone reads it.
    post_form(client, "/keluar", {}, token_from="/")
    public = html.unescape(client.get(f"/hasil/{world.session}").get_data(as_text=True))
    assert REASON_OUTSIDE in public and REASON_OWNER in public
    # The owner's proposal page.
    login_as(world.owner)
    mine = html.unescape(client.get(f"/usulan/{owners}").get_data(as_text=True))
    assert f"— {REASON_OWNER}" in mine


def test_a_proposal_not_ranked_yet_says_so_without_budget_figures(app, client, make_world, login_as):
    world = make_world(status=SessionStatus.REVIEW, budget_ceiling=CEILING, proposals=[
        {"title": "Sudah dinilai", "estimated_cost": 20_000_000, "rated": 4},
        {"title": "Belum dinilai", "estimated_cost": 25_000_000}])
    login_as(world.planner)
    page = client.get(f"/sesi/{world.session}/keputusan/{world.proposals[1]}").get_data(as_text=True)
    assert shown(page) == {"rank": "belum diperingkat", "score": "–", "cost": "Rp25.000.000",
                           "ceiling": rupiah_id(CEILING)}
    assert "di luar pagu anggaran" not in page
