"""Every page of every role, in one browser on one seeded world: fits the screen, passes axe, shows its content.

The list of pages comes from the app's url_map and the access-control table (tests/test_access_control.py):
each GET route a role may open (200 there) is visited as that role, owners and the public on a phone
(390 px, and checked again at 360 px), staff at a desk (1366 px). A new GET route that no role visits
fails `test_every_get_route_is_visited` unless it is listed, with its reason, in NOT_PAGES.
On each page: no sideways scrolling of the page or of any table's scroll box, 0 axe WCAG 2.1 AA
violations, and a full-page screenshot under test-artifacts/pages/. A few pages are also read for
what a person must see there (the ranked list's bars, the final outcome, the public search).
"""
from __future__ import annotations

import re
import shutil

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import expect

from tests.browser.conftest import serving
from tests.browser.page_sweep import (
    DESK,
    LONG_TITLE,
    NOT_PAGES,
    PHONE,
    SIGN_IN_PAGES,
    STATE_PAGES,
    WIDTH,
    build_rich_world,
    check_page,
    get_endpoints,
    pages_of,
    sign_in,
)
from tests.test_access_control import ACCESS, ROLES

pytestmark = pytest.mark.browser

@pytest.fixture(scope="module")
def world_app(browser_template, tmp_path_factory):
    """One live app on one seeded SQLite world for every test here (each xdist worker builds its own)."""
    from participation import create_app

    folder = tmp_path_factory.mktemp("every-page")
    database = folder / "live.db"
    shutil.copyfile(browser_template, database)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("INSTANCE_PATH", str(folder / "instance"))
        app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})
        app.config["WORLD"] = build_rich_world(app)
        with serving(app):
            yield app
    shutil.rmtree(folder / "instance", ignore_errors=True)


def test_every_get_route_is_visited(tmp_path):
    from participation import create_app

    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'routes.db'}"})
    """A GET route is a page some role visits below, a sign-in step, or a listed download."""
    visited = {endpoint for endpoint in get_endpoints(app)
               if endpoint in STATE_PAGES or any(ACCESS.get((endpoint, "GET"), {}).get(role) == 200 for role in ROLES)}
    missing = sorted(get_endpoints(app) - visited - NOT_PAGES.keys() - SIGN_IN_PAGES)
    assert not missing, f"GET routes that no role visits in this test (add them, or to NOT_PAGES with why): {missing}"
    assert not (NOT_PAGES.keys() | SIGN_IN_PAGES) - get_endpoints(app), "stale NOT_PAGES or SIGN_IN_PAGES entries"


@pytest.fixture
def role_page(browser, world_app, request):
    role = request.param
    context = browser.new_context(viewport={"width": WIDTH[role], "height": 844 if WIDTH[role] == PHONE else 900},
                                  locale="id-ID")
    context.add_init_script(AXE_SCRIPT)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.console_errors = errors
    if role != "anonymous":
        sign_in(page, world_app.config["LIVE_URL"], role)
    yield role, page
    context.close()


@pytest.mark.parametrize("role_page", ROLES, indirect=True)
def test_every_page_of_the_role(world_app, role_page):
    role, page = role_page
    base = world_app.config["LIVE_URL"]
    pages = pages_of(world_app, role)
    assert pages, f"{role} has no pages"
    for name, url in pages:
        response = page.goto(base + url)
        assert response.status == 200, f"{name} ({role}, {url}): {response.status}"
        check_page(page, name, role)
    assert page.console_errors == []
    CONTENT_CHECKS.get(role, lambda *_: None)(page, base, world_app.config["WORLD"])


def check_ranked_list(page, base: str, world: dict) -> None:
    """The planner's ranked list: bars drawn to scale, a title cut short but whole where it counts."""
    page.goto(base + f"/sesi/{world['rich_session']}/peringkat")
    check_page(page, "ranked-list-final", "planner")
    rows = page.locator("table.ranked-list tbody tr:has(svg[role=img])")
    assert rows.count() == 6
    for index in range(rows.count()):
        row = rows.nth(index)
        widths = [float(w) for w in row.locator("svg[role=img] rect[fill^='#']").evaluate_all(
            "rects => rects.map(r => r.getBoundingClientRect().width)")]
        figures = [float(re.match(r"[\d,]+", text).group().replace(",", ".")) for text in
                   row.locator(".contribution-figures dd").evaluate_all("dds => dds.map(d => d.textContent.trim())")]
        assert len(widths) == len(figures) == world["rich_criteria"]
        assert sum(widths) > 0
        score = float(row.locator("td").nth(3).inner_text().replace(",", "."))
        for width, figure in zip(widths, figures, strict=True):
            # 180 px for a score of 1; the figure is printed to three decimals.
            assert width == pytest.approx(figure * 180, abs=0.2), (widths, figures)
        assert sum(figures) == pytest.approx(score, abs=0.005)
    # What the planner acts on is on screen without scrolling sideways: the decision link, the budget line.
    decide = page.get_by_role("link", name=re.compile("^Putuskan")).first
    assert decide.bounding_box()["x"] + decide.bounding_box()["width"] <= DESK
    line = page.locator("tr.budget-line")
    expect(line).to_contain_text("Garis pagu: Rp100.000.000")
    assert line.bounding_box()["width"] <= DESK
    # Opened, the what-if weights and every row's figures still fit.
    page.get_by_text("Bagaimana jika bobotnya berbeda?").click()
    for summary in page.locator(".contribution-figures summary").all():
        summary.click()
    check_page(page, "ranked-list-open", "planner")
    # The long title is cut to two lines on the list, with all of it in the link's name and tooltip.
    title = page.get_by_role("link", name=LONG_TITLE)
    assert title.get_attribute("title") == LONG_TITLE
    assert title.evaluate("a => a.scrollHeight > a.clientHeight + 1")  # cut short on screen
    title.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(LONG_TITLE)


