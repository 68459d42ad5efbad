"""A planner on a phone (390 px) and at a desk (1366 px) reads the agreement panel of the rating page."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from participation.models import SessionStatus
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_decision_pages import fits_the_width
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 768}
# Three planners; the third rates about a point higher than the other two.
RATINGS = [(2, 2, 3), (4, 4, 5), (1, 3, 2), (3, 3, 4), (5, 4, 5)]


@pytest.fixture
def world(make_world):
    return make_world(
        planners=[{"email": "perencana@contoh.id", "name": "Dedi Kurniawan"}, {"name": "Sri Wahyuni"},
                  {"name": "Agus Murah Hati"}], status=SessionStatus.REVIEW, budget_ceiling=100_000_000,
        proposals=[{"business": {"nib": f"{3201000000001 + n}", "name": f"Usaha Kriya {n}"},
                    "title": f"Pelatihan kriya tahap {n + 1}", "estimated_cost": 20_000_000, "rated": list(values)}
                   for n, values in enumerate(RATINGS)])


def panel_fits(page) -> bool:
    """The page does not scroll sideways, nor does any table of the panel."""
    return page.evaluate("""() => document.documentElement.scrollWidth <= document.documentElement.clientWidth
        && [...document.querySelectorAll('.agreement-panel table')]
           .every(t => t.scrollWidth <= t.parentElement.clientWidth + 1)""")


def test_a_planner_reads_the_agreement_panel_on_a_phone_and_at_a_desk(live_app, page, world):
    base, sid = live_app.config["LIVE_URL"], world.session
    page.set_viewport_size(PHONE)
    sign_in(page, base, "perencana@contoh.id", STAFF_PASSWORD)
    page.goto(base + f"/sesi/{sid}/penilaian")
    panel = page.locator(".agreement-panel")
    expect(panel.get_by_role("heading", name="Kesepakatan antarperencana")).to_be_visible()
    expect(panel.locator('tr[data-criterion="urgensi"] .reading')).not_to_be_empty()
    leniency = panel.locator(".agreement-leniency")
    expect(leniency.locator("tr", has_text="Agus Murah Hati").locator(".overall")).to_have_text("+0,70")
    expect(leniency.locator("tr", has_text="Dedi Kurniawan").locator(".overall")).to_have_text("-0,50")
    spreads = panel.locator(".agreement-spreads li")
    expect(spreads).to_have_count(1)
    expect(spreads.first).to_contain_text("Pelatihan kriya tahap 3")
    panel.scroll_into_view_if_needed()
    assert panel_fits(page) and axe_violations(page) == []
    screenshot(page, "planner-agreement-390")
    page.set_viewport_size(DESK)
    assert fits_the_width(page)
    screenshot(page, "planner-agreement-1366")
    spreads.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Pelatihan kriya tahap 3")).to_be_visible()
