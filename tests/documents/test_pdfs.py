"""The four meeting documents as PDFs: A4, embedded fonts, page x of y, and what each must show."""
from __future__ import annotations

import html
import re
import socket

import pytest
from pypdf import PdfReader

from participation.models import (
    Normalization,
    Outcome,
    ScoringMethod,
    SelectionMethod,
    SessionStatus,
    ThemedSession,
    User,
)
from tests.conftest import app_db, post_form
from tests.documents.conftest import INVITED, pdf_reader, pdf_text

A4 = (595.28, 841.89)  # points
SLUGS = ("undangan", "acara", "daftar-hadir", "berita-acara")


def embedded_font_files(reader: PdfReader) -> set[str]:
    """Names of the fonts whose program is embedded in the file (for every font used)."""
    embedded, used = set(), set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            used.add(font["/BaseFont"])
            descendants = font.get("/DescendantFonts")
            descriptor = (descendants[0].get_object() if descendants else font)["/FontDescriptor"].get_object()
            if any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
                embedded.add(font["/BaseFont"])
    assert used, "the document uses no font at all"
    assert used == embedded, f"fonts not embedded: {used - embedded}"
    return embedded


def check_page_numbers(reader: PdfReader) -> None:
    total = len(reader.pages)
    for number, page in enumerate(reader.pages, start=1):
        assert f"Halaman {number} dari {total}" in " ".join(page.extract_text().split())


@pytest.mark.parametrize("slug", SLUGS)
def test_every_document_is_a4_with_embedded_fonts_and_page_numbers(client, meeting, slug):
    response = client.get(f"/sesi/{meeting.session}/dokumen/{slug}.pdf")
    reader = pdf_reader(response)
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4, abs=0.5)
    assert any("DejaVu" in name for name in embedded_font_files(reader))
    check_page_numbers(reader)


def test_agenda_of_fifteen_items_fits_exactly_one_a4_page(app, client, meeting):
    sid = meeting.session
    assert post_form(client, f"/sesi/{sid}/acara/susun", {}, token_from=f"/sesi/{sid}/acara").status_code == 303
    with app_db(app) as session:
        laid_out = len(session.get(ThemedSession, sid).agenda)
    assert laid_out == 10  # opening, remarks, four category blocks, deliberation, ISHOMA, agreement, closing
    extra = [f"Penyerahan cendera mata kepada narasumber nomor {n}" for n in range(15 - laid_out)]
    for title in extra:
        response = post_form(client, f"/sesi/{sid}/acara/tambah",
                             {"title": title, "duration_minutes": "5", "description": "Oleh panitia"},
                             token_from=f"/sesi/{sid}/acara")
        assert response.status_code == 303
    reader = pdf_reader(client.get(f"/sesi/{sid}/dokumen/acara.pdf"))
    assert len(reader.pages) == 1
    text = pdf_text(reader)
    assert all(title in text for title in extra)
    assert "Pembukaan" in text and "Penutupan" in text
    for receipt in meeting.receipts:  # each presentation block lists its proposals
        assert receipt in text


def test_agenda_shows_indonesian_dates_and_time_slots(client, meeting):
    text = pdf_text(pdf_reader(client.get(f"/sesi/{meeting.session}/dokumen/acara.pdf")))
    assert "Jumat, 12 Februari 2027" in text
    # The template's agenda: opening 10 minutes, remarks 15, then the first presentation block.
    assert "09.00–09.10" in text and "09.10–09.25" in text
    assert "Susunan acara" in text or "Susunan Acara" in text


def test_attendance_list_has_every_invited_business_and_blank_rows(app, client, meeting):
    from participation.documents.render import BLANK_ATTENDANCE_ROWS
    from participation.models import Business

    reader = pdf_reader(client.get(f"/sesi/{meeting.session}/dokumen/daftar-hadir.pdf"))
    text = pdf_text(reader)
    with app_db(app) as session:
        for business_id in meeting.businesses:
            business = session.get(Business, business_id)
            assert business.name in text and business.nib in text and business.owner_name in text
    last_row = INVITED + BLANK_ATTENDANCE_ROWS
    assert re.search(rf"\b{last_row}\b", text) and not re.search(rf"\b{last_row + 1}\b", text)
    assert "Tanda tangan" in text


