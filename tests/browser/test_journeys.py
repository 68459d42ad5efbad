"""Journeys in a real browser (DESIGN §4), with axe-core accessibility checks."""
from __future__ import annotations

import re

from playwright.sync_api import expect
import pytest
from sqlalchemy import select

from participation.models import Business, User
from tests.browser.conftest import axe_violations, screenshot
from tests.conftest import app_db

pytestmark = pytest.mark.browser

PASSWORD = "Tenun-Ikat-Sumba-2027"


def test_business_owner_registers_signs_out_and_signs_in_again(live_app, page):
    base = live_app.config["LIVE_URL"]
    page.goto(base + "/")
    assert page.locator("html").get_attribute("lang") == "id"
    page.get_by_role("button", name="Buka menu").click()
    # Bootstrap sets .show once the menu has finished opening: a click while it still slides
    # open can miss the moving link (seen once on a loaded machine).
    menu = page.locator("#nav-main")
    expect(menu).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
    menu.get_by_role("link", name="Daftarkan usaha Anda").click()
    page.wait_for_url("**/daftar")

    page.get_by_label("Nama lengkap Anda").fill("Wayan Sudarsana")
    page.get_by_label("Email").fill("wayan@contoh.id")
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    page.get_by_label("Ulangi kata sandi").fill(PASSWORD)
    page.get_by_label("Nama usaha").fill("UD Tenun Ikat Sudarsana")
    page.get_by_label("NIB (Nomor Induk Berusaha)").fill("9120 0012 3456 7")
    page.get_by_label("Kode KBLI").fill("13121")
    page.get_by_label("Bentuk badan usaha").select_option("ud")
    page.get_by_label("Skala usaha").select_option("kecil")
    page.get_by_label("Kelurahan").fill("Kauman")
    page.get_by_label("Kecamatan").fill("Karanganyar")
    page.get_by_label("Telepon / WhatsApp").fill("0813 3700 1122")
    screenshot(page, "register-filled")
    # First a mistake: the phone number is incomplete. The error summary takes the focus.
    page.get_by_label("Telepon / WhatsApp").fill("0813")
    page.get_by_role("button", name="Buat akun").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    assert summary.evaluate("node => node === document.activeElement")
    assert page.get_by_label("Nama usaha").input_value() == "UD Tenun Ikat Sudarsana"
    summary.get_by_role("link", name="Telepon / WhatsApp").click()
    screenshot(page, "register-error")
    # Passwords are never sent back; fill them, fix the phone, agree and submit.
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    page.get_by_label("Ulangi kata sandi").fill(PASSWORD)
    page.get_by_label("Telepon / WhatsApp").fill("0813 3700 1122")
    page.get_by_label("Saya setuju").check()
    page.get_by_role("button", name="Buat akun").click()
    page.wait_for_url("**/akun")
    expect(page.get_by_text("Akun Anda telah dibuat")).to_be_visible()
    expect(page.get_by_text("UD Tenun Ikat Sudarsana")).to_be_visible()
    screenshot(page, "account-after-register")

    page.get_by_role("button", name="Buka menu").click()
    page.get_by_role("button", name="Keluar").click()
    page.wait_for_url(base + "/")
    expect(page.get_by_text("Anda telah keluar.")).to_be_visible()

    page.goto(base + "/masuk")
    page.get_by_label("Email").fill("wayan@contoh.id")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    page.wait_for_url(base + "/")
    expect(page.get_by_text("Selamat datang, Wayan Sudarsana.")).to_be_visible()
    screenshot(page, "home-signed-in")
    assert page.console_errors == []

    with app_db(live_app) as session:
        business = session.scalar(select(Business).join(User).where(User.email == "wayan@contoh.id"))
        assert business.nib == "9120001234567" and business.phone == "+6281337001122"


def test_language_switch_in_the_browser(live_app, page):
    page.goto(live_app.config["LIVE_URL"] + "/masuk")
    page.get_by_role("button", name="Buka menu").click()
    page.get_by_role("button", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


@pytest.mark.parametrize("path", ["/", "/masuk", "/daftar"])
def test_public_pages_have_no_accessibility_violations(live_app, page, path):
    page.goto(live_app.config["LIVE_URL"] + path)
    assert axe_violations(page) == []
    assert page.console_errors == []


def test_form_with_errors_has_no_accessibility_violations(live_app, page):
    page.goto(live_app.config["LIVE_URL"] + "/daftar")
    page.get_by_role("button", name="Buat akun").click()
    expect(page.locator("[data-error-summary]")).to_be_visible()
    assert axe_violations(page) == []


def test_desktop_layout_has_no_accessibility_violations(live_app, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(live_app.config["LIVE_URL"] + "/")
    assert axe_violations(page) == []
    screenshot(page, "home-desktop")
    context.close()
