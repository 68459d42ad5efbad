"""Facilitators: the invitation roster, paper intake and numbered blank forms."""
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from participation.models import Business, Invitation, Proposal, ProposalSource, ThemedSession
from tests.conftest import app_db, csrf_token, post_form
from tests.factories import make_business
from tests.intake.test_imports import HEADER, csv_bytes, xlsx_bytes

PAPER = {
    "paper_form_number": "F1-0001",
    "nib": "3201 0101 2345 6",
    "business_name": "CV. Batik  Sekar Jagad",
    "owner_name": "Sri Handayani",
    "phone": "0812 1111 2222",
    "scale": "kecil",
    "kbli_codes": "13134",
    "title": "Pelatihan pewarnaan alami untuk perajin batik",
    "category_id": None,
    "problem": "Pewarna sintetis mahal dan mencemari sungai.",
    "description": "Pelatihan tiga hari untuk dua puluh perajin.",
    "estimated_cost": "30.000.000",
    "beneficiaries": "20",
    "jobs_created": "0",
    "kelurahan": "Kauman",
    "kecamatan": "Karanganyar",
}


@pytest.fixture
def world(make_world, login_as):
    """An open session, a known business not yet on its roster, the facilitator signed in."""
    world = make_world(facilitator=True, businesses=[{"nib": "3201010123456", "name": "Batik Sekar Jagad"}])
    login_as(world.facilitator)
    return world


def test_facilitator_searches_and_invites_then_removes(app, client, world):
    with app_db(app) as session:
        other = make_business(nib="1111111111111", name="Mebel Jati Makmur")
        other_id = other.id
        session.commit()
    page = client.get(f"/sesi/{world.session}/undangan?cari=jati").get_data(as_text=True)
    assert "Mebel Jati Makmur" in page and "Batik Sekar Jagad" not in page
    response = post_form(client, f"/sesi/{world.session}/undangan",
                         {"business_id": [str(other_id), str(world.businesses[0])]},
                         token_from=f"/sesi/{world.session}/undangan")
    assert response.status_code == 303
    with app_db(app) as session:
        invitations = session.scalars(select(Invitation).where(Invitation.session_id == world.session)).all()
        assert {i.business_id for i in invitations} == {other_id, world.businesses[0]}
        invitation_id = next(i.id for i in invitations if i.business_id == other_id)
    # Inviting again changes nothing.
    post_form(client, f"/sesi/{world.session}/undangan", {"business_id": str(other_id)},
              token_from=f"/sesi/{world.session}/undangan")
    assert post_form(client, f"/sesi/{world.session}/undangan/{invitation_id}/hapus", {},
                     token_from=f"/sesi/{world.session}/undangan").status_code == 303
    with app_db(app) as session:
        assert session.scalar(select(func.count(Invitation.id))) == 1


def paper(client, world, **changes):
    data = {**PAPER, "category_id": str(world.categories[3]), **changes}
    return post_form(client, f"/sesi/{world.session}/usulan-kertas", data)


def test_paper_form_matches_the_known_business_by_nib_and_normalised_name(app, client, world):
    response = paper(client, world)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/sesi/{world.session}/usulan-kertas?nomor=F1-0002")
    with app_db(app) as session:
        [proposal] = session.scalars(select(Proposal)).all()
        assert proposal.business_id == world.businesses[0]
        assert (proposal.source, proposal.paper_form_number, proposal.receipt_number) == (
            ProposalSource.PAPER, "F1-0001", "MT-2027-0001")
        assert session.get(Business, world.businesses[0]).kbli_list == ["10794", "13134"]
        invitation = session.scalar(select(Invitation))
        assert invitation.business_id == world.businesses[0] and invitation.walk_in
    next_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="F1-0002"' in next_page and "F1-0001" in next_page  # flash names the saved form


@pytest.mark.parametrize("written", ["C.V. Batik Sekar Jagad", "CV Batik Sekar Jagad", "c v batik sekar jagad"])
def test_paper_form_matches_a_dotted_legal_prefix(app, client, world, written):
    assert paper(client, world, business_name=written).status_code == 303
    with app_db(app) as session:
        assert session.scalar(select(Proposal.business_id)) == world.businesses[0]
        assert session.scalar(select(func.count(Business.id))) == 1


def test_paper_form_creates_an_unknown_business_without_an_account(app, client, world):
    assert paper(client, world, nib="3201019999999", business_name="Tenun Ikat Ina").status_code == 303
    with app_db(app) as session:
        business = session.scalar(select(Business).where(Business.nib == "3201019999999"))
        assert business.user_id is None and business.name == "Tenun Ikat Ina" and business.phone == "+6281211112222"


def test_a_paper_form_is_entered_only_once(app, client, world):
    paper(client, world)
    response = paper(client, world, title="Judul lain untuk formulir yang sama")
    assert response.status_code == 400
    assert "Formulir ini sudah dientri sebagai MT-2027-0001." in response.get_data(as_text=True)
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 1


@pytest.mark.parametrize("field,value,message", [
    ("nib", "123", "NIB harus tepat 13 digit angka."),
    ("paper_form_number", "", "Isi nomor yang tercetak pada formulir."),
    ("owner_name", "", "Isi nama pemilik."),
    ("estimated_cost", "", "Wajib diisi sebelum mengirim."),
    ("phone", "12345", "Isi nomor telepon yang diawali 08 atau +62"),
    ("phone", "(0274) 512-345", "Isi nomor telepon yang diawali 08 atau +62"),
])
def test_paper_form_errors_keep_the_typed_data(app, client, world, field, value, message):
    response = paper(client, world, **{field: value})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and message in body
    assert 'value="Pelatihan pewarnaan alami untuk perajin batik"' in body
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 0
        assert session.scalar(select(func.count(Business.id))) == 1


