"""The SIPD fields as a planner and an owner meet them, on a phone (390 px) and a desktop (1366 px):
a wrong code said in Indonesian on its field with the summary focused, what was typed kept, no
sideways scrolling, no axe violation; the ranked list's SIPD button downloads the workbook."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from participation.models import SessionStatus, ThemedSession
from tests.browser.conftest import screenshot
from tests.browser.test_form_pages import expect_focused_summary, fits
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD, TEST_PASSWORD, app_db

pytestmark = pytest.mark.browser
WIDTHS = (390, 1366)


@pytest.fixture
def world(make_world):
    return make_world(planners=[{"email": "perencana@contoh.id", "name": "Rina Perencana"}],
                      owner={"email": "pemilik@contoh.id", "name": "Siti Aminah"}, status=SessionStatus.REVIEW,
                      budget_ceiling=100_000_000, rated=4,
                      proposals=[{"title": "Mesin pengemas vakum", "volume": 2.0, "satuan": "unit"}])


@pytest.mark.parametrize("width", WIDTHS)
def test_a_planner_types_the_sipd_codes_of_a_category_and_a_proposal(live_app, page, world, width):
    base, sid = live_app.config["LIVE_URL"], world.session
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, base, "perencana@contoh.id", STAFF_PASSWORD)
    page.goto(base + f"/sesi/{sid}")
    page.get_by_role("link", name="Kode SIPD Bantuan peralatan").click()
    page.get_by_label("Kode SKPD").fill("2.17.3.30.0.00.01")
    page.get_by_label("Nama SKPD").fill("Dinas Koperasi dan UKM")
    page.get_by_label("Kode sub kegiatan").fill("2.17.07.2.01.0001")
    page.get_by_role("button", name="Simpan").click()
    summary = expect_focused_summary(page)
    message = ("Tulis kode SKPD seperti di SIPD: delapan kelompok angka yang dipisahkan titik, "
               "misalnya 7.01.0.00.0.00.01.0000.")
    assert summary.inner_text().splitlines()[1:] == [f"Kode SKPD: {message}"]
    expect(page.locator("#kode_skpd-error")).to_have_text(message)
    assert page.get_by_label("Nama SKPD").input_value() == "Dinas Koperasi dan UKM"
    assert page.get_by_label("Kode sub kegiatan").input_value() == "2.17.07.2.01.0001"
    fits(page, width)
    screenshot(page, f"sipd-category-wrong-code-{width}")
    page.get_by_label("Kode SKPD").fill("2.17.3.30.0.00.01.0000")
    page.get_by_role("button", name="Simpan").click()
    expect(page.get_by_text("Kode SIPD “Bantuan peralatan” telah disimpan.")).to_be_visible()
    expect(page.get_by_text("2.17.3.30.0.00.01.0000 · 2.17.07.2.01.0001")).to_be_visible()
    # The proposal's decision page shows the default and takes an override.
    page.goto(base + f"/sesi/{sid}/keputusan/{world.proposals[0]}")
    current = page.locator("[data-sipd=current]")
    expect(current).to_contain_text("2.17.3.30.0.00.01.0000 Dinas Koperasi dan UKM")
    page.get_by_label("Kode sub kegiatan").fill("7.01.02.2.1.0001")
    page.get_by_role("button", name="Simpan kode SIPD").click()
    summary = expect_focused_summary(page)
    assert summary.inner_text().splitlines()[1].startswith(
        "Kode sub kegiatan: Tulis kode sub kegiatan sesuai Permendagri 90/2019")
    fits(page, width)
    screenshot(page, f"sipd-override-wrong-code-{width}")
    page.get_by_label("Kode sub kegiatan").fill("7.01.02.2.01.0001")
    page.get_by_label("Nama sub kegiatan").fill("Pemberdayaan masyarakat kelurahan")
    page.get_by_role("button", name="Simpan kode SIPD").click()
    expect(current).to_contain_text("7.01.02.2.01.0001 Pemberdayaan masyarakat kelurahan")
    fits(page, width)
    screenshot(page, f"sipd-override-saved-{width}")
    # The ranked list's button downloads the funded proposals in SIPD's layout.
    page.goto(base + f"/sesi/{sid}/peringkat")
    with page.expect_download() as download:
        page.get_by_role("link", name="SIPD (XLSX)").click()
    sheet = load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))["usulan"]
    row = {header.value: cell.value for header, cell in zip(sheet[1], sheet[2], strict=True)}
    assert (row["kode_skpd"], row["kode_sub_giat"]) == ("2.17.3.30.0.00.01.0000", "7.01.02.2.01.0001")
    assert (row["volume"], row["satuan"]) == (2, "unit")


@pytest.mark.parametrize("width", WIDTHS)
def test_an_owner_gives_a_quantity_and_a_unit(live_app, page, world, width):
    base, sid = live_app.config["LIVE_URL"], world.session
    with app_db(live_app) as session:
        session.get(ThemedSession, sid).status = SessionStatus.OPEN
        session.commit()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, base, "pemilik@contoh.id", TEST_PASSWORD)
    page.goto(base + f"/usulan/baru/{sid}")
    expect(page.locator("label[for=volume] + span")).to_have_text("(opsional)")
    page.get_by_label("Judul usulan").fill("Sertifikasi halal untuk keripik")
    page.get_by_label("Volume").fill("nol")
    page.get_by_label("Satuan").fill("sertifikat")
    page.get_by_role("button", name="Simpan draf").click()
    summary = expect_focused_summary(page)
    assert summary.inner_text().splitlines()[1:] == [
        "Volume: Isi volume lebih dari nol dengan paling banyak dua desimal, misalnya 20 atau 1,5."]
    assert page.get_by_label("Satuan").input_value() == "sertifikat"
    fits(page, width)
    screenshot(page, f"proposal-form-volume-{width}")
    page.get_by_label("Volume").fill("20")
    page.get_by_role("button", name="Simpan draf").click()
    expect(page.locator("[data-figure=volume]")).to_have_text("20 sertifikat")
    fits(page, width)
