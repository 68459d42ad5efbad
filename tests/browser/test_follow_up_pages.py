"""Follow-up in a real browser: a planner records an update with a photo at a desk; the owner sees it and its
notification on a phone; the public results page shows the progress at 390 px without sideways scrolling."""
from __future__ import annotations

import struct
import zlib
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from participation.models import Notification, SessionStatus, ThemedSession, User
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD, TEST_PASSWORD, app_db
from tests.factories import as_actor

pytestmark = pytest.mark.browser
DESK = {"width": 1366, "height": 800}
PHONE = {"width": 390, "height": 844}
NOTE = "Mesin pengemas sudah tiba dan dipasang di rumah produksi."


def png(width: int = 8, height: int = 6) -> bytes:
    """A small real PNG (solid blue), so that the page's <img> has something to show."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x0a\x3d\x91" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def fits(page) -> bool:
    """Neither the page nor any table's scroll box is wider than what it shows."""
    return page.evaluate("""() => document.documentElement.scrollWidth <= document.documentElement.clientWidth
        && [...document.querySelectorAll('.table-responsive')].every(b => b.scrollWidth <= b.clientWidth + 1)""")


@pytest.fixture
def world(live_app, make_world):
    from participation.review.services import finalize

    world = make_world(planners=[{"email": "perencana@contoh.id", "name": "Dedi Kurniawan"}],
                       owner={"email": "pemilik@contoh.id", "name": "Dewi Lestari"}, status=SessionStatus.REVIEW,
                       budget_ceiling=100_000_000, rated=4, title="Musrenbang Tematik IKM Pangan",
                       proposals=[{"business": "owner", "title": "Mesin pengemas vakum untuk keripik singkong",
                                   "estimated_cost": 40_000_000},
                                  {"title": "Pelatihan pemasaran daring", "estimated_cost": 25_000_000}])
    with app_db(live_app) as session:
        finalize(session.get(ThemedSession, world.session), {}, as_actor(session.get(User, world.planner)))
        session.commit()
    return world


def test_staff_record_an_update_with_a_photo_the_owner_and_the_public_see_it(live_app, page, world, tmp_path):
    base, sid, receipt = live_app.config["LIVE_URL"], world.session, world.receipts[0]
    photo = tmp_path / "mesin.png"
    photo.write_bytes(png())
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date().isoformat()

    page.set_viewport_size(DESK)
    sign_in(page, base, "perencana@contoh.id", STAFF_PASSWORD)
    page.goto(base + f"/sesi/{sid}/peringkat")
    page.get_by_role("link", name="Tindak lanjut usulan yang didanai").click()
    expect(page.get_by_role("heading", name="Tindak lanjut usulan yang didanai", level=1)).to_be_visible()
    assert fits(page) and axe_violations(page) == []
    screenshot(page, "follow-up-list-1366")
    page.get_by_role("link", name=f"Catat pembaruan {receipt}").click()

    # A future date and progress above 100 are refused, with what was typed kept.
    page.get_by_label("Progres fisik (%)").fill("120")
    page.get_by_label("Catatan").fill(NOTE)
    page.get_by_role("button", name="Simpan pembaruan").click()
    expect(page.locator(".error-summary")).to_contain_text("Progres fisik harus bilangan bulat 0 sampai 100.")
    assert page.get_by_label("Catatan").input_value() == NOTE
    assert axe_violations(page) == []
    screenshot(page, "follow-up-update-refused-1366")

    page.get_by_label("Tanggal pembaruan").fill(today)
    page.get_by_label("Status").select_option(label="Berjalan")
    page.get_by_label("Progres fisik (%)").fill("60")
    page.get_by_label("Realisasi anggaran (Rp)").fill("22.500.000")
    page.get_by_label("Foto", exact=True).set_input_files(str(photo))
    page.get_by_role("button", name="Simpan pembaruan").click()
    expect(page.get_by_text(f"Pembaruan {receipt} disimpan; pemilik usulan diberi tahu.")).to_be_visible()
    row = page.locator(f"tr[data-receipt='{receipt}']")
    expect(row.get_by_text("Berjalan")).to_be_visible()
    assert row.locator("[data-progress]").get_attribute("data-progress") == "60"
    with app_db(live_app) as session:
        kinds = [n.kind for n in session.scalars(select(Notification).where(Notification.user_id == world.owner))]
        assert kinds.count("follow_up_update") == 2  # by email and in the app
    page.context.clear_cookies()

    owner = page
    owner.set_viewport_size(PHONE)
    sign_in(owner, base, "pemilik@contoh.id", TEST_PASSWORD)
    owner.goto(base + "/notifikasi/")
    expect(owner.get_by_text(f"Perkembangan usulan Anda yang didanai: {receipt}").first).to_be_visible()
    owner.goto(base + f"/usulan/{world.proposals[0]}")
    section = owner.locator("[data-follow-up]")
    expect(section.get_by_role("heading", name="Tindak lanjut Berjalan")).to_be_visible()
    expect(section.get_by_text(NOTE)).to_be_visible()
    expect(section.get_by_text("Progres fisik 60 %").first).to_be_visible()
    image = section.get_by_role("img", name="Foto pembaruan tanggal")
    expect(image).to_be_visible()
    assert owner.evaluate("img => img.naturalWidth", image.element_handle()) == 8
    assert fits(owner) and axe_violations(owner) == []
    screenshot(owner, "follow-up-owner-390")
    owner.context.clear_cookies()

    owner.goto(base + f"/hasil/{sid}")
    summary = owner.locator("[data-follow-up-summary]")
    expect(summary.locator("[data-figure='funded']")).to_have_text("2")
    expect(summary.locator("[data-figure='in_progress']")).to_have_text("1")
    expect(summary.locator("[data-figure='realised']")).to_have_text("Rp22.500.000")
    expect(summary.get_by_role("img", name="Realisasi anggaran per bulan")).to_be_visible()
    card = owner.locator(f"article[data-receipt='{receipt}']")
    expect(card.locator("[data-follow-up-status]")).to_have_text("Berjalan")
    bar = card.locator("rect[data-progress]")
    assert bar.get_attribute("width") == "60"
    assert fits(owner) and axe_violations(owner) == []
    screenshot(owner, "follow-up-public-390")
    owner.set_viewport_size(DESK)
    assert fits(owner)
    screenshot(owner, "follow-up-public-1366")
    assert page.console_errors == []
