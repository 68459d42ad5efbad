"""A planner at a desk (1366 px): the AHP page asks for a reason before inconsistent weights are applied,
and the decision page shows where a proposal stands against the ceiling."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from participation.models import SessionStatus, ThemedSession
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD, app_db

pytestmark = pytest.mark.browser
DESK = {"width": 1366, "height": 768}
REASON = "Forum sepakat urgensi diutamakan."


@pytest.fixture
def world(make_world):
    return make_world(
        planners=[{"email": "perencana@contoh.id", "name": "Dedi Kurniawan"}], status=SessionStatus.REVIEW,
        budget_ceiling=100_000_000,
        proposals=[{"business": {"nib": "3201000000001", "name": "Batik Sekar Jagad"},
                    "title": "Pelatihan pewarna alami", "estimated_cost": 60_000_000, "rated": 5},
                   {"business": {"nib": "3201000000002", "name": "Mebel Jati Makmur"}, "title": "Mesin serut kayu",
                    "estimated_cost": 70_000_000, "rated": 3}])


def fits_the_width(page) -> bool:
    """Neither the page nor any table scrolls sideways."""
    return page.evaluate("""() => document.documentElement.scrollWidth <= document.documentElement.clientWidth
        && [...document.querySelectorAll('table')].every(t => t.scrollWidth <= t.parentElement.clientWidth + 1)""")


def test_ahp_asks_for_a_reason_and_the_decision_page_warns_outside_the_ceiling(live_app, page, world):
    base, sid = live_app.config["LIVE_URL"], world.session
    page.set_viewport_size(DESK)
    sign_in(page, base, "perencana@contoh.id", STAFF_PASSWORD)
    with app_db(live_app) as session:
        names = [c.name for c in session.get(ThemedSession, sid).criteria]

    page.goto(base + f"/sesi/{sid}/ahp")
    rule = "Bobot dengan rasio konsistensi di atas 0,10 hanya diterapkan dengan alasan"
    expect(page.get_by_text(rule)).to_be_visible()
    # A circle of preferences: the second beats the third, the third the fourth, the fourth the second.
    page.get_by_label(f"{names[1]} dibandingkan dengan {names[2]}").select_option("9")
    page.get_by_label(f"{names[2]} dibandingkan dengan {names[3]}").select_option("9")
    page.get_by_label(f"{names[1]} dibandingkan dengan {names[3]}").select_option("1/9")
    page.get_by_role("button", name="Hitung bobot").click()
    expect(page.get_by_text("Perbandingan tidak konsisten")).to_be_visible()
    reason = page.get_by_label("Alasan menerapkan bobot yang tidak konsisten")
    expect(reason).to_be_visible()
    page.get_by_role("button", name="Terapkan meskipun tidak konsisten").click()
    expect(page.locator(".error-summary")).to_contain_text("untuk tetap menerapkan bobot ini, tuliskan alasannya")
    assert page.get_by_label(f"{names[1]} dibandingkan dengan {names[3]}").input_value() == "1/9"
    assert fits_the_width(page) and axe_violations(page) == []
    screenshot(page, "planner-ahp-override-1366")
    page.get_by_label("Alasan menerapkan bobot yang tidak konsisten").fill(REASON)
    page.get_by_role("button", name="Terapkan meskipun tidak konsisten").click()
    expect(page.get_by_text("Bobot AHP telah diterapkan.")).to_be_visible()
    with app_db(live_app) as session:
        assert session.get(ThemedSession, sid).ahp_override_reason == REASON

    outside = world.proposals[1]
    page.goto(base + f"/sesi/{sid}/keputusan/{outside}")
    figures = page.locator(".decision-figures")
    expect(figures.locator('[data-figure="cost"]')).to_have_text("Rp70.000.000")
    expect(figures.locator('[data-figure="ceiling"]')).to_have_text("Rp100.000.000")
    expect(figures.locator('[data-figure="before"]')).to_have_text("Rp40.000.000")
    expect(figures.locator('[data-figure="after"]')).to_have_text("kurang Rp30.000.000")
    expect(figures.locator('[data-figure="cumulative"]')).to_have_text("Rp130.000.000")
    expect(figures.locator('[data-figure="rank"]')).to_have_text("2 dari 2")
    warning = page.locator("#outside-ceiling")
    expect(warning).to_contain_text("Usulan ini berada di luar pagu anggaran: Tidak muat dalam sisa pagu Rp40.000.000.")
    page.get_by_label("Diprioritaskan").check()
    page.get_by_label("Alasan", exact=True).fill("Menyerap tenaga kerja terbanyak.")
    page.get_by_role("button", name="Catat keputusan").click()
    expect(page.get_by_text("diprioritaskan tetapi berada di luar pagu anggaran")).to_be_visible()
    page.goto(base + f"/sesi/{sid}/keputusan/{outside}")
    expect(page.locator("#outside-ceiling")).to_contain_text("Usulan ini diprioritaskan tetapi berada di luar pagu")
    assert fits_the_width(page) and axe_violations(page) == []
    screenshot(page, "planner-decision-outside-1366")
    assert page.console_errors == []
