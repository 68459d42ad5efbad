"""A facilitator checks people in, adds a walk-in with a paper proposal, records votes, prints."""
from __future__ import annotations

from datetime import datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from participation.models import Invitation, Proposal, ProposalSource, Role, SessionStatus, User
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD, app_db
from tests.factories import as_actor, make_business, make_proposal, make_session, rate_all

pytestmark = pytest.mark.browser


@pytest.fixture
def world(live_app):
    from participation.auth.passwords import hash_password
    from participation.intake.services import invite

    with app_db(live_app) as session:
        planner = User(email="perencana@contoh.id", name="Dedi Kurniawan", role=Role.PLANNER,
                       password_hash=hash_password(STAFF_PASSWORD))
        facilitator = User(email="fasilitator@contoh.id", name="Maya Lestari", role=Role.FACILITATOR,
                           password_hash=hash_password(STAFF_PASSWORD))
        session.add_all([planner, facilitator])
        session.flush()
        themed_session = make_session(planner, members=[facilitator], title="Musrenbang Tematik IKM",
                                      venue="Aula Bappeda", meeting_start=datetime(2027, 2, 12, 2, 0))
        businesses = []
        for n, name in enumerate(["Batik Sekar Jagad", "Keripik Tempe Bu Siti", "Mebel Jati Makmur"]):
            business = make_business(nib=f"{3201000000001 + n}", name=name)
            businesses.append(business)
            make_proposal(themed_session, business, title=f"Usulan {name}", estimated_cost=(20 + 10 * n) * 1_000_000,
                          category_id=themed_session.categories[n].id)
        invite(themed_session, [b.id for b in businesses], as_actor(facilitator))
        rate_all(themed_session, [planner], value=lambda p, c, u: 2 + (p.id + c.id) % 3)
        themed_session.status = SessionStatus.REVIEW
        session.commit()
        return {"session": themed_session.id, "category": themed_session.categories[5].name}


def test_facilitator_meeting_journey(live_app, page, world):
    base, sid = live_app.config["LIVE_URL"], world["session"]
    sign_in(page, base, "fasilitator@contoh.id", STAFF_PASSWORD)

    # Check-in at the door: two invitees, found by name and by NIB.
    page.goto(base + f"/sesi/{sid}/hadir")
    assert page.locator("#attendance-counter").inner_text().startswith("0 hadir")
    assert axe_violations(page) == []
    page.get_by_label("Cari berdasarkan nama, pemilik, atau NIB").fill("sekar")
    page.get_by_role("button", name="Cari", exact=True).click()
    page.get_by_role("button", name="Catat kehadiran Batik Sekar Jagad").click()
    assert page.get_by_text("Batik Sekar Jagad tercatat hadir.").is_visible()
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
    page.get_by_label("Jenis dukungan").select_option(label=world["category"])
    page.get_by_label("Perkiraan biaya (Rupiah)").fill("15.000.000")
    page.get_by_label("Penerima manfaat (orang)").fill("25")
    page.get_by_label("Tenaga kerja baru").fill("2")
    page.get_by_label("Kelurahan").fill("Kauman")
    page.get_by_label("Kecamatan").fill("Karanganyar")
    page.get_by_role("button", name="Simpan dan entri formulir berikutnya").click()
    assert page.get_by_text("Formulir kertas F1-0001 disimpan sebagai MT-").is_visible()

    # Votes counted in the room.
    page.goto(base + f"/sesi/{sid}/suara")
    for n, field in enumerate(page.locator("input.vote-input").all()):
        field.fill(str(10 + n))
    page.get_by_role("button", name="Simpan suara").click()
    assert page.get_by_text("Suara telah disimpan.").is_visible()

    # The agenda, laid out from the template.
    page.goto(base + f"/sesi/{sid}/acara")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Susun dari templat").click()
    assert page.get_by_text("Susunan acara telah disusun dari templat.").is_visible()
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
