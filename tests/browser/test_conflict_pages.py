"""A planner whose name matches a business owner's is told so on the proposal page, declares the conflict,
and finds the rating form refusing; the other planner reads that the old ratings no longer count."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from participation.models import SessionStatus
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_decision_pages import fits_the_width
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser
DESK = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def world(make_world):
    return make_world(
        planners=[{"email": "perencana@contoh.id", "name": "Dedi Kurniawan"},
                  {"email": "dewi@contoh.id", "name": "Dewi Lestari"}],
        status=SessionStatus.REVIEW,
        proposals=[{"business": {"nib": "3201000000001", "name": "Batik Sekar Jagad", "owner_name": "dewi  LESTARI"},
                    "title": "Pelatihan pewarna alami", "rated": [5, 1]},
                   {"business": {"nib": "3201000000002", "name": "Mebel Jati Makmur"}, "title": "Mesin serut kayu",
                    "rated": 3}])


def check(page, name):
    assert fits_the_width(page), name
    assert axe_violations(page) == [], name
    screenshot(page, name)


def test_a_planner_declares_from_the_proposal_page_and_the_rating_form_refuses(live_app, page, world):
    base, sid, proposal = live_app.config["LIVE_URL"], world.session, world.proposals[0]
    page.set_viewport_size(DESK)
    sign_in(page, base, "dewi@contoh.id", STAFF_PASSWORD)

    page.goto(base + f"/usulan/{proposal}")
    suggestion = page.locator("[data-conflict-suggestion]")
    expect(suggestion).to_contain_text("Anda mungkin memiliki konflik kepentingan dengan Batik Sekar Jagad: nama Anda")
    check(page, "conflict-proposal-suggestion-1366")
    page.get_by_role("link", name="Dengan catatan… Batik Sekar Jagad").click()
    expect(page.get_by_role("heading", name="Nyatakan konflik kepentingan")).to_be_visible()
    page.get_by_role("button", name="Nyatakan konflik").click()  # no kind chosen yet
    expect(page.locator(".error-summary")).to_contain_text("Pilih jenis konflik.")
    page.get_by_label("Jenis konflik").select_option(label="Keluarga")
    page.get_by_label("Keterangan").fill("Pemiliknya kakak ipar saya.")
    check(page, "conflict-declare-1366")
    page.get_by_role("button", name="Nyatakan konflik").click()
    expect(page.get_by_text("Konflik kepentingan Dewi Lestari dengan Batik Sekar Jagad telah dinyatakan.")).to_be_visible()
    expect(page.locator("[data-conflict-declared]")).to_contain_text("(Keluarga)")
    assert page.url.endswith(f"/usulan/{proposal}")

    page.goto(base + f"/sesi/{sid}/penilaian/{proposal}")
    expect(page.locator("[data-conflict-refusal]")).to_contain_text(
        "Anda tidak menilai usulan ini: Anda telah menyatakan konflik kepentingan dengan Batik Sekar Jagad")
    assert page.locator("input[type=radio]").count() == 0
    check(page, "conflict-rating-refused-1366")
    page.set_viewport_size(PHONE)
    check(page, "conflict-rating-refused-390")
    page.goto(base + f"/sesi/{sid}/konflik")
    row = page.locator("[data-conflict]")
    expect(row).to_contain_text("Dewi Lestari")
    expect(row).to_contain_text("Pemiliknya kakak ipar saya.")
    check(page, "conflict-list-390")
    page.goto(base + f"/sesi/{sid}/konflik/usaha/{world.businesses[1]}")
    check(page, "conflict-declare-390")

    page.set_viewport_size(DESK)
    page.get_by_role("button", name="Keluar").click()
    sign_in(page, base, "perencana@contoh.id", STAFF_PASSWORD)
    page.goto(base + f"/sesi/{sid}/peringkat")
    expect(page.locator("[data-left-out]")).to_contain_text("1 penilaian dari perencana yang berkonflik tidak dihitung.")
    check(page, "conflict-ranking-note-1366")
    page.goto(base + f"/sesi/{sid}/konflik")
    page.get_by_role("button", name="Cabut pernyataan Dewi Lestari tentang Batik Sekar Jagad").click()
    expect(page.get_by_text("Pernyataan dicabut.")).to_be_visible()
    expect(page.locator("[data-conflict]")).to_contain_text("Dicabut")
    check(page, "conflict-list-withdrawn-1366")
