"""Personal data as a business owner meets it: the privacy notice, and deleting the account."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from participation.models import User
from tests.browser.conftest import axe_violations, screenshot
from tests.conftest import TEST_PASSWORD, app_db

pytestmark = pytest.mark.browser


def sign_in(page, base: str, email: str) -> None:
    page.goto(base + "/masuk")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Kata sandi").fill(TEST_PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(base + "/")


def fits(page) -> bool:
    """No sideways scrolling at the current width."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_privacy_notice_is_a_footer_link_away(live_app, page):
    base = live_app.config["LIVE_URL"]
    page.goto(base + "/daftar")
    page.get_by_role("contentinfo").get_by_role("link", name="Pemberitahuan privasi").click()
    expect(page.get_by_role("heading", name="Pemberitahuan privasi", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Hak-hak Anda")).to_be_visible()
    expect(page.get_by_text("Alamat IP dalam log audit: 365 hari, lalu dihapus secara otomatis.")).to_be_visible()
    assert fits(page)
    assert axe_violations(page) == []
    screenshot(page, "privacy-notice-390")
    page.set_viewport_size({"width": 1366, "height": 800})
    assert fits(page)
    screenshot(page, "privacy-notice-1366")
    assert page.console_errors == []


def test_an_owner_deletes_their_account(live_app, page, make_user):
    base = live_app.config["LIVE_URL"]
    user_id = make_user("proponent", email="pemilik@contoh.id", name="Dewi Lestari Anggraini")
    sign_in(page, base, "pemilik@contoh.id")
    page.goto(base + "/akun")
    expect(page.get_by_role("link", name="Unduh data saya")).to_be_visible()
    page.get_by_role("link", name="Hapus akun").click()

    expect(page.get_by_role("heading", name="Hapus akun", level=1)).to_be_visible()
    expect(page.get_by_text("Draf Anda dihapus beserta lampirannya.")).to_be_visible()
    assert fits(page)
    assert axe_violations(page) == []
    screenshot(page, "account-delete-390")

    page.get_by_role("button", name="Hapus akun saya").click()  # nothing filled in
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Masukkan kata sandi Anda untuk konfirmasi.")
    expect(summary).to_contain_text("Konfirmasikan bahwa Anda memahami akibat penghapusan akun.")
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 1366, "height": 800})
    assert fits(page)
    screenshot(page, "account-delete-errors-1366")

    page.get_by_label("Kata sandi Anda").fill(TEST_PASSWORD)
    page.get_by_label("Saya mengerti bahwa akun saya dihapus selamanya dan tidak dapat dipulihkan.").check()
    page.get_by_role("button", name="Hapus akun saya").click()
    expect(page.get_by_text("Akun Anda telah dihapus dan data pribadi Anda telah dihapus.")).to_be_visible()
    expect(page.get_by_role("navigation").get_by_role("link", name="Masuk")).to_be_visible()
    with app_db(live_app) as session:
        user = session.get(User, user_id)
        assert user.name == f"Akun terhapus #{user_id}" and not user.active

    page.goto(base + "/masuk")
    page.get_by_label("Email").fill("pemilik@contoh.id")
    page.get_by_label("Kata sandi").fill(TEST_PASSWORD)
    page.press("input[name=password]", "Enter")
    expect(page.get_by_text("Email atau kata sandi salah.")).to_be_visible()
    assert page.console_errors == [] or all("status of 401" in error for error in page.console_errors)

