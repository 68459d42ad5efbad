"""What an owner sees of where a proposal stands (390 px), and the planner's finalise confirmation (1366 px)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from participation.models import Outcome, Proposal, SessionStatus, ThemedSession, User
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD, TEST_PASSWORD, app_db
from tests.factories import as_actor, rate

pytestmark = pytest.mark.browser

TITLES = ("Mesin pengering kerupuk untuk kelompok", "Pelatihan pengemasan dan label halal")


def fits(page) -> bool:
    """No sideways scrolling: the page is no wider than the window, nor any table wider than its box."""
    return page.evaluate("""() => document.documentElement.scrollWidth <= window.innerWidth
        && [...document.querySelectorAll('table')].every(t => t.parentElement.scrollWidth <= t.parentElement.clientWidth + 1
            || getComputedStyle(t.parentElement).overflowX === 'auto')""")


@pytest.fixture
def world(make_world):
    return make_world(planners=[{"email": "perencana@contoh.id", "name": "Perencana"}],
                      owner={"email": "pemilik@contoh.id", "name": "Siti Aminah",
                             "business": {"nib": "1234567890123", "name": "Kerupuk Udang Bu Siti"}},
                      title="Musrenbang Tematik IKM Pangan", budget_ceiling=50_000_000, max_proposals_per_business=3,
                      proposals=[{"business": "owner", "title": title, "estimated_cost": 30_000_000}
                                 for title in TITLES])


def finalise(app, world):
    """Both proposals prioritised; the ceiling covers only the first (30 + 30 > 50 million)."""
    from participation.review import services as review

    with app_db(app) as session:
        planner = session.get(User, world.planner)
        themed_session = session.get(ThemedSession, world.session)
        proposals = [session.get(Proposal, pid) for pid in world.proposals]
        rate(proposals, [planner], lambda proposal, criterion, rater: 5 if proposal.title == TITLES[0] else 3)
        themed_session.status = SessionStatus.REVIEW
        session.flush()
        for proposal in proposals:
            review.decide(proposal, Outcome.PRIORITIZED, "Sesuai prioritas pemulihan ekonomi daerah.",
                          as_actor(planner))
        review.finalize(themed_session, {}, as_actor(planner))
        session.commit()


def test_the_owner_sees_the_count_the_confirmation_the_resubmission_and_the_final_outcome(live_app, page, world):
    base = live_app.config["LIVE_URL"]
    sign_in(page, base, "pemilik@contoh.id", TEST_PASSWORD)

    # Before writing: how much of the limit is used, on the list and on the form.
    page.goto(base + "/usulan/")
    quota = page.locator("[data-quota]").first
    expect(quota).to_have_text(re.compile(r"2 dari 3 usulan terpakai\.\s+Anda masih dapat mengirim 1 usulan lagi\."))
    assert fits(page)
    screenshot(page, "owner-390-quota-list")
    page.get_by_role("link", name="Tulis usulan").click()
    expect(page.locator("[data-quota]")).to_contain_text("2 dari 3 usulan terpakai")
    assert fits(page)

    # Withdrawing asks first; Cancel leaves it submitted.
    page.goto(base + f"/usulan/{world.proposals[1]}")
    page.get_by_role("link", name="Tarik usulan").click()
    expect(page.get_by_role("heading", name="Tarik usulan ini?")).to_be_visible()
    expect(page.locator("[data-confirm-subject]")).to_have_text(TITLES[1])
    expect(page.get_by_text("Musrenbang Tematik IKM Pangan").first).to_be_visible()
    expect(page.locator("[data-confirm-consequences]")).to_contain_text(
        "perencana tidak akan menilai atau memeringkatnya")
    expect(page.locator("[data-confirm-consequences]")).to_contain_text("dengan nomor tanda terima yang sama")
    assert fits(page)
    assert axe_violations(page) == []
    screenshot(page, "owner-390-withdraw-confirmation")
    page.get_by_role("link", name="Batal").click()
    expect(page.locator("h1 [data-status]")).to_have_text("Terkirim")

    # Withdraw, then submit again with the same receipt number.
    page.get_by_role("link", name="Tarik usulan").click()
    page.get_by_role("button", name="Ya, tarik usulan").click()
    expect(page.get_by_text(f"Usulan {world.receipts[1]} telah ditarik.")).to_be_visible()
    expect(page.locator("h1 [data-status]")).to_have_text("Ditarik")
    expect(page.get_by_text("Anda telah menarik usulan ini.")).to_be_visible()
    screenshot(page, "owner-390-withdrawn")
    page.get_by_role("button", name="Kirim ulang").click()
    expect(page.get_by_text(f"Usulan {world.receipts[1]} telah dikirim ulang dengan nomor tanda terima yang sama.")
           ).to_be_visible()
    expect(page.locator("h1 [data-status]")).to_have_text("Terkirim")
    expect(page.locator("[data-history] li")).to_have_count(4)
    expect(page.locator("[data-history] li").nth(2)).to_contain_text("Ditarik")
    assert fits(page)

    # The receipt, as a page to print.
    page.get_by_role("link", name="Tanda terima", exact=True).click()
    expect(page.get_by_role("heading", name="Tanda terima usulan")).to_be_visible()
    expect(page.get_by_text(f"Nomor tanda terima: {world.receipts[1]}")).to_be_visible()
    expect(page.get_by_text("Rp30.000.000")).to_be_visible()
    assert fits(page)
    assert axe_violations(page) == []
    screenshot(page, "owner-390-receipt")

    # After finalisation: the outcome on the badge, the history and the explanation.
    finalise(live_app, world)
    page.goto(base + "/usulan/")
    badges = [" ".join(text.split()) for text in page.locator("[data-status]").all_inner_texts()]
    assert sorted(badges) == ["Diprioritaskan · di luar pagu", "Diprioritaskan · didanai dalam pagu"]
    assert fits(page)
    screenshot(page, "owner-390-final-list")
    page.get_by_role("link", name=TITLES[1]).click()
    expect(page.locator("h1 [data-status]")).to_have_text("Diprioritaskan · di luar pagu")
    expect(page.locator("[data-history] li").last).to_contain_text("Diprioritaskan · di luar pagu — peringkat final")
    explanation = page.locator("[data-outside-ceiling]")
    expect(explanation).to_contain_text("Diprioritaskan, tetapi di luar pagu anggaran")
    expect(explanation).to_contain_text("tidak didanai dari anggaran sesi ini")
    assert fits(page)
    assert axe_violations(page) == []
    screenshot(page, "owner-390-final-outside-ceiling")
    assert page.console_errors == []


def test_deleting_a_draft_asks_first_on_a_phone(live_app, page, make_world):
    world = make_world(owner={"email": "pemilik@contoh.id"},
                       proposals=[{"business": "owner", "title": "Draf pameran produk unggulan", "submit": False}])
    base = live_app.config["LIVE_URL"]
    sign_in(page, base, "pemilik@contoh.id", TEST_PASSWORD)
    page.goto(base + f"/usulan/{world.proposals[0]}")
    page.get_by_role("link", name="Hapus draf").click()
    expect(page.get_by_role("heading", name="Hapus draf ini?")).to_be_visible()
    expect(page.locator("[data-confirm-consequences]")).to_have_text(
        "Draf beserta lampirannya dihapus untuk selamanya. Tindakan ini tidak dapat dibatalkan.")
    assert fits(page)
    assert axe_violations(page) == []
    screenshot(page, "owner-390-delete-confirmation")
    page.get_by_role("button", name="Ya, hapus draf").click()
    expect(page.get_by_text("Draf telah dihapus.")).to_be_visible()
    with app_db(live_app) as session:
        assert session.get(Proposal, world.proposals[0]) is None


def test_the_planner_confirms_finalisation_at_desk_width(live_app, browser, make_world):
    world = make_world(planners=[{"email": "perencana@contoh.id", "name": "Perencana"}],
                       title="Musrenbang Tematik IKM Pangan", status=SessionStatus.REVIEW, rated=4,
                       proposals=[{"title": title, "estimated_cost": 30_000_000} for title in TITLES])
    base = live_app.config["LIVE_URL"]
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="id-ID")
    page = context.new_page()
    try:
        sign_in(page, base, "perencana@contoh.id", STAFF_PASSWORD)
        page.goto(base + f"/sesi/{world.session}/peringkat")
        page.get_by_role("link", name="Finalisasi").click()
        expect(page.get_by_role("heading", name="Finalisasi peringkat")).to_be_visible()
        expect(page.locator("[data-confirm-subject]")).to_have_text(
            "Musrenbang Tematik IKM Pangan · Tahun anggaran 2027")
        expect(page.locator("[data-confirm-consequences]")).to_contain_text("Tindakan ini tidak dapat dibatalkan")
        expect(page.get_by_text("2 usulan akan diperingkat.")).to_be_visible()
        assert fits(page)
        assert axe_violations(page) == []
        screenshot(page, "planner-1366-finalise-confirmation")
        page.get_by_role("link", name="Batal").click()
        expect(page).to_have_url(re.compile(rf"/sesi/{world.session}/peringkat$"))
        with app_db(live_app) as session:
            assert session.get(ThemedSession, world.session).status is SessionStatus.REVIEW
        page.get_by_role("link", name="Finalisasi").click()
        page.get_by_label("Ketik FINAL untuk mengonfirmasi").fill("FINAL")
        page.get_by_role("button", name="Finalisasi").click()
        expect(page.get_by_text("difinalkan", exact=False).first).to_be_visible()
        with app_db(live_app) as session:
            assert session.get(ThemedSession, world.session).status is SessionStatus.FINALIZED
    finally:
        context.close()
