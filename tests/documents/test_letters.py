"""The invitation as an official letter (tata naskah dinas), the minutes in plain words, ISHOMA.

The four PDFs are rendered to PNG under test-artifacts/documents/ for a person to look at, and
their text layer is checked for what a Bappeda secretary expects on each.
"""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlalchemy import select

from participation.models import (
    AgendaKind,
    AuditEvent,
    LetterNature,
    SessionStatus,
    ThemedSession,
    User,
)
from tests.conftest import ROOT, app_db, post_form
from tests.documents.conftest import INVITED, pdf_reader, pdf_text
from tests.hostile import HOSTILE

ARTIFACTS = ROOT / "test-artifacts" / "documents"
LETTER = {
    "minutes_per_proposal": "5", "invitation_notes": "Membawa contoh produk.",
    "chair_name": "Ir. Bambang Sutrisno, M.T.", "secretary_name": "Maya Lestari, S.Sos.",
    "participant_representative": "Hendra Prasetyo",
    "letter_number": "005/123/Bappeda/II/2027", "letter_nature": "penting", "letter_attachments": "1",
    "letter_subject": "Undangan Musrenbang Tematik IKM 2027", "letter_date": "2027-02-05",
    "signatory_name": "Dr. Ir. Hendro Wicaksono, M.Si.",
    "signatory_title": "Kepala Badan Perencanaan Pembangunan Daerah Kota Harapan Jaya",
    "signatory_nip": "19700101 199503 1 001",
}
RAW_CODES = re.compile(r"\b(saw|topsis|minmax|max|greedy|optimal|biasa|penting|segera|sangat_segera)\b")


def save_letter(client, sid, **changes):
    response = post_form(client, f"/sesi/{sid}/dokumen", {**LETTER, **changes})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response


def to_png(body: bytes, name: str) -> list:
    """Every page of a PDF as a PNG under test-artifacts/documents/, at 100 dpi; the paths."""
    import pypdfium2

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    document = pypdfium2.PdfDocument(body)
    paths = []
    try:
        for number, page in enumerate(document, start=1):
            image = page.render(scale=100 / 72).to_pil()
            assert image.getbbox() is not None  # something was drawn
            path = ARTIFACTS / f"{name}-{number}.png"
            image.save(path)
            paths.append(path)
    finally:
        document.close()
    return paths


def test_the_four_documents_as_a_secretary_reads_them(app, client, meeting):
    """Render the invitations, agenda, attendance list and minutes to PNG; check their printed text."""
    sid = meeting.session
    save_letter(client, sid)
    texts = {}
    for slug, name in (("undangan", "invitations"), ("acara", "agenda"), ("daftar-hadir", "attendance"),
                       ("berita-acara", "minutes")):
        response = client.get(f"/sesi/{sid}/dokumen/{slug}.pdf")
        reader = pdf_reader(response)
        assert len(to_png(response.data, name)) == len(reader.pages)
        texts[slug] = [" ".join(page.extract_text().split()) for page in reader.pages]

    assert len(texts["undangan"]) == INVITED
    for n, letter in enumerate(texts["undangan"]):
        # The head: Nomor, Sifat, Lampiran, Perihal with their values; place and the letter's date.
        assert "Nomor : 005/123/Bappeda/II/2027" in letter
        assert "Sifat : Penting" in letter and "Lampiran : 1 berkas" in letter
        assert "Perihal : Undangan Musrenbang Tematik IKM 2027" in letter
        assert "Kota Harapan Jaya, 5 Februari 2027" in letter
        assert f"Kepada Yth. Bapak/Ibu Pemilik Nomor {n:02d}" in letter and "di Tempat" in letter
        assert "Dengan hormat," in letter and "Demikian undangan ini kami sampaikan" in letter
        # The signature: position above, name, then the NIP in its groups.
        signature = letter[letter.index("Kepala Badan Perencanaan Pembangunan Daerah Kota Harapan Jaya,"):]
        assert signature.index("Dr. Ir. Hendro Wicaksono, M.Si.") < signature.index("NIP. 19700101 199503 1 001")
        assert "Jumat, 12 Februari 2027" in letter and "09.00 WIB" in letter
        assert RAW_CODES.findall(letter) == []

    agenda = " ".join(texts["acara"])
    assert "ISHOMA (istirahat, sholat, makan)" in agenda

    attendance = " ".join(texts["daftar-hadir"])
    assert "Daftar Hadir" in attendance or "Daftar hadir" in attendance
    assert all(f"Pemilik Nomor {n:02d}" in attendance for n in range(INVITED))

    minutes = " ".join(texts["berita-acara"])
    assert RAW_CODES.findall(minutes) == []
    assert "Mengetahui," in minutes and "NIP. 19700101 199503 1 001" in minutes
    assert "Ir. Bambang Sutrisno, M.T." in minutes and "Dr. Ir. Hendro Wicaksono, M.Si." in minutes