def test_invitations_are_one_letter_per_invited_business(app, client, meeting):
    reader = pdf_reader(client.get(f"/sesi/{meeting.session}/dokumen/undangan.pdf"))
    assert len(reader.pages) == INVITED
    for n, page in enumerate(reader.pages):
        text = " ".join(page.extract_text().split())
        assert f"Pemilik Nomor {n:02d}" in text  # letters go by business name, which sorts like n
        assert "Jumat, 12 Februari 2027" in text and "09.00 WIB" in text
        assert "Aula Bappeda, Jl. Pahlawan No. 1" in text and "Undangan" in text


def test_minutes_carry_the_ranking_attendance_criteria_and_signatures(app, client, meeting):
    sid = meeting.session
    with app_db(app) as session:
        from participation.models import Invitation

        first = session.scalar(session.query(Invitation).filter_by(session_id=sid).order_by(Invitation.id).statement)
        first.attended = True
        themed_session = session.get(ThemedSession, sid)
        themed_session.chair_name, themed_session.secretary_name = "Ir. Bambang Sutrisno", "Maya Lestari"
        criteria = [criterion.name for criterion in themed_session.criteria]
        session.commit()
    text = pdf_text(pdf_reader(client.get(f"/sesi/{sid}/dokumen/berita-acara.pdf")))
    for receipt in meeting.receipts:
        assert receipt in text
    assert all(name in text for name in criteria)
    assert (f"dihadiri oleh 1 dari {INVITED} pelaku usaha yang diundang dan 0 pelaku usaha yang datang "
            "tanpa undangan: seluruhnya 1 peserta") in text
    assert "Pimpinan sidang" in text and "Notulis" in text and "Perwakilan peserta" in text
    assert "Ir. Bambang Sutrisno" in text and "Maya Lestari" in text
    assert "Draf" in text  # not final yet
    assert "Rp120.000.000" in text  # the ceiling, formatted by Babel


def test_minutes_of_a_finalised_session_print_the_snapshot(app, client, meeting):
    from participation.review.services import decide, write_snapshot
    from tests.factories import as_actor
    from participation.models import Proposal

    sid = meeting.session
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, sid)
        planner = session.get(User, meeting.planner)
        decide(session.get(Proposal, meeting.proposals[3]), Outcome.PRIORITIZED, "Mendesak.", as_actor(planner))
        write_snapshot(themed_session, planner)
        themed_session.status = SessionStatus.FINALIZED
        session.commit()
    text = pdf_text(pdf_reader(client.get(f"/sesi/{sid}/dokumen/berita-acara.pdf")))
    assert "Draf" not in text and "versi 1" in text
    assert "Diprioritaskan" in text
    assert all(receipt in text for receipt in meeting.receipts)


# What the minutes print for each method (msgstr of messages.po), and what they must not.
SAW_MINMAX_GREEDY = ((ScoringMethod.SAW, Normalization.MINMAX, SelectionMethod.GREEDY),
                     ["Pembobotan aditif sederhana (SAW)", "Normalisasi (SAW)", "Min–maks",
                      "Terbaik lebih dulu, selama pagu mencukupi"],
                     ["Dibagi nilai maksimum", "Total skor terbesar dalam batas pagu"])
TOPSIS_OPTIMAL = ((ScoringMethod.TOPSIS, Normalization.MINMAX, SelectionMethod.OPTIMAL),
                  ["TOPSIS", "Total skor terbesar dalam batas pagu"],
                  # TOPSIS never uses the SAW normalisation, so the minutes do not name one.
                  ["Normalisasi", "Min–maks", "Simple additive weighting", "Terbaik lebih dulu"])
RAW_CODES = re.compile(r"\b(saw|topsis|minmax|max|greedy|optimal)\b")  # case-sensitive: "TOPSIS" is a label