def check_owner_outcome(page, base: str, world: dict) -> None:
    """The owner's finalised proposal: the outcome, the reason and a breakdown read on a phone."""
    page.goto(base + f"/usulan/{world['owner_final']}")
    check_page(page, "proposal-final", "proponent")
    final = page.locator("section[aria-labelledby=final-title]")
    receipt = world["rich_receipts"][world["owner_final"]]
    expect(final).to_contain_text("Diprioritaskan")
    expect(final).to_contain_text(f"Alasan keputusan untuk {receipt}.")
    # The breakdown is stacked rows on a phone: each criterion with its figures, readable without scrolling.
    first = final.locator("tbody tr").first
    expect(first).to_contain_text("Urgensi")
    cells = first.locator("td")
    labels = cells.evaluate_all("tds => tds.map(td => getComputedStyle(td, '::before').content)")
    assert labels == ["none", '"Bobot"', '"Nilai"', '"Kontribusi"']  # each figure named in front of it
    tops = [cells.nth(i).bounding_box()["y"] for i in range(4)]
    assert tops == sorted(tops) and len(set(tops)) == 4  # one line each
    assert first.bounding_box()["width"] <= PHONE


def check_public_search(page, base: str, world: dict) -> None:
    """The public results on a phone: one card per proposal, searchable without script, each opening its breakdown."""
    page.goto(base + f"/hasil/{world['rich_session']}")
    cards = page.locator("article[data-receipt]")
    assert cards.count() == 6
    boxes = [cards.nth(i).bounding_box() for i in range(2)]
    assert boxes[1]["y"] >= boxes[0]["y"] + boxes[0]["height"]  # one card a row: stacked
    receipt = world["rich_receipts"][world["owner_final"]]
    page.get_by_label("Nomor tanda terima, usaha atau kecamatan").fill(receipt.lower())
    page.get_by_role("button", name="Cari").click()
    expect(page).to_have_url(re.compile(rf"q={receipt.lower()}"))
    expect(cards).to_have_count(1)
    card = cards.first
    expect(card).to_contain_text(receipt)
    details = card.locator("details")
    expect(details.locator("dl")).not_to_be_visible()
    card.get_by_text("Rincian skor dan keputusan").click()
    expect(details.locator("dt", has_text="Urgensi")).to_be_visible()
    expect(details).to_contain_text("kontribusi 0,")
    expect(details).to_contain_text(f"Alasan keputusan untuk {receipt}.")
    rows = details.locator(".breakdown-row")
    assert rows.count() == world["rich_criteria"]
    for index in range(rows.count()):
        # Each criterion's bar is filled in proportion to its contribution (the full bar is a score of 1).
        figure = float(re.search(r"kontribusi ([\d,]+)", rows.nth(index).inner_text()).group(1).replace(",", "."))
        bar = rows.nth(index).locator("svg.part-bar")
        full = bar.bounding_box()["width"]
        filled = bar.locator("[data-part]").evaluate("rect => rect.getBoundingClientRect().width")
        assert filled == pytest.approx(figure * full, abs=1), (index, figure, filled, full)
    check_page(page, "result-search", "anonymous")
    # A kecamatan finds its two proposals; funded only keeps those the ceiling covers and were prioritised.
    page.get_by_label("Nomor tanda terima, usaha atau kecamatan").fill("cibeunying")
    page.get_by_role("button", name="Cari").click()
    expect(cards).to_have_count(2)
    page.get_by_label("Nomor tanda terima, usaha atau kecamatan").fill("")
    page.get_by_label("Hanya yang didanai").check()
    page.get_by_role("button", name="Cari").click()
    expect(page).to_have_url(re.compile("didanai=1"))
    assert cards.count() >= 1
    for badge in cards.locator("[data-standing] .badge").all_inner_texts():
        assert badge == "Diprioritaskan · didanai dalam pagu"
    check_page(page, "result-funded", "anonymous")


CONTENT_CHECKS = {"planner": check_ranked_list, "proponent": check_owner_outcome, "anonymous": check_public_search}