def test_an_unset_letter_prints_blanks_to_fill_in_by_hand_not_the_print_date(app, client, meeting):
    from participation.models import utcnow

    text = pdf_text(pdf_reader(client.get(f"/sesi/{meeting.session}/dokumen/undangan.pdf")))
    assert "Kota Harapan Jaya, ……" in text and "Nomor : ……" in text
    today = utcnow()
    assert f"{today.day} " not in text.split("Kota Harapan Jaya,")[1][:6]
    assert "Sifat : Biasa" in text and "Lampiran : -" in text
    # The subject defaults to the session's title; the institution signs while nobody is named.
    assert "Perihal : Undangan Musrenbang Tematik IKM" in text
    assert "Badan Perencanaan Pembangunan Daerah," in text and "NIP." not in text


def test_the_letter_settings_are_saved_audited_and_shown_on_the_page(app, client, meeting):
    sid = meeting.session
    page = client.get(f"/sesi/{sid}/dokumen").get_data(as_text=True)
    assert 'value="Undangan Musrenbang Tematik IKM"' in page  # the default subject, ready to edit
    save_letter(client, sid)
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, sid)
        assert themed_session.letter_number == "005/123/Bappeda/II/2027"
        assert themed_session.letter_nature is LetterNature.IMPORTANT
        assert (themed_session.letter_attachments, themed_session.letter_date) == (1, date(2027, 2, 5))
        assert themed_session.signatory_nip == "197001011995031001"  # stored without the spaces
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "documents.settings"))
        assert event.after["letter_nature"] == "penting" and event.after["letter_date"] == "2027-02-05"
    page = client.get(f"/sesi/{sid}/dokumen").get_data(as_text=True)
    assert 'value="005/123/Bappeda/II/2027"' in page and 'value="2027-02-05"' in page
    assert '<option selected value="penting">Penting</option>' in page
    # Empty enclosures print "-".
    save_letter(client, sid, letter_attachments="")
    text = pdf_text(pdf_reader(client.get(f"/sesi/{sid}/dokumen/undangan.pdf")))
    assert "Lampiran : -" in text


