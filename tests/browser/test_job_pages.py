"""Background jobs as their users see them: a large import and a large print, followed to their result."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from participation import jobs
from participation.extensions import db
from participation.models import Category
from tests.browser.conftest import axe_violations, pass_two_factor, screenshot
from tests.conftest import STAFF_PASSWORD, app_db

pytestmark = pytest.mark.browser

HEADER = "nib,nama_usaha,judul,masalah,deskripsi,kategori,perkiraan_biaya,penerima_manfaat,tenaga_kerja_baru\n"


def sign_in(page, base: str, email: str) -> None:
    page.goto(base + "/masuk")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Kata sandi").fill(STAFF_PASSWORD)
    page.press("input[name=password]", "Enter")
    pass_two_factor(page, email)
    page.wait_for_url(base + "/")


def fits(page) -> bool:
    """No sideways scrolling at the current width."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def run_jobs(app) -> None:
    with app.app_context():
        assert jobs.run_due() == 1
        db.session.remove()


def test_a_planner_follows_a_large_import_to_its_result(live_app, page, make_world, make_user):
    base = live_app.config["LIVE_URL"]
    live_app.config["IMPORT_INLINE_ROWS"] = 2
    world = make_world(planners=[{"email": "perencana@contoh.id"}],
                       businesses=[{"nib": f"{3_201_000_000_000 + n}", "name": f"Usaha {n}"} for n in range(3)])
    with app_db(live_app) as session:
        category = session.get(Category, world.categories[0]).name
    rows = "".join(f"{3_201_000_000_000 + n},Usaha {n},Pelatihan pemasaran daring {n},Masalah,Deskripsi,{category},"
                   f"20000000,10,2\n" for n in range(3))
    sign_in(page, base, "perencana@contoh.id")
    page.goto(base + f"/sesi/{world.session}/impor-usulan")
    page.get_by_label("Berkas CSV atau XLSX").set_input_files(
        files=[{"name": "usulan.csv", "mimeType": "text/csv", "buffer": (HEADER + rows).encode()}])
    page.get_by_role("button", name="Impor").click()

    expect(page.get_by_role("heading", name="Impor usulan")).to_be_visible()
    expect(page.get_by_text("Menunggu", exact=True)).to_be_visible()
    expect(page.get_by_text("Pekerjaan sudah diantrekan dan segera dimulai.")).to_be_visible()
    assert fits(page)
    assert axe_violations(page) == []
    screenshot(page, "job-import-waiting-390")

    run_jobs(live_app)
    page.reload()
    expect(page.get_by_text("Selesai", exact=True)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("3 usulan diimpor dan dikirim; 0 tampak mirip usulan lain.")
    assert page.locator("[data-job-status]").count() == 0  # a finished job is not followed any more
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 1366, "height": 800})
    assert fits(page)
    screenshot(page, "job-import-done-1366")
    page.get_by_role("link", name="Kembali").click()
    expect(page.get_by_text("Pelatihan pemasaran daring 2")).to_be_visible()
    assert page.console_errors == []


def test_a_facilitator_prepares_a_print_of_many_letters(live_app, page, make_world):
    base = live_app.config["LIVE_URL"]
    live_app.config["DOCUMENTS_INLINE_LETTERS"] = 1
    world = make_world(facilitator={"email": "fasilitator@contoh.id"}, invited=True,
                       businesses=[{"nib": "3201000000001", "name": "Usaha Satu"},
                                   {"nib": "3201000000002", "name": "Usaha Dua"}])
    sign_in(page, base, "fasilitator@contoh.id")
    page.goto(base + f"/sesi/{world.session}/dokumen")
    page.get_by_role("link", name="PDF Undangan").click()
    expect(page.get_by_role("heading", name="Undangan (PDF)")).to_be_visible()
    assert fits(page)
    assert axe_violations(page) == []
    screenshot(page, "job-print-prepare-390")
    page.get_by_role("button", name="Siapkan PDF").click()
    expect(page.get_by_role("heading", name="Menyiapkan dokumen")).to_be_visible()

    run_jobs(live_app)
    page.reload()
    expect(page.get_by_role("status")).to_have_text("PDF sudah siap.")
    with page.expect_download() as download_info:
        page.get_by_role("link", name=f"Unduh invitations-sesi-{world.session}.pdf").click()
    download = download_info.value
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert fits(page)
    screenshot(page, "job-print-done-390")
    assert page.console_errors == []