def test_blank_forms_are_numbered_a4_pages(app, client, world):
    response = post_form(client, f"/sesi/{world.session}/formulir-kosong", {"count": "3"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 3
    for number, page in enumerate(reader.pages, start=1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (595, 842)  # A4 in points
        text = page.extract_text()
        assert f"F{world.session}-{number:04d}" in text and "Formulir usulan" in text
        assert f"Halaman {number} dari 3" in text
    fonts = {str(font) for page in reader.pages for font in _fonts(page)}
    assert any("DejaVu" in font for font in fonts)
    # The next batch continues the numbering.
    response = post_form(client, f"/sesi/{world.session}/formulir-kosong", {"count": "1"})
    assert f"F{world.session}-0004" in PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    with app_db(app) as session:
        assert session.get(ThemedSession, world.session).paper_forms_printed == 4


def _fonts(page):
    resources = page.get("/Resources") or {}
    for font in (resources.get("/Font") or {}).values():
        yield font.get_object().get("/BaseFont")


def test_blank_form_count_is_validated(app, client, world):
    for value in ("0", "501", "banyak", "-3"):
        response = post_form(client, f"/sesi/{world.session}/formulir-kosong", {"count": value})
        assert response.status_code == 400


def test_pdf_rendering_never_fetches_remote_urls(app):
    """Text that smuggles in a remote image or stylesheet is rendered without any fetch."""
    from participation.pdf import static_only_fetcher
    from weasyprint import HTML

    with app.test_request_context():
        fetcher = static_only_fetcher()
        HTML(string='<link rel="stylesheet" href="https://cdn.example/x.css">'
                    '<img src="http://127.0.0.1:9/steal.png"><img src="file:///etc/passwd">'
                    '<img src="/static/../app.py"><img src="/static/favicon.svg"><p>x</p>',
             base_url="file:///__document__/", url_fetcher=fetcher).write_pdf()
    assert fetcher.refused == ["https://cdn.example/x.css", "http://127.0.0.1:9/steal.png",
                               "file:///etc/passwd", "file:///app.py"]


def roster_file(fmt: str, header: list[str], rows: list[list]) -> tuple[bytes, str]:
    if fmt == "csv":
        return csv_bytes(*[",".join(row) for row in rows], header=",".join(header)), "undangan.csv"
    return xlsx_bytes(header, rows), "undangan.xlsx"


def import_roster(client, world, data: bytes, filename: str):
    url = f"/sesi/{world.session}/undangan"
    return client.post(url + "/impor", data={"csrf_token": csrf_token(client, url),
                                             "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def invited(app, world) -> set[int]:
    with app_db(app) as session:
        return set(session.scalars(select(Invitation.business_id).where(Invitation.session_id == world.session)))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_roster_import_invites_registered_businesses_and_reports_unknown_rows(app, client, world, fmt):
    with app_db(app) as session:
        other = make_business(nib="1111111111111", name="UD Mebel Jati Makmur").id
        session.commit()
    header = ["NIB", "Nama Usaha"]
    rows = [["3201010123456", "C.V. Batik Sekar Jagad"],  # the known business, written another way
            ["1111 1111 1111 1", "Mebel Jati Makmur"],
            ["3201019999999", "Usaha Tak Dikenal"],  # not registered
            ["32010", "Usaha NIB Pendek"]]
    response = import_roster(client, world, *roster_file(fmt, header, rows))
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Ditemukan 2 masalah; tidak ada yang diimpor." in body
    assert "<td>4</td><td><code>nib</code></td><td>Tidak ada usaha dengan NIB dan nama ini" in body
    assert "<td>5</td><td><code>nib</code></td><td>NIB harus tepat 13 digit angka.</td>" in body
    assert invited(app, world) == set()  # all or nothing

    response = import_roster(client, world, *roster_file(fmt, header, rows[:2] + rows[:1]))
    assert response.status_code == 303
    assert invited(app, world) == {world.businesses[0], other}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 baris dibaca, 0 usaha baru, 2 ditambahkan ke daftar undangan." in page
    with app_db(app) as session:
        assert session.scalar(select(func.count(Business.id))) == 2  # nothing created


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_roster_import_from_a_business_file_creates_and_invites_all_or_nothing(app, client, world, fmt):
    header = HEADER.split(",")
    good = [["3201010123456", "CV. Batik Sekar Jagad", "Sri Handayani", "13134", "kecil", "Kauman", "Karanganyar",
             "", ""],
            ["3201010000001", "Keripik Tempe Bu Siti", "Siti Aminah", "10794", "mikro", "Sukamaju", "Sukamaju",
             "0812-1111-0001", "halal"]]
    bad = good + [["3201010000002", "Usaha Skala Aneh", "Ani", "10794", "raksasa", "Sukamaju", "Sukamaju", "", ""]]
    response = import_roster(client, world, *roster_file(fmt, header, bad))
    assert response.status_code == 400
    assert "<td>4</td><td><code>skala</code></td>" in response.get_data(as_text=True)
    assert invited(app, world) == set()
    with app_db(app) as session:
        assert session.scalar(select(func.count(Business.id))) == 1

    assert import_roster(client, world, *roster_file(fmt, header, good)).status_code == 303
    with app_db(app) as session:
        keripik = session.scalar(select(Business.id).where(Business.nib == "3201010000001"))
        assert session.scalar(select(func.count(Business.id))) == 2  # the known one matched
    assert invited(app, world) == {world.businesses[0], keripik}


def test_roster_import_refuses_a_file_without_the_name_column(app, client, world):
    response = import_roster(client, world, csv_bytes("3201010123456", header="nib"), "undangan.csv")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "<td>1</td><td><code>nama_usaha</code></td><td>Kolom wajib tidak ada.</td>" in body