@pytest.mark.parametrize("nip, message", [
    ("1970010119950310", "NIP harus tepat 18 angka, misalnya 19700101 199503 1 001."),
    ("19700101 199503 1 0012", "NIP harus tepat 18 angka, misalnya 19700101 199503 1 001."),
    ("1970O101199503100l", "NIP harus tepat 18 angka, misalnya 19700101 199503 1 001."),
])
def test_a_wrong_nip_is_refused_with_a_clear_message_and_the_form_kept(app, client, meeting, nip, message):
    sid = meeting.session
    response = post_form(client, f"/sesi/{sid}/dokumen", {**LETTER, "signatory_nip": nip, "letter_date": "kemarin"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and "Tanggal tidak valid." in page
    assert f'value="{nip}"' in page and 'value="Dr. Ir. Hendro Wicaksono, M.Si."' in page
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, sid)
        assert (themed_session.signatory_nip, themed_session.signatory_name, themed_session.letter_number) == ("", "", "")


def test_the_service_refuses_values_no_form_would_send(app, meeting):
    from participation.documents.services import update_settings
    from tests.factories import as_actor

    with app_db(app) as session:
        themed_session = session.get(ThemedSession, meeting.session)
        actor = as_actor(session.get(User, meeting.facilitator))
        for data in ({"letter_nature": "rahasia"}, {"signatory_nip": "123"}, {"letter_attachments": 100},
                     {"letter_date": "2027-02-05"}):
            with pytest.raises(ValueError):
                update_settings(themed_session, data, actor)
        session.rollback()


def test_hostile_text_in_the_letter_fields_is_refused_or_kept_and_printed_literally(app, client, meeting):
    from tests.test_hostile_forms import hammer

    sid = meeting.session
    fields = ["letter_number", "letter_nature", "letter_attachments", "letter_subject", "letter_date",
              "signatory_name", "signatory_title", "signatory_nip"]
    hammer(app, client, f"/sesi/{sid}/dokumen", LETTER, fields)
    # What is refused comes back as typed, with a message; what is accepted prints as text.
    for field in ("letter_number", "letter_subject", "signatory_name", "signatory_title"):
        response = post_form(client, f"/sesi/{sid}/dokumen", {**LETTER, field: HOSTILE["ten_thousand"]})
        assert response.status_code == 400 and HOSTILE["ten_thousand"] in response.get_data(as_text=True)
    accepted = {"letter_number": HOSTILE["img_onerror"][:100], "letter_subject": HOSTILE["script_tag"],
                "signatory_name": HOSTILE["template"], "signatory_title": HOSTILE["formula"]}
    save_letter(client, sid, **accepted)
    page = client.get(f"/sesi/{sid}/dokumen").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page  # kept on the form, escaped
    text = pdf_text(pdf_reader(client.get(f"/sesi/{sid}/dokumen/undangan.pdf")))
    for value in accepted.values():
        assert value in text  # printed as the characters typed, never as markup or a template
    html = client.get(f"/sesi/{sid}/dokumen/undangan").get_data(as_text=True)
    assert "<script>alert" not in html and '"><img src=x' not in html


def test_the_letter_settings_are_frozen_with_the_session(app, client, meeting):
    sid = meeting.session
    save_letter(client, sid)
    with app_db(app) as session:
        session.get(ThemedSession, sid).status = SessionStatus.FINALIZED
        session.commit()
    page = client.get(f"/sesi/{sid}/dokumen").get_data(as_text=True)
    assert "Musrenbang sudah final" in page and 'name="letter_number"' not in page
    assert "005/123/Bappeda/II/2027" in page and "Penting" in page and "5 Februari 2027" in page
    assert "19700101 199503 1 001" in page
    response = save_letter(client, sid, letter_number="999/X", signatory_nip="198001012005011002")
    assert "sudah final" in client.get(response.headers["Location"]).get_data(as_text=True)
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, sid)
        assert (themed_session.letter_number, themed_session.signatory_nip) == ("005/123/Bappeda/II/2027",
                                                                               "197001011995031001")


LONG_BUSINESS = "Koperasi Produsen Keripik Tempe Sananwetan Sumbermakmur Sejahtera"
LONG_PERSON = "Raden Mas Bambang Sutrisnowijoyokusumo"


def test_long_names_are_never_broken_inside_a_word(app, client, meeting):
    from participation.models import Business, Outcome, Proposal
    from participation.review.services import decide
    from tests.factories import as_actor

    sid = meeting.session
    with app_db(app) as session:
        business = session.get(Business, meeting.businesses[0])
        business.name, business.owner_name = LONG_BUSINESS, LONG_PERSON
        decide(session.get(Proposal, meeting.proposals[0]), Outcome.PRIORITIZED, "Mendesak.",
               as_actor(session.get(User, meeting.planner)))
        session.commit()
    save_letter(client, sid, chair_name=f"Prof. Dr. {LONG_PERSON}", signatory_name=LONG_PERSON)
    for slug in ("berita-acara", "undangan", "daftar-hadir"):
        response = client.get(f"/sesi/{sid}/dokumen/{slug}.pdf")
        text = pdf_text(pdf_reader(response))
        to_png(response.data, f"long-names-{slug}")
        for word in (LONG_BUSINESS + " " + LONG_PERSON + (" Diprioritaskan" if slug == "berita-acara" else "")).split():
            assert word in text, (slug, word)  # whole: no hyphen, no line break inside it
        assert not re.search(r"[a-z]- [a-z]", text), slug


# The agenda ------------------------------------------------------------------------------------

def _template_agenda(app, meeting, start: datetime | None, minutes_per_proposal: int):
    from participation.documents.services import default_agenda
    from participation.review.ranking import build_ranking

    with app_db(app) as session:
        themed_session = session.get(ThemedSession, meeting.session)
        themed_session.meeting_start, themed_session.minutes_per_proposal = start, minutes_per_proposal
        items = default_agenda(themed_session, build_ranking(themed_session, stability=False))
        session.rollback()
        return [(item.kind, item.title) for item in items]


