"""An owner drafts, submits, edits, withdraws and reads the history; staff pages pass axe."""
from __future__ import annotations

from playwright.sync_api import expect
import pytest
from sqlalchemy import select

from participation.models import Proposal, ProposalStatus
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.conftest import pass_two_factor
from tests.conftest import STAFF_PASSWORD, TEST_PASSWORD, app_db

pytestmark = pytest.mark.browser


@pytest.fixture
def world(make_world):
    return make_world(planners=[{"email": "perencana@contoh.id", "name": "Perencana"}],
                      facilitator={"email": "fasilitator@contoh.id", "name": "Fasilitator"},
                      owner={"email": "pemilik@contoh.id", "name": "Pemilik",
                             "business": {"nib": "1234567890123", "name": "Keripik Tempe Bu Siti"}},
                      title="Musrenbang Tematik IKM")


def sign_in(page, base, email, password):
    page.goto(base + "/masuk")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk", exact=True).click()
    pass_two_factor(page, email)


def fill_proposal(page, title, cost="45.000.000"):
    page.get_by_label("Judul usulan").fill(title)
    page.get_by_label("Jenis dukungan").select_option(label="Bantuan peralatan")
    page.get_by_label("Permasalahan").fill("Keripik cepat lembek karena dikemas manual.")
    page.get_by_label("Uraian kegiatan").fill("Satu mesin pengemas vakum untuk dipakai bersama.")
    page.get_by_label("Perkiraan biaya (Rupiah)").fill(cost)
    page.get_by_label("Penerima manfaat (orang)").fill("25")
    page.get_by_label("Tenaga kerja baru").fill("3")


def test_owner_drafts_submits_edits_withdraws_and_reads_the_history(live_app, page, world):
    base = live_app.config["LIVE_URL"]
    sign_in(page, base, "pemilik@contoh.id", TEST_PASSWORD)
    page.goto(base + "/usulan/")
    expect(page.get_by_text("Musrenbang Tematik IKM")).to_be_visible()
    assert axe_violations(page) == []

    # A draft with only a title.
    page.get_by_role("link", name="Tulis usulan").click()
    page.get_by_label("Judul usulan").fill("Mesin pengemas vakum untuk keripik")
    page.get_by_role("button", name="Simpan draf").click()
    expect(page.get_by_text("Draf Anda telah disimpan.")).to_be_visible()
    expect(page.get_by_text("Draf ini masih memerlukan")).to_be_visible()
    screenshot(page, "proposal-draft")

    # Complete it and submit: a receipt number.
    page.get_by_role("link", name="Ubah").click()
    fill_proposal(page, "Mesin pengemas vakum untuk keripik")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Kirim usulan").click()
    receipt = page.locator(".alert-success strong").first.inner_text()
    assert receipt == "MT-2027-0001"
    screenshot(page, "proposal-submitted")

    # Edit the submitted proposal.
    page.get_by_role("link", name="Ubah").click()
    page.get_by_label("Perkiraan biaya (Rupiah)").fill("Rp 52.750.000")
    page.get_by_role("button", name="Simpan perubahan").click()
    expect(page.get_by_text("Perubahan Anda telah disimpan.")).to_be_visible()
    expect(page.get_by_text("Rp52.750.000")).to_be_visible()

    # A second proposal, submitted straight away, then withdrawn.
    page.goto(base + "/usulan/")
    page.get_by_role("link", name="Tulis usulan").click()
    fill_proposal(page, "Pelatihan pemasaran daring untuk perajin", cost="15.000.000")
    page.get_by_role("button", name="Kirim usulan").click()
    assert page.locator(".alert-success strong").first.inner_text() == "MT-2027-0002"
    page.get_by_role("link", name="Tarik usulan").click()  # asks first, on a page of its own
    expect(page.get_by_role("heading", name="Tarik usulan ini?")).to_be_visible()
    page.get_by_role("button", name="Ya, tarik usulan").click()
    expect(page.get_by_text("Usulan MT-2027-0002 telah ditarik.")).to_be_visible()

    # The list shows both with their history.
    page.goto(base + "/usulan/")
    page.locator("summary", has_text="Riwayat status").nth(0).click()
    page.locator("summary", has_text="Riwayat status").nth(1).click()
    expect(page.get_by_text("Ditarik").first).to_be_visible()
    screenshot(page, "my-proposals")
    assert axe_violations(page) == []
    assert page.console_errors == []
    with app_db(live_app) as session:
        first, second = session.scalars(select(Proposal).order_by(Proposal.id)).all()
        assert (first.status, first.estimated_cost) == (ProposalStatus.SUBMITTED, 52_750_000)
        assert second.status is ProposalStatus.WITHDRAWN
        assert [c.to_status.value for c in second.history] == ["draft", "submitted", "withdrawn"]


def test_staff_pages_have_no_accessibility_violations(live_app, page, world):
    base = live_app.config["LIVE_URL"]
    sid = world.session
    sign_in(page, base, "perencana@contoh.id", STAFF_PASSWORD)
    for path in ("/sesi/", f"/sesi/{sid}", f"/sesi/{sid}/ubah", f"/sesi/{sid}/bobot", "/sesi/baru",
                 f"/sesi/{sid}/usulan", f"/sesi/{sid}/undangan?cari=keripik", f"/sesi/{sid}/usulan-kertas",
                 f"/sesi/{sid}/formulir-kosong", "/impor/usaha", f"/sesi/{sid}/impor-usulan"):
        response = page.goto(base + path)
        assert response.status == 200, path
        assert axe_violations(page) == [], path
    page.goto(base + f"/sesi/{sid}")
    screenshot(page, "session-detail")
    # The paper intake form with errors, as a facilitator types a stack of forms.
    page.goto(base + f"/sesi/{sid}/usulan-kertas")
    page.get_by_role("button", name="Simpan dan entri formulir berikutnya").click()
    expect(page.locator("[data-error-summary]")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "paper-intake-errors")
    assert page.console_errors == []
