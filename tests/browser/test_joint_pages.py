"""A planner finds similar proposals of different businesses, merges them into a joint proposal and sees it,
at a desk (1366 px) and on a phone (390 px); the owner of an original reads where it went. axe on each page."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from participation.models import Proposal, SessionStatus
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD, TEST_PASSWORD, app_db

pytestmark = pytest.mark.browser
DESK = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
TEXT = "Kelas tiga hari tentang foto produk, media sosial dan toko daring untuk warung makan."


@pytest.fixture
def world(make_world):
    return make_world(
        planners=[{"email": "perencana@contoh.id", "name": "Dedi Kurniawan"}], status=SessionStatus.REVIEW,
        owner={"email": "pemilik@contoh.id"}, rated=4,
        proposals=[{"business": "owner", "title": "Pelatihan pemasaran digital untuk UMKM kuliner",
                    "description": TEXT, "estimated_cost": 30_000_000},
                   {"business": {"nib": "3201000000002", "name": "Warung Sari Rasa"},
                    "title": "Pelatihan Pemasaran Digital bagi UMKM Kuliner", "description": TEXT,
                    "estimated_cost": 45_000_000},
                   {"business": {"nib": "3201000000003", "name": "Mebel Jati Makmur"}, "title": "Mesin serut kayu",
                    "description": "Mesin serut untuk bengkel mebel.", "estimated_cost": 70_000_000}])


def fits_the_width(page) -> bool:
    """The page does not scroll sideways (tables scroll inside their own box)."""
    return page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_a_planner_merges_a_cluster_and_sees_the_joint_proposal(live_app, page, world):
    base, sid = live_app.config["LIVE_URL"], world.session
    page.set_viewport_size(DESK)
    sign_in(page, base, "perencana@contoh.id", STAFF_PASSWORD)
    page.goto(base + f"/sesi/{sid}/peringkat")
    page.get_by_role("link", name="Usulan serupa").click()
    expect(page.get_by_role("heading", name="Usulan serupa", level=1)).to_be_visible()
    cluster = page.locator("[data-cluster]")
    expect(cluster).to_have_count(1)
    expect(cluster).to_contain_text("Warung Sari Rasa")
    expect(cluster).to_contain_text("Rp45.000.000")
    expect(cluster).not_to_contain_text("Mesin serut kayu")
    assert fits_the_width(page) and axe_violations(page) == []
    screenshot(page, "planner-similar-proposals-1366")
    page.set_viewport_size(PHONE)
    assert fits_the_width(page) and axe_violations(page) == []
    screenshot(page, "planner-similar-proposals-390")
    page.set_viewport_size(DESK)

    cluster.get_by_role("link", name="Gabungkan menjadi usulan gabungan").click()
    expect(page.get_by_label("Judul usulan gabungan")).to_have_value("Pelatihan pemasaran digital untuk UMKM kuliner")
    page.get_by_label("Judul usulan gabungan").fill("")
    page.get_by_label("Perkiraan biaya (Rupiah)").fill("60.000.000")
    page.get_by_role("button", name="Buat usulan gabungan").click()
    expect(page.locator(".error-summary")).to_contain_text("Isi judul.")
    assert page.get_by_label("Perkiraan biaya (Rupiah)").input_value() == "60.000.000"
    assert fits_the_width(page) and axe_violations(page) == []
    screenshot(page, "planner-merge-form-1366")
    page.set_viewport_size(PHONE)
    assert fits_the_width(page) and axe_violations(page) == []
    screenshot(page, "planner-merge-form-390")
    page.set_viewport_size(DESK)
    page.get_by_label("Judul usulan gabungan").fill("Pelatihan pemasaran digital bersama UMKM kuliner")
    page.get_by_label("Jenis dukungan").select_option(index=2)
    page.get_by_role("button", name="Buat usulan gabungan").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Pelatihan pemasaran digital bersama UMKM kuliner")
    expect(page.get_by_text(re.compile(r"Usulan gabungan MT-2027-\d{4} dibuat dari 2 usulan"))).to_be_visible()
    co_proposers = page.locator("[data-joint]")
    expect(co_proposers).to_contain_text("Warung Sari Rasa")
    assert axe_violations(page) == []
    screenshot(page, "planner-joint-proposal-1366")
    with app_db(live_app) as session:
        joint = session.scalars(session.query(Proposal).filter(Proposal.co_proposers.any()).statement).one()
        receipt = joint.receipt_number
        assert {session.get(Proposal, pid).merged_into_id for pid in world.proposals[:2]} == {joint.id}
    page.goto(base + f"/sesi/{sid}/peringkat")
    expect(page.get_by_text(receipt, exact=True).first).to_be_visible()
    expect(page.get_by_text(world.receipts[0], exact=True)).to_have_count(0)
    page.goto(base + f"/sesi/{sid}/usulan-serupa")
    expect(page.locator("[data-cluster]")).to_have_count(0)
    expect(page.locator(f'[data-joint="{receipt}"]')).to_contain_text("diperingkat sebagai pengganti")
    assert axe_violations(page) == []


def test_the_owner_reads_where_the_proposal_went(live_app, browser, world):
    from tests.factories import as_actor
    from participation.models import ThemedSession, User
    from participation.review import joint

    with app_db(live_app) as session:
        themed_session = session.get(ThemedSession, world.session)
        originals = [session.get(Proposal, pid) for pid in world.proposals[:2]]
        data = {**joint.merge_defaults(originals), "category_id": themed_session.categories[0].id}
        made = joint.merge(themed_session, originals, data, as_actor(session.get(User, world.planner)))
        session.commit()
        receipt, joint_id = made.receipt_number, made.id
    context = browser.new_context(viewport=PHONE, locale="id-ID")
    page = context.new_page()
    try:
        base = live_app.config["LIVE_URL"]
        sign_in(page, base, "pemilik@contoh.id", TEST_PASSWORD)
        page.goto(base + f"/usulan/{world.proposals[0]}")
        note = page.locator("[data-merged-into]")
        expect(note).to_contain_text(f"Digabung ke {receipt}")
        assert fits_the_width(page) and axe_violations(page) == []
        screenshot(page, "owner-merged-proposal-390")
        note.get_by_role("link", name=f"Buka usulan gabungan {receipt}").click()
        assert page.url.endswith(f"/usulan/{joint_id}")
        expect(page.locator("[data-joint]")).to_contain_text("Warung Sari Rasa")
        assert axe_violations(page) == []
    finally:
        context.close()
