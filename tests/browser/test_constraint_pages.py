"""A planner sets selection constraints (a category cap, a must-fund proposal, an exclusive pair) and reads,
on the ranked list, what keeps each proposal out: at a desk (1366 px) and on a phone (390 px)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from participation.models import SessionStatus, ThemedSession
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_decision_pages import fits_the_width
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD, app_db

pytestmark = pytest.mark.browser
DESK = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def world(make_world):
    return make_world(
        planners=[{"email": "perencana@contoh.id", "name": "Dedi Kurniawan"}], status=SessionStatus.REVIEW,
        budget_ceiling=100_000_000,
        proposals=[{"business": {"nib": "3201000000001", "name": "Batik Sekar Jagad"},
                    "title": "Sertifikasi halal keripik", "estimated_cost": 30_000_000, "rated": 5, "category": 0},
                   {"business": {"nib": "3201000000002", "name": "Keripik Renyah"},
                    "title": "Sertifikasi halal rempeyek", "estimated_cost": 30_000_000, "rated": 4, "category": 0},
                   {"business": {"nib": "3201000000003", "name": "Mebel Jati Makmur"},
                    "title": "Mesin serut kayu", "estimated_cost": 20_000_000, "rated": 3, "category": 1},
                   {"business": {"nib": "3201000000004", "name": "Tenun Ikat Sumba"},
                    "title": "Alat tenun bukan mesin", "estimated_cost": 20_000_000, "rated": 2, "category": 1}])


def test_a_planner_caps_a_category_and_reads_what_keeps_proposals_out(live_app, page, world):
    base, sid = live_app.config["LIVE_URL"], world.session
    with app_db(live_app) as session:
        category = session.get(ThemedSession, sid).categories[0].name
    page.set_viewport_size(DESK)
    sign_in(page, base, "perencana@contoh.id", STAFF_PASSWORD)
    page.goto(base + f"/sesi/{sid}/peringkat")
    page.get_by_role("link", name="Batasan seleksi").click()
    expect(page.get_by_role("heading", name="Batasan seleksi", level=1)).to_be_visible()

    cap_form = page.get_by_role("form", name=category)
    cap_form.get_by_label("Batas anggaran (Rupiah)").fill("-1")
    cap_form.get_by_role("button", name=f"Simpan batas {category}").click()
    expect(page.locator(".error-summary")).to_contain_text("Batas anggaran tidak boleh negatif.")
    assert page.get_by_role("form", name=category).get_by_label("Batas anggaran (Rupiah)").input_value() == "-1"
    assert axe_violations(page) == []
    page.get_by_role("form", name=category).get_by_label("Batas anggaran (Rupiah)").fill("30.000.000")
    page.get_by_role("form", name=category).get_by_role("button", name=f"Simpan batas {category}").click()
    expect(page.get_by_text(f"Batas anggaran kategori {category} disimpan.")).to_be_visible()

    page.get_by_label("Nomor tanda terima", exact=True).fill(world.receipts[3])
    page.get_by_label("Alasan wajib didanai").fill("Program prioritas wali kota")
    page.get_by_role("button", name="Tandai wajib didanai").click()
    expect(page.get_by_text(f"{world.receipts[3]} ditandai wajib didanai.")).to_be_visible()
    assert fits_the_width(page) and axe_violations(page) == []
    screenshot(page, "planner-constraints-1366")

    page.goto(base + f"/sesi/{sid}/peringkat")
    row = page.locator("tr", has_text="Sertifikasi halal rempeyek")
    expect(row).to_contain_text(f"Tertahan oleh batas anggaran kategorinya {category} (Rp30.000.000)")
    expect(page.locator("tr", has_text="Alat tenun bukan mesin")).to_contain_text("Wajib didanai")
    expect(page.locator("tr", has_text="Alat tenun bukan mesin")).to_contain_text("Program prioritas wali kota")
    assert fits_the_width(page) and axe_violations(page) == []
    screenshot(page, "planner-ranking-constraints-1366")

    page.set_viewport_size(PHONE)
    page.goto(base + f"/sesi/{sid}/batasan")
    page.get_by_label("Nama kelompok").fill("Dua usulan sertifikasi halal")
    page.get_by_label("Nomor tanda terima usulan anggotanya").fill(f"{world.receipts[0]} {world.receipts[2]}")
    page.get_by_role("button", name="Simpan kelompok").click()
    expect(page.get_by_text("Kelompok eksklusif “Dua usulan sertifikasi halal” disimpan.")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "planner-constraints-390")
    page.goto(base + f"/sesi/{sid}/peringkat")
    expect(page.locator("tr", has_text="Mesin serut kayu")).to_contain_text(
        f"bersaing dengan {world.receipts[0]} “Sertifikasi halal keripik”")
    assert axe_violations(page) == []
    screenshot(page, "planner-ranking-constraints-390")
    assert page.console_errors == []
