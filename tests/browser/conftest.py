"""A live server on a migrated SQLite file and the system Chromium driven by Playwright."""
from __future__ import annotations

import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import ROOT, _migrate, staff_code

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


# The live apps by their base URL, so that a sign-in helper given only the page can reach the database.
LIVE_APPS: dict = {}


def pass_two_factor(page, email: str) -> None:
    """After a staff account's password: type a valid code into the second step, as a person would.

    The code comes from the test secret the account is enrolled with (tests/conftest.py staff_code);
    a proponent's sign-in, which has no second step, is left alone.
    """
    from urllib.parse import urlsplit

    page.wait_for_load_state()
    parts = urlsplit(page.url)
    if parts.path != "/masuk/verifikasi" and parts.path != "/masuk/aktifkan-verifikasi":
        return
    app = LIVE_APPS[f"{parts.scheme}://{parts.netloc}"]
    code = staff_code(app, email)
    page.goto(f"{parts.scheme}://{parts.netloc}/masuk/verifikasi")
    page.get_by_label("Kode", exact=True).fill(code)
    page.get_by_role("button", name="Verifikasi dan masuk").click()
    page.wait_for_load_state()


@pytest.fixture(scope="session")
def browser_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("browser") / "template.db"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def live_app_overrides() -> dict:
    """Extra settings for the live app (a test module overrides this fixture, e.g. CITY_CODE)."""
    return {}


@pytest.fixture
def live_app(browser_template, tmp_path, monkeypatch, live_app_overrides):
    """The app on a fresh SQLite copy, served by a real HTTP server in a thread."""
    from participation import create_app

    database = tmp_path / "live.db"
    shutil.copyfile(browser_template, database)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", **live_app_overrides})
    with serving(app):
        yield app


@contextmanager
def serving(app):
    """Serve `app` over HTTP in a thread while the block runs; its address is app.config["LIVE_URL"]."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["LIVE_URL"] = f"http://127.0.0.1:{server.server_port}"
    LIVE_APPS[app.config["LIVE_URL"]] = app
    try:
        yield app
    finally:
        LIVE_APPS.pop(app.config["LIVE_URL"], None)
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def app(live_app):
    """Here the app is the live one, so that make_user and make_world build their worlds in it."""
    return live_app


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test`, which installs Debian's chromium")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser context per test; a phone-sized viewport, as business owners use."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    # A form answered with 400 makes Chromium log "Failed to load resource"; that is the
    # page doing its job. Anything else logged as an error is a defect.
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and "status of 400" not in message.text else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.console_errors = errors
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page) -> list[dict]:
    """WCAG 2.1 A/AA violations that axe-core finds on the current page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={**WCAG_21_AA, "resultTypes": ["violations"]})
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results.response["violations"]
    ]
