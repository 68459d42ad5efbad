"""axe on the intake pages in the states the journeys do not reach: errors, warnings, badges."""
from __future__ import annotations

from playwright.sync_api import expect
import pytest

from participation.models import Proposal, SessionStatus
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD, TEST_PASSWORD, app_db
from tests.factories import PDF_BYTES

pytestmark = pytest.mark.browser

BAD_BUSINESSES = ("nib,nama_usaha,nama_pemilik,kbli,skala,kelurahan,kecamatan\n"
                  "32010,Usaha NIB Pendek,Ani,1079,raksasa,Sukamaju,Sukamaju\n").encode()
BAD_PROPOSALS = ("nib,nama_usaha,judul,masalah,deskripsi,kategori,perkiraan_biaya,penerima_manfaat,tenaga_kerja_baru\n"
                 "3201019999999,Usaha Tak Dikenal,Mesin,Masalah,Uraian,Lain-lain,gratis,25,3\n").encode()
UNKNOWN_ROSTER = "nib,nama_usaha\n3201019999999,Usaha Tak Dikenal\n".encode()


@pytest.fixture
def world(live_app, make_world):
    """Two near-duplicate proposals of one owner, the first with an attachment."""
    world = make_world(planners=[{"email": "perencana@contoh.id", "name": "Perencana"}],
                       owner={"email": "pemilik@contoh.id", "name": "Pemilik",
                              "business": {"nib": "1234567890123", "name": "Keripik Tempe Bu Siti"}},
                       title="Musrenbang Tematik IKM",
                       proposals=[{"business": "owner", "title": "Mesin pengemas vakum untuk keripik",
                                   "attachment": PDF_BYTES},
                                  {"business": "owner", "title": "Mesin pengemas vakum untuk keripik tempe"}])
    with app_db(live_app) as session:
        assert session.get(Proposal, world.proposals[1]).near_duplicate_of_id == world.proposals[0]
    return world


@pytest.fixture
def draft(make_world, world):
    """The id of a draft session of the same planner."""
    return make_world(planners=[world.planner], status=SessionStatus.DRAFT, title="Musrenbang Tematik Draf").session


def upload(page, data: bytes, filename: str, button: str):
    page.locator("input[type=file]").set_input_files({"name": filename, "mimeType": "text/csv", "buffer": data})
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()


def test_planner_pages_with_warnings_badges_and_error_tables(live_app, page, world, draft):
    base = live_app.config["LIVE_URL"]
    sid = world.session
    sign_in(page, base, "perencana@contoh.id", STAFF_PASSWORD)

    # The proposals list with a near-duplicate badge, and the flagged proposal's page.
    page.goto(base + f"/sesi/{sid}/usulan")
    expect(page.get_by_text("Mirip dengan MT-2027-0001")).to_be_visible()
    assert axe_violations(page) == []
    page.goto(base + f"/usulan/{world.proposals[1]}")
    expect(page.locator(".alert-warning")).to_be_visible()  # the near-duplicate warning
    expect(page.get_by_text("MT-2027-0002").first).to_be_visible()  # the receipt
    assert axe_violations(page) == []
    screenshot(page, "proposal-detail-staff")
    page.goto(base + f"/usulan/{world.proposals[0]}")  # with its attachment link
    expect(page.get_by_role("link", name="penawaran.pdf")).to_be_visible()
    assert axe_violations(page) == []

    # The criterion form, new (draft sessions only) and edit, also with errors.
    for path in (f"/sesi/{draft}/kriteria/baru", f"/sesi/{sid}/kriteria/{world.criteria[0]}"):
        assert page.goto(base + path).status == 200, path
        assert axe_violations(page) == [], path
        page.get_by_label("Bobot").fill("-1")
        page.get_by_role("button", name="Simpan", exact=True).click()
        page.wait_for_load_state()
        expect(page.locator("[data-error-summary]"), path).to_be_visible()
        assert axe_violations(page) == [], path

    # Each import page with its row-level error table.
    page.goto(base + "/impor/usaha")
    upload(page, BAD_BUSINESSES, "usaha.csv", "Impor")
    expect(page.locator(".import-errors table")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "import-businesses-errors")
    page.goto(base + f"/sesi/{sid}/impor-usulan")
    upload(page, BAD_PROPOSALS, "usulan.csv", "Impor")
    expect(page.locator(".import-errors table")).to_be_visible()
    assert axe_violations(page) == []

    # The roster after a refused import: the file's unknown business is reported by row.
    page.goto(base + f"/sesi/{sid}/undangan")
    upload(page, UNKNOWN_ROSTER, "undangan.csv", "Impor dan undang")
    expect(page.locator(".import-errors table")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "roster-import-errors")

    # An import page of a session that takes no imported proposals.
    page.goto(base + f"/sesi/{draft}/impor-usulan")
    expect(page.locator(".alert-warning")).to_be_visible()
    assert axe_violations(page) == []
    assert page.console_errors == []


def test_owner_proposal_page_with_receipt_and_history(live_app, page, world):
    base = live_app.config["LIVE_URL"]
    sign_in(page, base, "pemilik@contoh.id", TEST_PASSWORD)
    page.goto(base + f"/usulan/{world.proposals[0]}")
    assert page.locator(".alert-success strong").inner_text() == "MT-2027-0001"
    expect(page.get_by_role("heading", name="Riwayat status")).to_be_visible()
    assert axe_violations(page) == []
    with app_db(live_app) as session:
        assert session.get(Proposal, world.proposals[0]).attachment_name == "penawaran.pdf"
    assert page.console_errors == []