def visible_text(page: str) -> str:
    """The text a reader sees on an HTML page: no tags, entities decoded, white space folded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.mark.parametrize("final", [False, True], ids=["draft", "snapshot"])
@pytest.mark.parametrize("settings, shown, hidden", [SAW_MINMAX_GREEDY, TOPSIS_OPTIMAL], ids=["saw", "topsis"])
def test_minutes_name_the_method_in_words_not_codes(app, client, meeting, settings, shown, hidden, final):
    from participation.review.services import write_snapshot

    sid = meeting.session
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, sid)
        themed_session.scoring_method, themed_session.normalization, themed_session.selection_method = settings
        if final:
            write_snapshot(themed_session, session.get(User, meeting.planner))
            themed_session.status = SessionStatus.FINALIZED
            # The minutes print the snapshot's codes, not the session's settings as they are now.
            themed_session.scoring_method = next(m for m in ScoringMethod if m is not settings[0])
            themed_session.selection_method = next(m for m in SelectionMethod if m is not settings[2])
        session.commit()
    pdf = pdf_text(pdf_reader(client.get(f"/sesi/{sid}/dokumen/berita-acara.pdf")))
    response = client.get(f"/sesi/{sid}/dokumen/berita-acara")
    assert response.status_code == 200
    page = visible_text(response.get_data(as_text=True))
    for text in (pdf, page):
        assert ("versi 1" in text) is final
        assert RAW_CODES.findall(text) == []
        assert "Metode penilaian" in text and "Pemilihan dalam batas pagu" in text
        for label in shown:
            assert label in text
        for label in hidden:
            assert label not in text


def test_print_view_is_the_same_document_for_the_browser(client, meeting):
    for slug in SLUGS:
        page = client.get(f"/sesi/{meeting.session}/dokumen/{slug}")
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        assert "data-print" in body and "css/print.css" in body and "<script>" not in body
    assert client.get(f"/sesi/{meeting.session}/dokumen/lainnya").status_code == 404
    assert client.get(f"/sesi/{meeting.session}/dokumen/lainnya.pdf").status_code == 404


def test_facilitator_text_is_printed_as_data_never_as_a_template(app, client, meeting):
    sid = meeting.session
    for title in ("{{ config }}", "{{7*7}}", "{% print 6*7 %}"):
        assert post_form(client, f"/sesi/{sid}/acara/tambah", {"title": title, "duration_minutes": "5"},
                         token_from=f"/sesi/{sid}/acara").status_code == 303
    html = client.get(f"/sesi/{sid}/dokumen/acara").get_data(as_text=True)
    assert "{{ config }}" in html and "{{7*7}}" in html and "{% print 6*7 %}" in html
    assert "SECRET_KEY" not in html and "&lt;Config" not in html and ">49<" not in html and ">42<" not in html
    text = pdf_text(pdf_reader(client.get(f"/sesi/{sid}/dokumen/acara.pdf")))
    assert "{{ config }}" in text and "{{7*7}}" in text and "{% print 6*7 %}" in text
    assert "SECRET_KEY" not in text


@pytest.fixture
def connections(monkeypatch):
    """Every outgoing connection attempted while the test runs (none is made)."""
    attempts = []

    def refuse(sock, address, *args):
        attempts.append(address)
        raise OSError("the test forbids network access")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


HOSTILE_HTML = """<!doctype html><html><head>
<link rel="stylesheet" href="/static/css/print.css">
<link rel="stylesheet" href="http://127.0.0.1:9/evil.css">
<style>@import url("https://127.0.0.1:9/import.css"); body { background: url("http://127.0.0.1:9/bg.png"); }</style>
</head><body><p>Teks</p>
<img src="http://127.0.0.1:9/pixel.png"><img src="//127.0.0.1:9/relative-scheme.png">
<img src="file:///etc/passwd"><img src="/static/../../../etc/passwd"><img src="/static/%2e%2e/%2e%2e/etc/hostname">
</body></html>"""


def test_rendering_fetches_nothing_remote(app, connections):
    """Remote and out-of-tree URLs are refused; our own static files still load."""
    from participation.pdf import html_to_pdf, static_only_fetcher

    with app.test_request_context():
        body = html_to_pdf(HOSTILE_HTML)
        fetcher = static_only_fetcher()
        with pytest.raises(ValueError):
            fetcher.fetch("http://127.0.0.1:9/pixel.png")
        with pytest.raises(ValueError):
            fetcher.fetch("file:///static/../../etc/passwd")
        assert fetcher.fetch("file:///static/css/print.css").read().startswith(b"/*")
    assert connections == []
    reader = PdfReader(__import__("io").BytesIO(body))
    assert "Teks" in reader.pages[0].extract_text()
    assert any("DejaVu" in name for name in embedded_font_files(reader))  # the static font was fetched


def test_the_network_guard_would_catch_a_fetching_renderer(app, connections):
    """Control: WeasyPrint's own fetcher does try to connect, so the test above can fail."""
    from weasyprint import HTML

    HTML(string='<img src="http://127.0.0.1:9/pixel.png">').write_pdf()
    assert connections and connections[0][1] == 9


