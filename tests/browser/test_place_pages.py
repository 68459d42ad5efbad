"""Registration on a phone with CITY_CODE set: the kelurahan is chosen from the Kemendagri list."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_letter_pages import no_horizontal_overflow

PASSWORD = "Benang-Merah-Kampung-91"


@pytest.fixture
def live_app_overrides():
    return {"CITY_CODE": "33.72"}


def test_registration_at_390_px_chooses_the_kelurahan_from_the_list(live_app, page):
    base = live_app.config["LIVE_URL"]
    page.goto(base + "/daftar")
    select = page.get_by_label("Kelurahan")
    groups = select.evaluate("node => [...node.querySelectorAll('optgroup')].map(g => g.label)")
    assert groups == ["Kecamatan Laweyan", "Kecamatan Serengan", "Kecamatan Pasar Kliwon", "Kecamatan Jebres",
                      "Kecamatan Banjarsari"]
    assert page.get_by_text("Dikelompokkan per kecamatan, sesuai daftar Kemendagri.").is_visible()
    assert page.get_by_label("Kecamatan", exact=True).count() == 0  # the select says both
    assert no_horizontal_overflow(page)
    width = select.evaluate("node => node.getBoundingClientRect().right")
    assert width <= 390
    assert axe_violations(page) == []

    page.get_by_label("Nama lengkap Anda").fill("Wayan Sudarsana")
    page.get_by_label("Email").fill("wayan@contoh.id")
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    page.get_by_label("Ulangi kata sandi").fill(PASSWORD)
    page.get_by_label("Nama usaha").fill("UD Tenun Ikat Sudarsana")
    page.get_by_label("NIB (Nomor Induk Berusaha)").fill("9120 0012 3456 7")
    page.get_by_label("Kode KBLI").fill("13121")
    page.get_by_label("Skala usaha").select_option("kecil")
    page.get_by_label("Telepon / WhatsApp").fill("0813 3700 1122")
    page.get_by_label("Saya setuju").check()
    # Forgotten: the summary names the kelurahan, and takes the focus.
    page.get_by_role("button", name="Buat akun").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    assert "Kelurahan: Pilih kelurahan." in " ".join(summary.inner_text().split())
    assert no_horizontal_overflow(page) and axe_violations(page) == []
    screenshot(page, "register-kelurahan-error-390")
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    page.get_by_label("Ulangi kata sandi").fill(PASSWORD)
    page.get_by_label("Kelurahan").select_option(label="Mojosongo")
    screenshot(page, "register-kelurahan-390")
    page.get_by_role("button", name="Buat akun").click()
    page.wait_for_url("**/akun")
    expect(page.get_by_text("Mojosongo, Jebres")).to_be_visible()
    assert page.console_errors == []
