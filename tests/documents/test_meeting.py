"""At the meeting: check-in and walk-ins, the agenda builder, document settings and the letterhead."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from participation.models import (
    AgendaItem,
    AgendaKind,
    AuditEvent,
    Business,
    Invitation,
    Letterhead,
    SessionStatus,
    ThemedSession,
    User,
)
from tests.conftest import app_db, csrf_token, post_form
from tests.factories import PDF_BYTES, as_actor, make_business, make_session
from tests.hostile import HOSTILE, is_server_error


def invitation_of(session, sid, business_id) -> Invitation:
    return session.scalar(select(Invitation).where(Invitation.session_id == sid,
                                                   Invitation.business_id == business_id))


def audit_actions(session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# Check-in ------------------------------------------------------------------------------------

def test_search_by_name_or_nib_and_check_in_with_a_counter(app, client, meeting):
    sid, target = meeting.session, meeting.businesses[4]
    page = client.get(f"/sesi/{sid}/hadir").get_data(as_text=True)
    assert page.count("Catat hadir") == 12 and "<strong>0</strong> hadir" in page
    by_name = client.get(f"/sesi/{sid}/hadir", query_string={"cari": "rejeki 04"}).get_data(as_text=True)
    assert "Keripik Sumber Rejeki 04" in by_name and "Keripik Sumber Rejeki 05" not in by_name
    by_nib = client.get(f"/sesi/{sid}/hadir", query_string={"cari": "3201000000004"}).get_data(as_text=True)
    assert "Keripik Sumber Rejeki 04" in by_nib and by_nib.count("Catat hadir") == 1
    with app_db(app) as session:
        invitation_id = invitation_of(session, sid, target).id
    response = post_form(client, f"/sesi/{sid}/hadir/{invitation_id}", {"hadir": "1", "cari": "04"},
                         token_from=f"/sesi/{sid}/hadir")
    assert response.status_code == 303 and "cari=04" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "tercatat hadir" in page and "<strong>1</strong> hadir" in page
    with app_db(app) as session:
        invitation = invitation_of(session, sid, target)
        assert invitation.attended and invitation.checked_in_at is not None
        assert "checkin.marked" in audit_actions(session)
    # A mistaken check-in can be undone.
    post_form(client, f"/sesi/{sid}/hadir/{invitation_id}", {"hadir": "0"}, token_from=f"/sesi/{sid}/hadir")
    with app_db(app) as session:
        invitation = invitation_of(session, sid, target)
        assert not invitation.attended and invitation.checked_in_at is None


def test_check_in_refuses_bad_values_and_other_sessions_invitations(app, client, meeting):
    sid = meeting.session
    with app_db(app) as session:
        other = make_session(session.get(User, meeting.planner), title="Musrenbang lain",
                             members=[session.get(User, meeting.facilitator)])
        from participation.intake.services import invite

        invite(other, [meeting.businesses[0]], as_actor(None))
        foreign = invitation_of(session, other.id, meeting.businesses[0]).id
        own = invitation_of(session, sid, meeting.businesses[0]).id
        session.commit()
    token = csrf_token(client, f"/sesi/{sid}/hadir")
    assert client.post(f"/sesi/{sid}/hadir/{foreign}", data={"hadir": "1", "csrf_token": token}).status_code == 404
    assert client.post(f"/sesi/{sid}/hadir/99999", data={"hadir": "1", "csrf_token": token}).status_code == 404
    for value in ("2", "", "ya", "\x00"):
        assert client.post(f"/sesi/{sid}/hadir/{own}", data={"hadir": value, "csrf_token": token}).status_code == 400
    with app_db(app) as session:
        assert not session.scalar(select(func.count()).where(Invitation.attended.is_(True)))


def test_a_facilitator_outside_the_session_gets_404(app, client, meeting, make_user):
    from tests.conftest import STAFF_PASSWORD, login

    outsider = make_user("facilitator", email="luar@contoh.id")
    client = app.test_client()
    assert login(client, "luar@contoh.id", STAFF_PASSWORD).status_code == 303
    sid = meeting.session
    for path in (f"/sesi/{sid}/dokumen", f"/sesi/{sid}/hadir", f"/sesi/{sid}/acara",
                 f"/sesi/{sid}/dokumen/berita-acara", f"/sesi/{sid}/dokumen/berita-acara.pdf"):
        assert client.get(path).status_code == 404, path


def test_walk_in_matches_a_known_business_or_creates_one_and_links_to_paper_intake(app, client, meeting):
    sid = meeting.session
    with app_db(app) as session:
        known = make_business(nib="3578010199999", name="CV Batik Sekar Jagad")
        known_id = known.id
        session.commit()
    businesses_before = 13
    response = post_form(client, f"/sesi/{sid}/hadir",
                         {"nib": "3578 0101 9999 9", "business_name": "batik sekar jagad", "owner_name": "Sri Handayani",
                          "phone": "0812 3456 7890"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "terdaftar sebagai peserta yang datang langsung" in page
    assert "Masukkan usulan kertasnya" in page and "nib=3578010199999" in page
    with app_db(app) as session:
        assert session.scalar(select(func.count(Business.id))) == businesses_before  # merged, not duplicated
        walk_in = invitation_of(session, sid, known_id)
        assert walk_in.walk_in and walk_in.attended
    # The link opens paper intake with the business already filled in.
    paper = client.get(f"/sesi/{sid}/usulan-kertas", query_string={
        "nib": "3578010199999", "usaha": "CV Batik Sekar Jagad", "pemilik": "Sri Handayani"}).get_data(as_text=True)
    assert 'value="3578010199999"' in paper and 'value="CV Batik Sekar Jagad"' in paper
    # A business never seen before is created.
    post_form(client, f"/sesi/{sid}/hadir", {"nib": "3578010188888", "business_name": "Tahu Bu Sri",
                                             "owner_name": "Sri Wahyuni"})
    with app_db(app) as session:
        assert session.scalar(select(func.count(Business.id))) == businesses_before + 1
        from participation.documents.attendance import Attendance, attendance_counts

        counts = attendance_counts(session.get(ThemedSession, sid))
        assert counts == Attendance(invited=12, invited_present=0, walk_ins=2) and counts.present == 2
        assert audit_actions(session).count("checkin.walk_in") == 2


def test_walk_in_form_errors_keep_what_was_typed(app, client, meeting):
    sid = meeting.session
    response = post_form(client, f"/sesi/{sid}/hadir",
                         {"nib": "12345", "business_name": "Kopi Gunung Lawu", "owner_name": "Sarno", "phone": "12"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="Kopi Gunung Lawu"' in page and 'value="Sarno"' in page and "error-summary" in page
    with app_db(app) as session:
        assert session.scalar(select(func.count(Business.id))) == 12


def test_attendance_cannot_change_once_the_session_is_final(app, client, meeting):
    sid = meeting.session
    with app_db(app) as session:
        session.get(ThemedSession, sid).status = SessionStatus.FINALIZED
        invitation_id = invitation_of(session, sid, meeting.businesses[0]).id
        session.commit()
    response = post_form(client, f"/sesi/{sid}/hadir/{invitation_id}", {"hadir": "1"}, token_from=f"/sesi/{sid}/hadir")
    assert "sudah final" in client.get(response.headers["Location"]).get_data(as_text=True)
    response = post_form(client, f"/sesi/{sid}/hadir", {"nib": "3578010188888", "business_name": "Tahu Bu Sri",
                                                        "owner_name": "Sri Wahyuni"})
    assert response.status_code == 400 and "sudah final" in response.get_data(as_text=True)
    with app_db(app) as session:
        assert not invitation_of(session, sid, meeting.businesses[0]).attended
        assert session.scalar(select(func.count(Business.id))) == 12


# Agenda ---------------------------------------------------------------------------------------

def test_schedule_groups_presentations_by_category_in_rank_order(app, meeting):
    from participation.documents.services import schedule
    from participation.review.ranking import build_ranking

    with app_db(app) as session:
        themed_session = session.get(ThemedSession, meeting.session)
        themed_session.minutes_per_proposal = 4
        ranking = build_ranking(themed_session, stability=False)
        slots = schedule(themed_session, ranking)
        kinds = [slot.item.kind for slot in slots]
        # The meeting ends before noon, so ISHOMA takes the last boundary it may: before the agreement.
        assert kinds == [AgendaKind.OPENING, AgendaKind.REMARKS] + [AgendaKind.PRESENTATION] * 4 + [
            AgendaKind.DELIBERATION, AgendaKind.OTHER, AgendaKind.AGREEMENT, AgendaKind.CLOSING]
        assert slots[7].item.title.startswith("ISHOMA") and slots[7].minutes == 60
        blocks = slots[2:6]
        best = [min(item.rank for item in block.proposals) for block in blocks]
        assert best == sorted(best) and best[0] == 1  # categories by their best proposal
        for block in blocks:
            ranks = [item.rank for item in block.proposals]
            assert ranks == sorted(ranks) and len(ranks) == 3
            assert {item.proposal.category_id for item in block.proposals} == {block.item.category_id}
            assert block.minutes == 3 * 4 and block.end - block.start == __import__("datetime").timedelta(minutes=12)
        assert slots[0].start.strftime("%H:%M") == "09:00"  # 02.00 UTC in Asia/Jakarta
        for before, after in zip(slots, slots[1:]):
            assert before.end == after.start
        assert session.scalar(select(func.count(AgendaItem.id))) == 0  # the template is not saved


def test_facilitator_lays_out_edits_reorders_adds_and_removes_items(app, client, meeting):
    sid = meeting.session
    url = f"/sesi/{sid}/acara"
    assert "Ini susunan acara dari templat" in client.get(url).get_data(as_text=True)
    assert post_form(client, f"{url}/susun", {}, token_from=url).status_code == 303
    with app_db(app) as session:
        items = session.get(ThemedSession, sid).agenda
        ids = [item.id for item in items]
        opening, closing = items[0].id, items[-1].id
        current = items[0].title
    page = client.get(url).get_data(as_text=True)
    assert f'name="title_{opening}" required type="text" value="{current}"' in page  # ready to edit
    assert f'name="minutes_{opening}" required type="number" value="10"' in page
    data = {}
    for item_id in ids:
        data[f"title_{item_id}"] = f"Acara {item_id}"
        data[f"note_{item_id}"] = ""
    data[f"minutes_{opening}"] = "20"
    data |= {f"minutes_{i}": "10" for i in ids[1:] if f'name="minutes_{i}"' in page}
    data[f"note_{opening}"] = "Dipandu pembawa acara"
    assert post_form(client, url, data).status_code == 303
    with app_db(app) as session:
        first = session.get(AgendaItem, opening)
        assert (first.title, first.duration_minutes, first.description) == (f"Acara {opening}", 20, "Dipandu pembawa acara")
    # Reorder: the closing cannot go below the end; the opening moves down one place.
    post_form(client, f"{url}/{opening}/pindah", {"arah": "turun"}, token_from=url)
    post_form(client, f"{url}/{closing}/pindah", {"arah": "turun"}, token_from=url)
    # Add: the new item goes before the closing.
    assert post_form(client, f"{url}/tambah", {"title": "Doa", "duration_minutes": "5"}, token_from=url).status_code == 303
    with app_db(app) as session:
        agenda = session.get(ThemedSession, sid).agenda
        assert [item.id for item in agenda][:2] == [ids[1], opening]
        assert agenda[-2].title == "Doa" and agenda[-1].id == closing
        assert [item.position for item in agenda] == list(range(len(agenda)))
        added = agenda[-2].id
    assert post_form(client, f"{url}/{added}/hapus", {}, token_from=url).status_code == 303
    with app_db(app) as session:
        agenda = session.get(ThemedSession, sid).agenda
        assert added not in [item.id for item in agenda] and [i.position for i in agenda] == list(range(len(agenda)))
        actions = audit_actions(session)
        assert {"agenda.built", "agenda.updated", "agenda.item_added", "agenda.item_removed"} <= set(actions)
    page = client.get(url).get_data(as_text=True)
    assert "09.00–09.10" in page  # moved to the top: remarks, 10 minutes


def test_agenda_form_errors_keep_typed_data_and_save_nothing(app, client, meeting):
    sid = meeting.session
    url = f"/sesi/{sid}/acara"
    post_form(client, f"{url}/susun", {}, token_from=url)
    with app_db(app) as session:
        items = session.get(ThemedSession, sid).agenda
        first, titles = items[0].id, [item.title for item in items]
        data = {f"title_{i.id}": i.title for i in items} | {
            f"minutes_{i.id}": str(i.duration_minutes) for i in items if i.kind is not AgendaKind.PRESENTATION}
    data[f"title_{first}"] = "Pembukaan oleh Wali Kota"
    data[f"minutes_{first}"] = "-5"
    response = post_form(client, url, data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="Pembukaan oleh Wali Kota"' in page and "Isi 0 sampai 600." in page
    response = post_form(client, f"{url}/tambah", {"title": "Sesi foto bersama", "duration_minutes": "lama"},
                         token_from=url)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="Sesi foto bersama"' in page and "error-summary" in page
    with app_db(app) as session:
        assert [item.title for item in session.get(ThemedSession, sid).agenda] == titles
    # Another session's item is not found; a missing direction is a bad request.
    with app_db(app) as session:
        other = make_session(session.get(User, meeting.planner), title="Lain",
                             members=[session.get(User, meeting.facilitator)])
        session.add(AgendaItem(session_id=other.id, kind=AgendaKind.OTHER, title="Asing", position=0))
        session.commit()
        foreign = session.scalar(select(AgendaItem.id).where(AgendaItem.title == "Asing"))
    token = csrf_token(client, url)
    assert client.post(f"{url}/{foreign}/hapus", data={"csrf_token": token}).status_code == 404
    assert client.post(f"{url}/{foreign}/pindah", data={"arah": "naik", "csrf_token": token}).status_code == 404
    assert client.post(f"{url}/{first}/pindah", data={"arah": "samping", "csrf_token": token}).status_code == 400


def test_saving_before_laying_out_is_a_conflict(client, meeting):
    url = f"/sesi/{meeting.session}/acara"
    assert post_form(client, url, {"title_1": "x"}, token_from=url).status_code == 409


def test_document_settings_are_saved_and_errors_keep_typed_data(app, client, meeting):
    url = f"/sesi/{meeting.session}/dokumen"
    page = client.get(url).get_data(as_text=True)
    assert "Membawa fotokopi NIB" in page  # the default notes, ready to edit
    data = {"minutes_per_proposal": "7", "invitation_notes": "Membawa contoh produk.",
            "chair_name": "Ir. Bambang Sutrisno", "secretary_name": "Maya Lestari",
            "participant_representative": "Hendra Prasetyo", "letter_nature": "biasa"}
    assert post_form(client, url, data).status_code == 303
    response = post_form(client, url, {**data, "minutes_per_proposal": "0", "chair_name": "Dr. Siti Aminah"})
    assert response.status_code == 400 and 'value="Dr. Siti Aminah"' in response.get_data(as_text=True)
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, meeting.session)
        assert (themed_session.minutes_per_proposal, themed_session.chair_name) == (7, "Ir. Bambang Sutrisno")
        assert themed_session.invitation_notes == "Membawa contoh produk."
    text = client.get(f"/sesi/{meeting.session}/dokumen/undangan").get_data(as_text=True)
    assert "Membawa contoh produk." in text


# Letterhead -----------------------------------------------------------------------------------

def png_logo() -> bytes:
    from participation.demo import demo_logo

    return demo_logo()


def image_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.size


def test_a_large_logo_is_shrunk_and_printed_once_for_all_letters(app, client, meeting):
    from PIL import Image

    buffer = io.BytesIO()
    Image.radial_gradient("L").resize((1600, 1200)).convert("RGB").save(buffer, format="JPEG", quality=90)
    assert len(buffer.getvalue()) < 1024 * 1024
    response = post_form(client, "/kop", {"institution_name": "Bappeda", "logo": (io.BytesIO(buffer.getvalue()), "foto.jpg")},
                         content_type="multipart/form-data")
    assert response.status_code == 303
    with app_db(app) as session:
        head = session.scalar(select(Letterhead))
        assert max(image_size(head.logo)) == 480 and head.logo_type == "image/png"
    sid = meeting.session
    html = client.get(f"/sesi/{sid}/dokumen/undangan").get_data(as_text=True)
    assert html.count('src="/kop/logo?v=') == 12 and "data:image" not in html  # an address, not a copy
    from tests.documents.conftest import pdf_reader

    reader = pdf_reader(client.get(f"/sesi/{sid}/dokumen/undangan.pdf"))
    logos = {page["/Resources"]["/XObject"].raw_get(name).idnum for page in reader.pages
             for name in page["/Resources"].get("/XObject", {})}
    assert len(reader.pages) == 12 and len(logos) == 1  # one image object, shared by every letter
    # The blank paper forms carry the same letterhead.
    blank = client.post(f"/sesi/{sid}/formulir-kosong", data={"count": "1", "csrf_token": csrf_token(
        client, f"/sesi/{sid}/formulir-kosong")})
    assert len(pdf_reader(blank).pages[0].images) == 1


def test_letterhead_with_a_logo_checked_by_content(app, client, meeting):
    form = {"institution_name": "Bappeda Kota Harapan Jaya", "address": "Jl. Pahlawan No. 1", "contact": "(0271) 642020"}
    response = post_form(client, "/kop", {**form, "logo": (io.BytesIO(png_logo()), "lambang.png")},
                         content_type="multipart/form-data")
    assert response.status_code == 303
    with app_db(app) as session:
        head = session.scalar(select(Letterhead))
        assert head.logo_type == "image/png" and image_size(head.logo) == (160, 180)
        stored = head.logo
    assert client.get("/kop/logo").data == stored
    from tests.documents.conftest import pdf_reader

    reader = pdf_reader(client.get(f"/sesi/{meeting.session}/dokumen/acara.pdf"))
    images = reader.pages[0].images
    assert len(images) == 1
    assert "BAPPEDA KOTA HARAPAN JAYA" in reader.pages[0].extract_text()  # the kop is set in capitals
    # A PDF named .png, a script and an oversized image are all refused; the stored logo stays.
    for content, name in ((PDF_BYTES, "lambang.png"), (b"<script>alert(1)</script>", "lambang.jpg"),
                          (b"\x89PNG\r\n\x1a\n" + b"\x00" * (1024 * 1024 + 10), "besar.png"),
                          (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "rusak.png"), (png_logo()[:300], "terpotong.png")):
        response = post_form(client, "/kop", {**form, "institution_name": "Nama Baru",
                                              "logo": (io.BytesIO(content), name)},
                             content_type="multipart/form-data")
        assert response.status_code == 400, name
        page = response.get_data(as_text=True)
        assert 'value="Nama Baru"' in page and ("PNG atau JPEG" in page or "1 MB" in page or "tidak dapat dibaca" in page)
    with app_db(app) as session:
        head = session.scalar(select(Letterhead))
        assert head.institution_name == "Bappeda Kota Harapan Jaya" and head.logo == stored
    # Removing the logo.
    assert post_form(client, "/kop", {**form, "remove_logo": "y"}).status_code == 303
    with app_db(app) as session:
        assert session.scalar(select(Letterhead)).logo is None
        assert session.scalar(select(func.count(Letterhead.id))) == 1
        assert audit_actions(session).count("letterhead.updated") == 2


# Hostile input ----------------------------------------------------------------------------------

def test_hostile_input_on_every_documents_form(app, client, meeting):
    from tests.test_hostile_forms import hammer

    sid = meeting.session
    url = f"/sesi/{sid}/acara"
    post_form(client, f"{url}/susun", {}, token_from=url)
    with app_db(app) as session:
        items = session.get(ThemedSession, sid).agenda
        agenda = {f"title_{i.id}": i.title for i in items} | {
            f"minutes_{i.id}": str(i.duration_minutes) for i in items if i.kind is not AgendaKind.PRESENTATION}
        first = items[0].id
    hammer(app, client, url, agenda, [f"title_{first}", f"minutes_{first}", f"note_{first}"])
    hammer(app, client, f"{url}/tambah", {"title": "Doa", "duration_minutes": "5"},
           ["title", "duration_minutes", "description"], token_page=url)
    hammer(app, client, f"/sesi/{sid}/dokumen", {"minutes_per_proposal": "5", "letter_nature": "biasa"},
           ["minutes_per_proposal", "invitation_notes", "chair_name", "secretary_name", "participant_representative"])
    hammer(app, client, f"/sesi/{sid}/hadir", {"nib": "3578010188888", "business_name": "Tahu", "owner_name": "Sri"},
           ["nib", "business_name", "owner_name", "phone"])
    hammer(app, client, "/kop", {"institution_name": "Bappeda"}, ["institution_name", "address", "contact"])
    for label, payload in HOSTILE.items():
        response = client.get(f"/sesi/{sid}/hadir", query_string={"cari": payload, "baru": payload})
        assert response.status_code == 200, label
        response = client.get(f"/sesi/{sid}/usulan-kertas", query_string={"nib": payload, "usaha": payload})
        assert not is_server_error(response), label
    # Whatever was accepted prints literally in every document.
    for slug in ("undangan", "acara", "daftar-hadir", "berita-acara"):
        response = client.get(f"/sesi/{sid}/dokumen/{slug}.pdf")
        assert response.status_code == 200, slug
        body = client.get(f"/sesi/{sid}/dokumen/{slug}").get_data(as_text=True)
        assert "<script>alert" not in body and "<img src=x" not in body


def test_a_walk_ins_paper_form_completes_the_business_registered_at_the_door(app, client, meeting):
    from tests.intake.test_roster_and_paper import PAPER

    sid = meeting.session
    post_form(client, f"/sesi/{sid}/hadir", {"nib": "3578010177777", "business_name": "Jamu Mbok Sri",
                                             "owner_name": "Sri Rahayu"})
    with app_db(app) as session:
        category = session.get(ThemedSession, sid).categories[0].id
    response = post_form(client, f"/sesi/{sid}/usulan-kertas", {
        **PAPER, "paper_form_number": "F1-0077", "nib": "3578010177777", "business_name": "Jamu Mbok Sri",
        "owner_name": "Sri Rahayu", "scale": "kecil", "kelurahan": "Jebres", "kecamatan": "Jebres",
        "category_id": str(category)})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    with app_db(app) as session:
        businesses = session.scalars(select(Business).where(Business.nib == "3578010177777")).all()
        assert len(businesses) == 1
        business = businesses[0]
        assert (business.scale.value, business.kelurahan, business.kecamatan) == ("kecil", "Jebres", "Jebres")
        assert business.kbli_list == ["13134"]
    # A registered owner's own profile is not overwritten by a facilitator's form.
    with app_db(app) as session:
        owned = session.get(Business, meeting.businesses[0])
        owned.user_id = session.get(User, meeting.planner).id  # any account stands for "owned" here
        nib, name = owned.nib, owned.name
        session.commit()
    post_form(client, f"/sesi/{sid}/usulan-kertas", {
        **PAPER, "paper_form_number": "F1-0078", "nib": nib, "business_name": name, "owner_name": "X",
        "scale": "menengah", "category_id": str(category)})
    with app_db(app) as session:
        assert session.get(Business, meeting.businesses[0]).scale.value == "mikro"


# Once finalised ---------------------------------------------------------------------------------

FROZEN = "Musrenbang sudah final: susunan acara, daftar undangan, kehadiran, dan pengaturan dokumen tetap"


def _finalise_after_the_meeting(app, client, meeting) -> dict:
    """Lay out the agenda, sign the settings, check one business in, then finalise; what the minutes print."""
    sid = meeting.session
    assert post_form(client, f"/sesi/{sid}/acara/susun", {}, token_from=f"/sesi/{sid}/acara").status_code == 303
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, sid)
        themed_session.chair_name = "Ir. Bambang Sutrisno"
        invitation_of(session, sid, meeting.businesses[0]).attended = True
        themed_session.status = SessionStatus.FINALIZED
        session.commit()
    return _minutes_inputs(app, sid)


def _minutes_inputs(app, sid) -> dict:
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, sid)
        return {
            "agenda": [(i.id, i.title, i.duration_minutes, i.description, i.position) for i in themed_session.agenda],
            "settings": (themed_session.minutes_per_proposal, themed_session.chair_name, themed_session.invitation_notes,
                         themed_session.letter_number, themed_session.letter_nature, themed_session.letter_date,
                         themed_session.signatory_nip),
            "roster": sorted((i.business_id, i.attended, i.walk_in) for i in themed_session.invitations),
            "businesses": session.scalar(select(func.count(Business.id))),
            "paper_forms": themed_session.paper_forms_printed,
            "events": len(audit_actions(session)),
        }


def test_a_finalised_sessions_pages_show_the_record_read_only(app, client, meeting):
    sid = meeting.session
    _finalise_after_the_meeting(app, client, meeting)
    for path, form_actions in (
            (f"/sesi/{sid}/dokumen", [f"/sesi/{sid}/dokumen"]),
            (f"/sesi/{sid}/acara", [f"/sesi/{sid}/acara"]),
            (f"/sesi/{sid}/hadir", [f"/sesi/{sid}/hadir"]),
            (f"/sesi/{sid}/undangan", [f"/sesi/{sid}/undangan"])):
        page = client.get(path).get_data(as_text=True)
        assert FROZEN in page, path
        posts = re.findall(r'<form method="post" action="([^"]+)"', page)
        assert not [action for action in posts if any(action.startswith(a) for a in form_actions)], (path, posts)
    assert "Ir. Bambang Sutrisno" in client.get(f"/sesi/{sid}/dokumen").get_data(as_text=True)
    agenda = client.get(f"/sesi/{sid}/acara").get_data(as_text=True)
    assert "Sambutan Kepala Bappeda" in agenda and "/acara/tambah" not in agenda and "/pindah" not in agenda
    blank = client.get(f"/sesi/{sid}/formulir-kosong").get_data(as_text=True)
    assert "usulan kertas tidak diterima lagi" in blank and 'name="count"' not in blank
    assert "Usulan kertas dapat dientri selama" in client.get(f"/sesi/{sid}/usulan-kertas").get_data(as_text=True)


def test_a_finalised_session_refuses_every_change_to_what_the_minutes_print(app, client, meeting):
    sid = meeting.session
    before = _finalise_after_the_meeting(app, client, meeting)
    first, last = before["agenda"][0][0], before["agenda"][-1][0]
    with app_db(app) as session:
        present = invitation_of(session, sid, meeting.businesses[0]).id
        absent = invitation_of(session, sid, meeting.businesses[1]).id
        outsider = make_business(nib="3578010177777", name="Batik Baru").id
        session.commit()
    before = _minutes_inputs(app, sid)
    settings = {"minutes_per_proposal": "9", "invitation_notes": "Lain.", "chair_name": "Orang Lain",
                "secretary_name": "", "participant_representative": "", "letter_nature": "segera",
                "letter_number": "005/1/X", "letter_date": "2027-03-01", "signatory_nip": "197001011995031001"}
    agenda = {f"title_{item[0]}": "Diubah" for item in before["agenda"]} | {
        f"minutes_{item[0]}": "3" for item in before["agenda"]}
    roster_csv = ("nib,nama_usaha\n3578010177777,Batik Baru\n").encode()
    for path, data, kwargs in (
            (f"/sesi/{sid}/dokumen", settings, {}),
            (f"/sesi/{sid}/acara", agenda, {}),
            (f"/sesi/{sid}/acara/susun", {}, {}),
            (f"/sesi/{sid}/acara/tambah", {"title": "Doa", "duration_minutes": "5"}, {}),
            (f"/sesi/{sid}/acara/{first}/pindah", {"arah": "turun"}, {}),
            (f"/sesi/{sid}/acara/{last}/hapus", {}, {}),
            (f"/sesi/{sid}/hadir/{absent}", {"hadir": "1"}, {}),
            (f"/sesi/{sid}/hadir/{present}", {"hadir": "0"}, {}),
            (f"/sesi/{sid}/undangan", {"business_id": str(outsider)}, {}),
            (f"/sesi/{sid}/undangan/{absent}/hapus", {}, {}),
            (f"/sesi/{sid}/undangan/impor", {"file": (io.BytesIO(roster_csv), "undangan.csv")},
             {"content_type": "multipart/form-data"}),
            (f"/sesi/{sid}/formulir-kosong", {"count": "5"}, {})):
        response = post_form(client, path, data, token_from="/", **kwargs)
        assert response.status_code == 303, (path, response.status_code)
        assert response.mimetype != "application/pdf"
        message = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "sudah final" in message, path
    walk_in = post_form(client, f"/sesi/{sid}/hadir", {"nib": "3578010188888", "business_name": "Tahu Bu Sri",
                                                       "owner_name": "Sri Wahyuni"}, token_from="/")
    assert walk_in.status_code == 400 and FROZEN in walk_in.get_data(as_text=True)
    assert _minutes_inputs(app, sid) == before  # nothing changed, nothing recorded


def test_the_services_refuse_the_same_changes_on_every_channel(app, meeting):
    from participation.documents import services as documents
    from participation.intake import services as intake
    from participation.review.ranking import build_ranking

    with app_db(app) as session:
        themed_session = session.get(ThemedSession, meeting.session)
        actor = as_actor(session.get(User, meeting.facilitator))
        ranking = build_ranking(themed_session, stability=False)
        documents.build_agenda(themed_session, ranking, actor)
        item = themed_session.agenda[0]
        invitation = invitation_of(session, meeting.session, meeting.businesses[1])
        themed_session.status = SessionStatus.ARCHIVED  # archived is as final as finalized
        session.flush()
        for operation in (
                lambda: documents.update_settings(themed_session, {"chair_name": "X"}, actor),
                lambda: documents.build_agenda(themed_session, ranking, actor),
                lambda: documents.update_agenda(themed_session, {i.id: {"title": "X"} for i in themed_session.agenda},
                                                actor),
                lambda: documents.add_agenda_item(themed_session, ranking, "Doa", 5, actor),
                lambda: documents.move_agenda_item(themed_session, item, 1, actor),
                lambda: documents.remove_agenda_item(themed_session, item, actor),
                lambda: documents.check_in(invitation, True, actor)):
            with pytest.raises(documents.DocumentsError, match="finalized"):
                operation()
        for operation in (lambda: intake.invite(themed_session, [meeting.businesses[0]], actor),
                          lambda: intake.uninvite(invitation, actor),
                          lambda: intake.import_roster(themed_session, "r.csv", b"nib,nama_usaha\n", actor),
                          lambda: intake.allocate_paper_forms(themed_session, 3, actor)):
            with pytest.raises(intake.IntakeError, match="finalized"):
                operation()
        session.rollback()
