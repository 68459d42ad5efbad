"""Paper intake: an empty form lists all it lacks at once; a finalised session says so before typing."""
from __future__ import annotations

from sqlalchemy import func, select

from participation.models import Proposal, SessionStatus, ThemedSession
from tests.conftest import app_db, csrf_token
from tests.intake.test_roster_and_paper import PAPER, world  # noqa: F401 (the fixture)
from tests.proposals.test_form_messages import summary_items


def test_an_empty_paper_form_lists_every_missing_field_at_once(app, client, world):
    sid = world.session
    empty = {name: "" for name in PAPER} | {"scale": "mikro"}
    response = client.post(f"/sesi/{sid}/usulan-kertas",
                           data=empty | {"csrf_token": csrf_token(client, f"/sesi/{sid}/usulan-kertas")})
    assert response.status_code == 400
    assert summary_items(response.get_data(as_text=True)) == [
        "Nomor formulir kertas: Isi nomor yang tercetak pada formulir.",
        "NIB: Isi NIB.",
        "Nama usaha: Isi nama usaha.",
        "Nama pemilik: Isi nama pemilik.",
        "Judul usulan: Isi judul.",
        "Jenis dukungan: Wajib diisi sebelum mengirim.",
        "Permasalahan: Wajib diisi sebelum mengirim.",
        "Uraian kegiatan: Wajib diisi sebelum mengirim.",
        "Perkiraan biaya (Rupiah): Wajib diisi sebelum mengirim.",
        "Penerima manfaat (orang): Wajib diisi sebelum mengirim.",
        "Tenaga kerja baru: Wajib diisi sebelum mengirim.",
    ]
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 0


def test_a_finalised_session_says_before_typing_that_it_takes_no_paper_form(app, client, world):
    sid = world.session
    token = csrf_token(client, f"/sesi/{sid}/usulan-kertas")
    with app_db(app) as session:
        session.get(ThemedSession, sid).status = SessionStatus.FINALIZED
        session.commit()
    page = client.get(f"/sesi/{sid}/usulan-kertas").get_data(as_text=True)
    notice = "Usulan kertas dapat dientri selama musrenbang dibuka atau dalam penilaian."
    assert notice in page
    assert page.index(notice) < page.index("</main>") and 'name="paper_form_number"' not in page
    # A form opened earlier is still refused by the service.
    response = client.post(f"/sesi/{sid}/usulan-kertas", data={**PAPER, "category_id": str(world.categories[0]),
                                                              "csrf_token": token})
    assert response.status_code == 400 and notice in response.get_data(as_text=True)
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 0
