"""Personal access tokens on the account page, on a phone and a desktop: made, shown once, revoked."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_personal_data_pages import fits, sign_in

pytestmark = pytest.mark.browser


def test_an_owner_makes_a_token_sees_it_once_and_revokes_it(live_app, page, make_world):
    base = live_app.config["LIVE_URL"]
    make_world(owner={"email": "pemilik@contoh.id", "name": "Dewi Lestari"})
    sign_in(page, base, "pemilik@contoh.id")
    page.goto(base + "/akun")
    section = page.get_by_role("region", name="Token API")
    expect(section.get_by_text("Anda belum memiliki token API.")).to_be_visible()
    section.get_by_label("Nama token").fill("Sinkron kasir")
    section.get_by_label("Tulis: membuat usulan").check()
    section.scroll_into_view_if_needed()
    assert fits(page)
    assert axe_violations(page) == []
    section.get_by_role("button", name="Buat token").click()

    expect(page.get_by_role("heading", name="Token API baru")).to_be_visible()
    expect(page.get_by_text("hanya ditampilkan kali ini")).to_be_visible()
    value = page.get_by_label(re.compile("Token Anda"))
    raw = value.input_value()
    assert re.fullmatch(r"mt_[a-z0-9]{8}_[A-Za-z0-9_-]{43}", raw)
    assert fits(page)
    assert axe_violations(page) == []
    screenshot(page, "api-token-created-390")
    page.set_viewport_size({"width": 1366, "height": 900})
    screenshot(page, "api-token-created-1366")
    page.set_viewport_size({"width": 390, "height": 844})

    page.get_by_role("link", name="Token sudah saya salin, kembali ke akun saya").click()
    row = page.locator(f"[data-api-token='{raw[:11]}']")
    expect(row).to_contain_text("Sinkron kasir")
    expect(row).to_contain_text("Baca, Tulis")
    expect(row).to_contain_text("Belum pernah")
    assert raw not in page.content()
    assert fits(page)
    # On a phone each token is a block of labelled lines, not a table that scrolls sideways.
    assert page.locator("[data-api-tokens]").evaluate("t => t.parentElement.scrollWidth <= t.parentElement.clientWidth")
    expect(row.locator("td[data-label='Dibuat']")).to_be_visible()
    page.get_by_role("region", name="Token API").screenshot(path=str(screenshot(page, "api-tokens-390")))
    page.set_viewport_size({"width": 1366, "height": 900})
    assert fits(page)
    assert axe_violations(page) == []
    screenshot(page, "api-tokens-1366")

    row.get_by_role("button", name="Cabut token Sinkron kasir").click()
    expect(page.get_by_text(f"Token {raw[:11]} telah dicabut dan tidak berlaku lagi.")).to_be_visible()
    expect(page.locator(f"[data-api-token='{raw[:11]}']")).to_contain_text("Dicabut")
    assert page.console_errors == []
