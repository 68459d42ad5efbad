"""A facilitator checks people in, adds a walk-in with a paper proposal, records votes, prints."""
from __future__ import annotations

from datetime import datetime

from playwright.sync_api import expect
import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from participation.models import Category, Invitation, Proposal, ProposalSource, SessionStatus
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD, app_db

pytestmark = pytest.mark.browser


@pytest.fixture
def world(make_world):
    return make_world(
        planners=[{"email": "perencana@contoh.id", "name": "Dedi Kurniawan"}],
        facilitator={"email": "fasilitator@contoh.id", "name": "Maya Lestari"}, status=SessionStatus.REVIEW,
        title="Musrenbang Tematik IKM", venue="Aula Bappeda", meeting_start=datetime(2027, 2, 12, 2, 0),
        invited=True, rated=lambda p, c, u: 2 + (p.id + c.id) % 3,
        proposals=[{"business": {"nib": f"{3201000000001 + n}", "name": name}, "title": f"Usulan {name}",
                    "estimated_cost": (20 + 10 * n) * 1_000_000, "category": n}
                   for n, name in enumerate(["Batik Sekar Jagad", "Keripik Tempe Bu Siti", "Mebel Jati Makmur"])])


def test_facilitator_meeting_journey(live_app, page, world):
    base, sid = live_app.config["LIVE_URL"], world.session
    with app_db(live_app) as session:
        category = session.get(Category, world.categories[5]).name  # one no proposal is in yet
    sign_in(page, base, "fasilitator@contoh.id", STAFF_PASSWORD)

    # Check-in at the door: two invitees, found by name and by NIB.
    page.goto(base + f"/sesi/{sid}/hadir")
    assert page.locator("#attendance-counter").inner_text().startswith("0 hadir")
    assert axe_violations(page) == []
    page.get_by_label("Cari berdasarkan nama, pemilik, atau NIB").fill("sekar")
    page.get_by_role("button", name="Cari", exact=True).click()
    page.get_by_role("button", name="Catat kehadiran Batik Sekar Jagad").click()
    expect(page.get_by_text("Batik Sekar Jagad tercatat hadir.")).to_be_visible()
    page.get_by_label("Cari berdasarkan nama, pemilik, atau NIB").fill("3201000000002")
    page.get_by_role("button", name="Cari", exact=True).click()
    page.get_by_role("button", name="Catat kehadiran Keripik Tempe Bu Siti").click()
    assert page.locator("#attendance-counter").inner_text().startswith("2 hadir")

    # A walk-in: registered, present, then their paper proposal.
    page.get_by_label("NIB", exact=True).fill("3578010199999")
    page.get_by_label("Nama usaha").fill("Kerupuk Ikan Bu Darmi")
    page.get_by_label("Nama pemilik").fill("Darmi Lestari")
    page.get_by_role("button", name="Daftarkan dan catat hadir").click()
    assert page.locator("#attendance-counter").inner_text().startswith("3 hadir")
    assert axe_violations(page) == []
    screenshot(page, "facilitator-checkin")
    page.get_by_role("link", name="Masukkan usulan kertasnya").click()
    assert page.get_by_label("Nama usaha").input_value() == "Kerupuk Ikan Bu Darmi"
    page.get_by_label("Nomor formulir kertas").fill("F1-0001")
    page.get_by_label("Judul usulan").fill("Pelatihan pengemasan kerupuk untuk pelaku mikro")
    page.get_by_label("Permasalahan").fill("Kemasan mudah rusak sehingga produk tidak tahan lama.")
    page.get_by_label("Uraian kegiatan").fill("Pelatihan dua hari dan bantuan alat sealer.")
    page.get_by_label("Jenis dukungan").select_option(label=category)
    page.get_by_label("Perkiraan biaya (Rupiah)").fill("15.000.000")
    page.get_by_label("Penerima manfaat (orang)").fill("25")
    page.get_by_label("Tenaga kerja baru").fill("2")
    page.get_by_label("Kelurahan").fill("Kauman")
    page.get_by_label("Kecamatan").fill("Karanganyar")
    page.get_by_role("button", name="Simpan dan entri formulir berikutnya").click()
    expect(page.get_by_text("Formulir kertas F1-0001 disimpan sebagai MT-")).to_be_visible()

    # Votes counted in the room.
    page.goto(base + f"/sesi/{sid}/suara")
    for n, field in enumerate(page.locator("input.vote-input").all()):
        field.fill(str(10 + n))
    page.get_by_role("button", name="Simpan suara").click()
    expect(page.get_by_text("Suara telah disimpan.")).to_be_visible()

    # The agenda, laid out from the template.
    page.goto(base + f"/sesi/{sid}/acara")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Susun dari templat").click()
    expect(page.get_by_text("Susunan acara telah disusun dari templat.")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "facilitator-agenda-builder")

    # Download the agenda and the minutes.
    page.goto(base + f"/sesi/{sid}/dokumen")
    assert axe_violations(page) == []
    pdfs = {}
    for name in ("Susunan acara", "Berita acara"):
        with page.expect_download() as download_info:
            page.get_by_role("link", name=f"PDF {name}").click()
        pdfs[name] = PdfReader(download_info.value.path())
    assert len(pdfs["Susunan acara"].pages) == 1
    minutes = " ".join(" ".join(p.extract_text().split()) for p in pdfs["Berita acara"].pages)
    assert "dihadiri oleh 2 dari 3 pelaku usaha yang diundang dan 1 pelaku usaha yang datang tanpa undangan" in minutes
    with app_db(live_app) as session:
        paper = session.scalar(select(Proposal).where(Proposal.source == ProposalSource.PAPER))
        assert paper.business.name == "Kerupuk Ikan Bu Darmi" and paper.receipt_number in minutes
        assert session.scalar(select(func.count()).where(Invitation.attended.is_(True))) == 3
        assert sorted(session.scalars(select(Proposal.votes))) == [10, 11, 12, 13]
    assert page.console_errors == []
