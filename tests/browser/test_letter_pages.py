"""A facilitator at a desk (1366 px) fills in the invitation's letter head and reorders the agenda."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from participation.models import LetterNature, SessionStatus, ThemedSession
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD, app_db

pytestmark = pytest.mark.browser
DESK = {"width": 1366, "height": 768}


@pytest.fixture
def world(make_world):
    return make_world(
        planners=[{"email": "perencana@contoh.id", "name": "Dedi Kurniawan"}],
        facilitator={"email": "fasilitator@contoh.id", "name": "Maya Lestari"}, status=SessionStatus.REVIEW,
        title="Musrenbang Tematik IKM", venue="Aula Bappeda", meeting_start=datetime(2027, 2, 12, 2, 0),
        invited=True, rated=lambda p, c, u: 2 + (p.id + c.id) % 3,
        proposals=[{"business": {"nib": f"{3201000000001 + n}", "name": name}, "title": f"Usulan {name}",
                    "estimated_cost": (20 + 10 * n) * 1_000_000, "category": n}
                   for n, name in enumerate(["Batik Sekar Jagad", "Keripik Tempe Bu Siti", "Mebel Jati Makmur"])])


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_the_letter_head_is_filled_in_checked_and_printed(live_app, page, world):
    base, sid = live_app.config["LIVE_URL"], world.session
    page.set_viewport_size(DESK)
    sign_in(page, base, "fasilitator@contoh.id", STAFF_PASSWORD)
    page.goto(base + f"/sesi/{sid}/dokumen")
    assert page.get_by_label("Perihal").input_value() == "Undangan Musrenbang Tematik IKM"
    page.get_by_label("Nomor surat").fill("005/217/Bappeda/2027")
    page.get_by_label("Sifat").select_option(label="Segera")
    page.get_by_label("Lampiran").fill("1")
    page.get_by_label("Tanggal surat").fill("2027-02-05")
    page.get_by_label("Nama penanda tangan").fill("Dr. Ir. Hendro Wicaksono, M.Si.")
    page.get_by_label("Jabatan penanda tangan").fill("Kepala Badan Perencanaan Pembangunan Daerah")
    page.get_by_label("NIP penanda tangan").fill("19720315 199803 1 00")  # one digit short
    page.get_by_role("button", name="Simpan", exact=True).click()

    # Refused: the message names the rule, every typed value is still there.
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("NIP harus tepat 18 angka")
    expect(page.locator("#signatory_nip-error")).to_have_text("NIP harus tepat 18 angka, misalnya 19700101 199503 1 001.")
    assert page.get_by_label("Nomor surat").input_value() == "005/217/Bappeda/2027"
    assert page.get_by_label("Sifat").input_value() == "segera"
    assert page.get_by_label("Tanggal surat").input_value() == "2027-02-05"
    assert no_horizontal_overflow(page)
    assert axe_violations(page) == []
    screenshot(page, "letter-settings-error-1366")

    page.get_by_label("NIP penanda tangan").fill("19720315 199803 1 004")
    page.get_by_role("button", name="Simpan", exact=True).click()
    expect(page.get_by_text("Pengaturan dokumen telah disimpan.")).to_be_visible()
    assert page.get_by_label("NIP penanda tangan").input_value() == "197203151998031004"
    assert no_horizontal_overflow(page)
    assert axe_violations(page) == []
    screenshot(page, "letter-settings-1366")
    with app_db(live_app) as session:
        themed_session = session.get(ThemedSession, sid)
        assert themed_session.letter_nature is LetterNature.URGENT
        assert themed_session.letter_date == date(2027, 2, 5)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="PDF Undangan").click()
    letter = " ".join(PdfReader(download_info.value.path()).pages[0].extract_text().split())
    assert "Nomor : 005/217/Bappeda/2027" in letter and "Sifat : Segera" in letter
    assert "Kota Harapan Jaya, 5 Februari 2027" in letter and "NIP. 19720315 199803 1 004" in letter
    assert page.console_errors == []


def test_moving_an_agenda_item_keeps_the_page_where_it_was(live_app, page, world):
    base, sid = live_app.config["LIVE_URL"], world.session
    page.set_viewport_size(DESK)
    sign_in(page, base, "fasilitator@contoh.id", STAFF_PASSWORD)
    page.goto(base + f"/sesi/{sid}/acara")
    page.get_by_role("button", name="Susun dari templat").click()
    expect(page.get_by_text("ISHOMA (istirahat, sholat, makan)").first).to_be_visible()
    # The agreement, low on a long page, moves up one place.
    page.get_by_role("button", name="Naikkan Kesepakatan prioritas usulan").click()
    page.wait_for_load_state()
    item = page.locator("li.list-group-item", has_text="Kesepakatan prioritas usulan")
    assert page.url.endswith(f"#{item.get_attribute('id')}")
    # The browser scrolls to the fragment once the page has laid out: wait for that, not a moment.
    expect(item).to_be_in_viewport()
    scrolled = page.evaluate("window.scrollY")
    box = item.bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= DESK["height"]  # the moved item is in view
    assert box["y"] + scrolled + box["height"] > DESK["height"]  # which it would not be from the top
    titles = page.locator("ol.list-group li .me-auto").all_inner_texts()
    assert titles.index("Kesepakatan prioritas usulan") < titles.index("ISHOMA (istirahat, sholat, makan)")
    assert axe_violations(page) == []
    screenshot(page, "agenda-moved-1366")
