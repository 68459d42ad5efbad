"""A new staff account sets up two-step verification at its first sign-in, then signs in with a recovery code."""
from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, screenshot
from tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser


def both_widths(page, name: str) -> None:
    """Screenshots at a phone's width and a laptop's, and no sideways scrolling at either."""
    for width, height in ((390, 844), (1366, 900)):
        page.set_viewport_size({"width": width, "height": height})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (name, width)
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 390, "height": 844})


def password_step(page, base: str) -> None:
    page.goto(base + "/masuk")
    page.get_by_label("Email").fill("perencana@contoh.id")
    page.get_by_label("Kata sandi").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()


def test_staff_enroll_then_sign_in_with_a_recovery_code(live_app, page, make_user):
    base = live_app.config["LIVE_URL"]
    make_user("planner", email="perencana@contoh.id", name="Dedi Kurniawan")

    password_step(page, base)
    page.wait_for_url(base + "/masuk/aktifkan-verifikasi")
    expect(page.get_by_role("heading", name="Siapkan verifikasi dua langkah")).to_be_visible()
    expect(page.get_by_role("img", name="Kode QR untuk aplikasi autentikator")).to_be_visible()
    secret = page.locator("#totp-secret")
    expect(secret).to_be_visible()
    assert axe_violations(page) == []
    both_widths(page, "two-factor-enroll")
    # A staff page is still closed: the password alone signed nobody in.
    page.goto(base + "/sesi/")
    page.wait_for_url(base + "/masuk?next=%2Fsesi%2F")
    page.goto(base + "/masuk/aktifkan-verifikasi")

    # A wrong code first: the message is shown by the field.
    totp = pyotp.TOTP(secret.inner_text().replace(" ", ""))
    page.get_by_label("Kode", exact=True).fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Konfirmasi dan lanjutkan").click()
    expect(page.get_by_text("Kode salah. Periksa jam di ponsel Anda").first).to_be_visible()
    assert axe_violations(page) == []

    page.get_by_label("Kode", exact=True).fill(totp.now())
    page.get_by_role("button", name="Konfirmasi dan lanjutkan").click()
    expect(page.get_by_role("heading", name="Kode pemulihan")).to_be_visible()
    expect(page.get_by_text("Verifikasi dua langkah sudah aktif. Selamat datang, Dedi Kurniawan.")).to_be_visible()
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    expect(page.get_by_text(codes[0])).to_be_visible()
    assert axe_violations(page) == []
    both_widths(page, "two-factor-recovery-codes")
    page.get_by_role("link", name="Kode sudah saya simpan, lanjutkan").click()

    page.goto(base + "/akun")
    expect(page.get_by_text("10 kode pemulihan belum dipakai.")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "two-factor-account")

    # Sign out; the next sign-in asks for a code, and a recovery code will do.
    page.get_by_role("button", name="Buka menu").click()
    page.get_by_role("button", name="Keluar").click()
    page.wait_for_url(base + "/")
    password_step(page, base)
    page.wait_for_url(base + "/masuk/verifikasi")
    expect(page.get_by_role("heading", name="Verifikasi dua langkah")).to_be_visible()
    assert axe_violations(page) == []
    both_widths(page, "two-factor-verify")
    page.get_by_label("Kode", exact=True).fill(codes[0])
    page.get_by_role("button", name="Verifikasi dan masuk").click()
    expect(page.get_by_text("Anda masuk dengan kode pemulihan; 9 tersisa.")).to_be_visible()
    page.goto(base + "/sesi/")
    expect(page.get_by_role("heading", name="Musrenbang tematik")).to_be_visible()
    # The refused code answered 401, which Chromium logs; nothing else may be.
    assert [e for e in page.console_errors if "status of 401" not in e] == []


def test_admin_users_page_offers_the_reset(live_app, page, make_user):
    from tests.browser.conftest import pass_two_factor
    from tests.conftest import staff_code

    base = live_app.config["LIVE_URL"]
    make_user("admin", email="admin@contoh.id", name="Admin Kota")
    planner = make_user("planner", email="perencana@contoh.id", name="Dedi Kurniawan")
    make_user("facilitator", email="fasilitator@contoh.id", name="Rina Fasilitator")
    staff_code(live_app, "perencana@contoh.id")  # enrolled; the facilitator is not yet
    page.goto(base + "/masuk")
    page.get_by_label("Email").fill("admin@contoh.id")
    page.get_by_label("Kata sandi").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    pass_two_factor(page, "admin@contoh.id")
    page.goto(base + "/admin/pengguna")
    expect(page.get_by_role("button", name="Atur ulang verifikasi dua langkah Dedi Kurniawan")).to_be_visible()
    expect(page.get_by_text("Verifikasi dua langkah belum disiapkan")).to_be_visible()
    assert axe_violations(page) == []
    both_widths(page, "two-factor-admin-users")
    page.get_by_role("button", name="Atur ulang verifikasi dua langkah Dedi Kurniawan").click()
    expect(page.get_by_text("Verifikasi dua langkah Dedi Kurniawan telah diatur ulang")).to_be_visible()
    expect(page.get_by_role("button", name="Atur ulang verifikasi dua langkah Dedi Kurniawan")).to_have_count(0)
    assert planner
