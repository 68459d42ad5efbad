"""The forms as a person meets them on a phone (390 px): every missing field listed at once, the
error summary in view and focused, a draft's unset numbers as "–", a refused form said up front."""
from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import expect

from participation.models import SessionStatus, ThemedSession
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD, TEST_PASSWORD, app_db

pytestmark = pytest.mark.browser


@pytest.fixture
def world(make_world):
    return make_world(
        facilitator={"email": "fasilitator@contoh.id", "name": "Maya Lestari"}, status=SessionStatus.REVIEW,
        owner={"email": "pemilik@contoh.id", "name": "Siti Aminah"},
        title="Musrenbang Tematik IKM", venue="Aula Bappeda", meeting_start=datetime(2027, 2, 12, 2, 0),
        invited=True,
        proposals=[{"business": {"nib": f"{3201000000001 + n}", "name": f"Usaha Undangan {n:02d}"},
                    "title": f"Usulan nomor {n:02d}", "category": n % 3} for n in range(12)])


def fits(page, width=390) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert axe_violations(page) == []


def expect_focused_summary(page):
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    page.wait_for_timeout(300)  # nothing takes the focus away afterwards (an autofocus search box did)
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    return summary


def test_a_failed_walk_in_registration_brings_its_error_summary_into_view_with_focus(live_app, page, world):
    base, sid = live_app.config["LIVE_URL"], world.session
    sign_in(page, base, "fasilitator@contoh.id", STAFF_PASSWORD)
    page.goto(base + f"/sesi/{sid}/hadir")
    page.get_by_label("NIB", exact=True).fill("12345")
    page.get_by_label("Telepon / WhatsApp").fill("0812 3456 7890")
    page.get_by_role("button", name="Daftarkan dan catat hadir").click()
    summary = expect_focused_summary(page)
    assert summary.inner_text().splitlines()[1:] == [
        "NIB: NIB harus tepat 13 digit angka.", "Nama usaha: Isi nama usaha.", "Nama pemilik: Isi nama pemilik."]
    assert page.get_by_label("Telepon / WhatsApp").input_value() == "+6281234567890"
    fits(page)
    page.screenshot(path=str(screenshot(page, "walk-in-error-summary-390").with_name("walk-in-error-viewport-390.png")))
    # Corrected, the walk-in goes on to the paper form with the phone already there.
    page.get_by_label("NIB", exact=True).fill("3578010199999")
    page.get_by_label("Nama usaha").fill("Kerupuk Ikan Bu Darmi")
    page.get_by_label("Nama pemilik").fill("Darmi Lestari")
    page.get_by_role("button", name="Daftarkan dan catat hadir").click()
    page.get_by_role("link", name="Masukkan usulan kertasnya").click()
    assert page.get_by_label("Telepon / WhatsApp").input_value() == "+6281234567890"
    assert page.get_by_label("Nama usaha").input_value() == "Kerupuk Ikan Bu Darmi"
    # Saved without the proposal: everything it lacks, at once, the summary focused.
    page.get_by_label("Nomor formulir kertas").fill("F1-0001")
    page.get_by_role("button", name="Simpan dan entri formulir berikutnya").click()
    summary = expect_focused_summary(page)
    lines = summary.inner_text().splitlines()[1:]
    assert lines[0] == "Judul usulan: Isi judul." and len(lines) == 7
    assert "Tenaga kerja baru: Wajib diisi sebelum mengirim." in lines
    fits(page)
    screenshot(page, "paper-form-all-missing-390")


def test_an_owners_empty_submission_lists_everything_and_a_draft_shows_dashes(live_app, page, world):
    base, sid = live_app.config["LIVE_URL"], world.session
    with app_db(live_app) as session:
        session.get(ThemedSession, sid).status = SessionStatus.OPEN
        session.commit()
    sign_in(page, base, "pemilik@contoh.id", TEST_PASSWORD)
    page.goto(base + f"/usulan/baru/{sid}")
    expect(page.locator("label[for=attachment] + span")).to_have_text("(opsional)")
    assert page.locator("label[for=attachment]").inner_text() == "Lampiran"
    page.get_by_label("Tenaga kerja baru").fill("dua")
    page.get_by_role("button", name="Kirim usulan").click()
    summary = expect_focused_summary(page)
    assert summary.inner_text().splitlines()[1:] == [
        "Judul usulan: Isi judul.",
        "Jenis dukungan: Wajib diisi sebelum mengirim.",
        "Permasalahan: Wajib diisi sebelum mengirim.",
        "Uraian kegiatan: Wajib diisi sebelum mengirim.",
        "Perkiraan biaya (Rupiah): Wajib diisi sebelum mengirim.",
        "Penerima manfaat (orang): Wajib diisi sebelum mengirim.",
        "Tenaga kerja baru: Isi bilangan bulat, misalnya 3.",
    ]
    expect(page.locator("#jobs_created-error")).to_have_text("Isi bilangan bulat, misalnya 3.")
    fits(page)
    screenshot(page, "proposal-form-all-missing-390")
    page.get_by_label("Judul usulan").fill("Mesin pengemas vakum untuk keripik")
    page.get_by_label("Tenaga kerja baru").fill("")
    page.get_by_role("button", name="Simpan draf").click()
    costs = page.locator("dt:has-text('Perkiraan biaya') + dd")
    expect(costs).to_have_text("–")
    expect(page.locator("dt:has-text('Penerima manfaat') + dd")).to_have_text("–")
    expect(page.locator("dt:has-text('Tenaga kerja baru') + dd")).to_have_text("–")
    assert "Rp0" not in page.content()
    fits(page)
    screenshot(page, "draft-unset-numbers-390")


def test_votes_after_finalisation_say_so_at_the_top_without_a_form(live_app, page, world):
    base, sid = live_app.config["LIVE_URL"], world.session
    with app_db(live_app) as session:
        session.get(ThemedSession, sid).status = SessionStatus.FINALIZED
        session.commit()
    sign_in(page, base, "fasilitator@contoh.id", STAFF_PASSWORD)
    page.goto(base + f"/sesi/{sid}/suara")
    notice = page.locator("[data-state-notice]")
    expect(notice).to_have_text("Musrenbang ini sudah final: suara di bawah ini termasuk dalam peringkat akhirnya "
                                "dan tidak dapat diubah lagi.")
    expect(notice).to_be_in_viewport()
    assert page.locator("input.vote-input").count() == 0
    expect(page.get_by_role("button", name="Simpan suara")).to_have_count(0)
    fits(page)
    screenshot(page, "votes-finalised-390")
    page.goto(base + f"/sesi/{sid}/usulan-kertas")
    expect(page.get_by_text("Usulan kertas dapat dientri selama musrenbang dibuka atau dalam penilaian.")).to_be_in_viewport()
    assert page.locator("input[name=paper_form_number]").count() == 0
    fits(page)
    screenshot(page, "paper-form-finalised-390")