def test_ishoma_is_placed_at_the_boundary_nearest_noon(app, meeting):
    # 08.00 WIB, 12 proposals of 10 minutes in four blocks of 30: the blocks start at 08.25,
    # 08.55, 09.25 and 09.55; the deliberation at 10.25, the agreement at 10.55; noon is nearest
    # to the agreement's start.
    early = _template_agenda(app, meeting, datetime(2027, 2, 12, 1, 0), 10)
    assert [kind for kind, _ in early][-4:] == [AgendaKind.DELIBERATION, AgendaKind.OTHER, AgendaKind.AGREEMENT,
                                                AgendaKind.CLOSING]
    # 08.00 WIB with 20 minutes each: blocks at 08.25, 09.25, 10.25 and 11.25, the deliberation at
    # 12.25; 11.25 is 35 minutes from noon and 12.25 is 25, so the break follows the presentations.
    late = _template_agenda(app, meeting, datetime(2027, 2, 12, 1, 0), 20)
    kinds = [kind for kind, _ in late]
    assert kinds.index(AgendaKind.OTHER) == kinds.index(AgendaKind.DELIBERATION) - 1
    assert kinds[kinds.index(AgendaKind.OTHER) - 1] is AgendaKind.PRESENTATION
    # 09.00 WIB with 30 minutes each: blocks at 09.25, 10.55, 12.25, 13.55: 12.25 is nearest.
    middle = _template_agenda(app, meeting, datetime(2027, 2, 12, 2, 0), 30)
    kinds = [kind for kind, _ in middle]
    assert kinds[:2] == [AgendaKind.OPENING, AgendaKind.REMARKS]
    assert kinds[2:8] == [AgendaKind.PRESENTATION, AgendaKind.PRESENTATION, AgendaKind.OTHER,
                          AgendaKind.PRESENTATION, AgendaKind.PRESENTATION, AgendaKind.DELIBERATION]
    # Without a start time: after the presentations.
    unknown = [kind for kind, _ in _template_agenda(app, meeting, None, 5)]
    assert unknown.index(AgendaKind.OTHER) == unknown.index(AgendaKind.DELIBERATION) - 1
    for agenda in (early, late, middle):
        assert sum(title == "ISHOMA (istirahat, sholat, makan)" for _, title in agenda) == 1


def test_moving_an_item_returns_to_it_on_the_page(app, client, meeting):
    sid = meeting.session
    url = f"/sesi/{sid}/acara"
    post_form(client, f"{url}/susun", {}, token_from=url)
    with app_db(app) as session:
        item = session.get(ThemedSession, sid).agenda[-3]
        item_id, position = item.id, item.position
    response = post_form(client, f"{url}/{item_id}/pindah", {"arah": "naik"}, token_from=url)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"{url}#item-{item_id}")
    page = client.get(url).get_data(as_text=True)
    assert f'id="item-{item_id}"' in page
    with app_db(app) as session:
        from participation.models import AgendaItem

        assert session.get(AgendaItem, item_id).position == position - 1


def test_an_english_invitation_has_no_indonesian_address_closing(client, meeting):
    """"di / Tempat" closes an Indonesian address block; in English the letter ends the address
    with the business's place and prints neither the Indonesian words nor a word-for-word "in / Place"."""
    sid = meeting.session
    save_letter(client, sid)
    indonesian = client.get(f"/sesi/{sid}/dokumen/undangan").get_data(as_text=True)
    assert re.search(r"di<br>\s*<span class=\"in-place\">Tempat</span>", indonesian)
    post_form(client, "/bahasa", {"locale": "en"}, token_from=f"/sesi/{sid}/dokumen")
    english = client.get(f"/sesi/{sid}/dokumen/undangan").get_data(as_text=True)
    addressee = english[english.index('class="addressee"'):]
    addressee = addressee[:addressee.index("</p>")]
    assert "To:" in addressee and "Pemilik Nomor 00" in addressee
    assert "Tempat" not in addressee and "Place" not in addressee and not re.search(r"\bdi\b|\bin\b", addressee)
