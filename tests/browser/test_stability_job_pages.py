"""A planner of an `optimal` session with a category cap has the selection's stability computed by the
worker: the ranked list says why it is not there yet, the job page follows it, and the list then shows it."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from participation.models import Category, SelectionMethod, SessionStatus, User
from participation.review import constraints as constraint_services
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_decision_pages import fits_the_width
from tests.browser.test_job_pages import run_jobs
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD, app_db
from tests.factories import as_actor

pytestmark = pytest.mark.browser
DESK = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def test_a_planner_has_the_stability_computed_and_reads_it_on_the_ranked_list(live_app, page, make_world):
    base = live_app.config["LIVE_URL"]
    world = make_world(
        planners=[{"email": "perencana@contoh.id", "name": "Dedi Kurniawan"}], status=SessionStatus.REVIEW,
        budget_ceiling=100_000_000, selection_method=SelectionMethod.OPTIMAL,
        proposals=[{"title": f"Usulan pelatihan nomor {n}", "estimated_cost": cost, "category": n % 2,
                    "rated": 1 + n % 5} for n, cost in enumerate([30_000_000, 45_000_000, 25_000_000,
                                                                  20_000_000, 35_000_000])])
    with app_db(live_app) as session:
        category = session.get(Category, world.categories[0])
        constraint_services.set_category_cap(category, 50_000_000, as_actor(session.get(User, world.planner)))
        session.commit()
    page.set_viewport_size(PHONE)
    sign_in(page, base, "perencana@contoh.id", STAFF_PASSWORD)
    page.goto(base + f"/sesi/{world.session}/peringkat")
    notice = page.locator("[data-stability-deferred]")
    expect(notice).to_contain_text("Stabilitas belum dihitung untuk angka-angka ini.")
    cells = page.locator("table.ranked-list tbody tr:not(.budget-line) td:nth-child(6)")
    expect(cells).to_have_count(5)
    assert set(cells.all_inner_texts()) == {"–"}
    notice.scroll_into_view_if_needed()
    # On a phone the ranked list's columns scroll inside their own box; the page itself does not.
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert axe_violations(page) == []
    screenshot(page, "stability-deferred-390")

    notice.get_by_role("button", name="Hitung stabilitas").click()
    expect(page.get_by_role("heading", name="Menghitung stabilitas seleksi")).to_be_visible()
    expect(page.get_by_text("Menunggu", exact=True)).to_be_visible()
    assert fits_the_width(page) and axe_violations(page) == []
    run_jobs(live_app)
    page.reload()
    expect(page.get_by_role("status")).to_have_text(
        "Stabilitas seleksi telah dihitung atas 20 perubahan acak bobot: daftar peringkat menampilkannya.")
    screenshot(page, "stability-job-done-390")
    page.get_by_role("link", name="Kembali").click()

    page.set_viewport_size(DESK)
    expect(page.locator("[data-stability-deferred]")).to_have_count(0)
    texts = cells.all_inner_texts()
    assert len(texts) == 5 and all(re.fullmatch(r"\d{1,3} %", text) for text in texts), texts
    assert any(text != "0 %" for text in texts)
    assert fits_the_width(page) and axe_violations(page) == []
    screenshot(page, "stability-shown-1366")
    assert page.console_errors == []