def test_documents_with_hostile_text_render_literally_and_fetch_nothing(app, client, meeting, connections):
    from participation.models import Business, Proposal

    sid = meeting.session
    payload = '<img src="http://127.0.0.1:9/x.png"> =HYPERLINK("http://evil.example")'
    with app_db(app) as session:
        session.get(Business, meeting.businesses[0]).name = payload
        session.get(Proposal, meeting.proposals[0]).title = payload
        session.get(ThemedSession, sid).venue = payload
        session.commit()
    for slug in SLUGS:
        text = pdf_text(pdf_reader(client.get(f"/sesi/{sid}/dokumen/{slug}.pdf")))
        assert '<img src="http://127.0.0.1:9/x.png">' in text, slug
    assert connections == []


def test_print_documents_command_writes_the_four_pdfs(app, meeting, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["print-documents", str(meeting.session), "--output", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert names == ["agenda.pdf", "attendance.pdf", "invitations.pdf", "minutes.pdf"]
    minutes = PdfReader(tmp_path / "out" / "minutes.pdf")
    assert all(receipt in pdf_text(minutes) for receipt in meeting.receipts)
    assert len(PdfReader(tmp_path / "out" / "invitations.pdf").pages) == INVITED
    missing = runner.invoke(args=["print-documents", "9999", "--output", str(tmp_path / "none")])
    assert missing.exit_code != 0 and "9999" in missing.output
    assert not (tmp_path / "none").exists()


def test_print_documents_needs_no_request_context(app, meeting, tmp_path, monkeypatch):
    """The CLI renders the four PDFs, letterhead logo included, with every request context forbidden."""
    from flask import Flask

    from participation.demo import demo_logo
    from participation.documents.services import save_letterhead
    from participation.events import Actor

    with app.app_context():
        from participation.extensions import db

        save_letterhead({"institution_name": "Bappeda Kota Uji", "address": "Jl. Uji 1", "contact": ""},
                        (demo_logo(), "image/png"), False, Actor.cli())
        db.session.commit()

    def forbidden(*args, **kwargs):
        raise AssertionError("a request context was opened while printing")

    monkeypatch.setattr(Flask, "test_request_context", forbidden)
    monkeypatch.setattr(Flask, "request_context", forbidden)
    result = app.test_cli_runner().invoke(args=["print-documents", str(meeting.session),
                                                "--output", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    for name in ("invitations", "agenda", "attendance", "minutes"):
        reader = PdfReader(tmp_path / "out" / f"{name}.pdf")
        first = reader.pages[0]
        assert "BAPPEDA KOTA UJI" in first.extract_text().upper(), name  # printed in capitals
        images = list(first.images)  # the logo fetched from the bytes handed to the fetcher
        assert len(images) == 1 and images[0].image.size[0] > 0, name
