"""A forgotten password, end to end on a phone: ask, read the link from the mail that arrived at a
real SMTP server, open it, choose a new password, sign in with it. The confirmation pages too."""
from __future__ import annotations

import re
import shutil
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from participation.models import User
from tests.browser.conftest import LIVE_APPS, axe_violations, screenshot
from tests.browser.test_personal_data_pages import fits
from tests.conftest import TEST_PASSWORD, app_db
from tests.notifications.conftest import SmtpServer, free_port, parts

pytestmark = pytest.mark.browser

EMAIL = "dewi.lestari@contoh.id"
NEW_PASSWORD = "Gudeg-Jogja-Manis-Legit-27"


@pytest.fixture
def smtp_server():
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_app(browser_template, tmp_path, monkeypatch, smtp_server):
    """The live app of tests/browser/conftest.py, sending mail to the test SMTP server, with links
    (PUBLIC_BASE_URL) to itself."""
    from participation import create_app

    database = tmp_path / "live.db"
    shutil.copyfile(browser_template, database)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                      "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port, "MAIL_TIMEOUT": 5,
                      "MAIL_DEFAULT_SENDER": ("Musrenbang Kota Uji", "noreply@musrenbang.test"),
                      "PUBLIC_BASE_URL": base})
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["LIVE_URL"] = base
    LIVE_APPS[base] = app
    yield app
    LIVE_APPS.pop(base, None)
    server.shutdown()
    thread.join(timeout=5)


def deliver(app, smtp_server) -> str:
    """Run the worker once; the only link of the last mail that arrived (text and HTML agree)."""
    result = app.test_cli_runner().invoke(args=["send-notifications", "--once"])
    assert result.exit_code == 0, result.output
    text, html = parts(smtp_server.inbox.messages[-1])
    links = set(re.findall(r"http://127\.0\.0\.1:\d+/(?:kata-sandi-baru|konfirmasi-email)/[\w.-]+", text))
    assert len(links) == 1 and links <= set(re.findall(r'href="([^"]+)"', html))
    return links.pop()


def test_an_owner_resets_a_forgotten_password_from_the_mail(live_app, page, make_user, smtp_server):
    base = live_app.config["LIVE_URL"]
    make_user("proponent", email=EMAIL, name="Dewi Lestari")
    page.goto(base + "/masuk")
    page.get_by_role("link", name="Lupa kata sandi?").click()
    expect(page.get_by_role("heading", name="Lupa kata sandi?", level=1)).to_be_visible()
    assert fits(page) and axe_violations(page) == []
    # A typo first: the error summary names the field, the address is kept.
    page.get_by_label("Email").fill("dewi.lestari@")
    page.get_by_role("button", name="Kirim tautan").click()
    expect(page.locator("[data-error-summary]")).to_be_visible()
    assert page.get_by_label("Email").input_value() == "dewi.lestari@"
    assert axe_violations(page) == []
    screenshot(page, "reset-request-error-390")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Kirim tautan").click()
    page.wait_for_url(base + "/lupa-kata-sandi/terkirim")
    expect(page.get_by_role("heading", name="Periksa kotak surat Anda")).to_be_visible()
    assert fits(page) and axe_violations(page) == []
    screenshot(page, "reset-sent-390")

    link = deliver(live_app, smtp_server)
    assert smtp_server.inbox.messages[-1]["Subject"] == "Pilih kata sandi baru"
    page.goto(link)
    expect(page.get_by_role("heading", name="Pilih kata sandi baru", level=1)).to_be_visible()
    expect(page.get_by_text(f"Untuk akun {EMAIL}.")).to_be_visible()
    assert fits(page) and axe_violations(page) == []
    # The policy first: the city's name or a short password is refused, with the reason shown.
    page.get_by_label("Kata sandi baru").fill("dewi1234")
    page.get_by_label("Ulangi kata sandi").fill("dewi1234")
    page.get_by_role("button", name="Simpan kata sandi baru").click()
    expect(page.locator("[data-error-summary]")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "reset-password-error-390")
    page.get_by_label("Kata sandi baru").fill(NEW_PASSWORD)
    page.get_by_label("Ulangi kata sandi").fill(NEW_PASSWORD)
    screenshot(page, "reset-password-390")
    page.get_by_role("button", name="Simpan kata sandi baru").click()
    page.wait_for_url(base + "/masuk")
    expect(page.get_by_text("Kata sandi Anda telah diganti")).to_be_visible()

    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Kata sandi", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    page.wait_for_url(base + "/")
    expect(page.get_by_text("Selamat datang, Dewi Lestari.")).to_be_visible()

    page.goto(link)  # used: dead
    expect(page.get_by_role("heading", name="Tautan ini tidak berlaku lagi")).to_be_visible()
    assert fits(page) and axe_violations(page) == []
    screenshot(page, "reset-link-used-390")
    assert page.console_errors == [] or all("410" in error for error in page.console_errors)


def test_an_unverified_owner_sees_the_prompt_and_confirms_from_the_mail(live_app, page, make_user, smtp_server):
    base = live_app.config["LIVE_URL"]
    owner = make_user("proponent", email=EMAIL, name="Dewi Lestari", verified=False)
    page.goto(base + "/masuk")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Kata sandi", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    page.wait_for_url(base + "/")
    prompt = page.get_by_role("status").filter(has_text="Konfirmasi alamat email Anda")
    expect(prompt).to_be_visible()
    assert fits(page) and axe_violations(page) == []
    screenshot(page, "verify-prompt-390")
    prompt.get_by_role("button", name="Kirim ulang tautan").click()
    expect(page.get_by_text("Kami telah mengirim ulang tautan konfirmasi")).to_be_visible()

    page.goto(deliver(live_app, smtp_server))
    expect(page.get_by_role("heading", name="Konfirmasi alamat email Anda", level=1)).to_be_visible()
    assert fits(page) and axe_violations(page) == []
    screenshot(page, "verify-email-390")
    page.get_by_role("button", name="Konfirmasi alamat saya").click()
    expect(page.get_by_text(f"Alamat email Anda {EMAIL} telah dikonfirmasi.")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="buka tautan yang kami kirim")).to_have_count(0)
    with app_db(live_app) as session:
        assert session.get(User, owner).email_verified_at is not None


def test_the_admins_one_time_link_page(live_app, page, make_user):
    from tests.browser.conftest import pass_two_factor
    from tests.conftest import STAFF_PASSWORD

    base = live_app.config["LIVE_URL"]
    make_user("admin", email="admin@contoh.id")
    make_user("proponent", email=EMAIL, name="Dewi Lestari")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(base + "/masuk")
    page.get_by_label("Email").fill("admin@contoh.id")
    page.get_by_label("Kata sandi", exact=True).fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    pass_two_factor(page, "admin@contoh.id")
    page.goto(base + "/admin/pengguna")
    page.get_by_role("button", name="Tautan sekali pakai untuk memilih kata sandi baru bagi Dewi Lestari").click()
    expect(page.get_by_role("heading", name="Tautan kata sandi sekali pakai untuk Dewi Lestari")).to_be_visible()
    link = page.get_by_label("Tautan").input_value()
    assert link.startswith(base + "/kata-sandi-baru/")
    assert fits(page) and axe_violations(page) == []
    screenshot(page, "admin-reset-link-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits(page)
    screenshot(page, "admin-reset-link-390")
