"""One definition of "attended": the check-in counter, the attendance list and the minutes agree."""
from __future__ import annotations

import re

from sqlalchemy import select

from participation.models import Invitation, ThemedSession
from tests.conftest import app_db, post_form
from tests.documents.conftest import INVITED, pdf_reader, pdf_text


def check_in(client, sid, invitation_id, present: bool):
    response = post_form(client, f"/sesi/{sid}/hadir/{invitation_id}", {"hadir": "1" if present else "0"},
                         token_from=f"/sesi/{sid}/hadir")
    assert response.status_code == 303


def walk_in(client, sid, nib, name, owner):
    response = post_form(client, f"/sesi/{sid}/hadir", {"nib": nib, "business_name": name, "owner_name": owner})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]


def test_check_in_counter_attendance_list_and_minutes_agree(app, client, meeting):
    from participation.documents.attendance import Attendance, attendance_counts
    from participation.documents.render import BLANK_ATTENDANCE_ROWS

    sid = meeting.session
    with app_db(app) as session:
        invitations = {i.business_id: i.id for i in session.scalars(
            select(Invitation).where(Invitation.session_id == sid))}
    # Two invited businesses come, one is checked in by mistake and undone; the other nine stay away.
    for business_id in meeting.businesses[:3]:
        check_in(client, sid, invitations[business_id], True)
    check_in(client, sid, invitations[meeting.businesses[2]], False)
    # Two walk-ins come; a third is registered and then taken back (not present).
    walk_in(client, sid, "3578010100001", "Kerupuk Ikan Bu Darmi", "Darmi Lestari")
    walk_in(client, sid, "3578010100002", "Jamu Gendong Mbok Sri", "Sri Rahayu")
    walk_in(client, sid, "3578010100003", "Batik Salah Daftar", "Salah Orang")
    with app_db(app) as session:
        mistaken = session.scalar(select(Invitation.id).where(Invitation.session_id == sid, Invitation.walk_in.is_(True))
                                  .order_by(Invitation.id.desc()))
    check_in(client, sid, mistaken, False)

    with app_db(app) as session:
        assert attendance_counts(session.get(ThemedSession, sid)) == Attendance(invited=INVITED, invited_present=2,
                                                                                walk_ins=2)
    checkin = client.get(f"/sesi/{sid}/hadir").get_data(as_text=True)
    assert re.search(r"<strong>4</strong> hadir · 12 diundang, 2 datang langsung", checkin)
    index = client.get(f"/sesi/{sid}/dokumen").get_data(as_text=True)
    assert "2 hadir dari 12 diundang, 2 datang langsung" in index

    from tests.documents.test_letters import to_png

    attendance_pdf = client.get(f"/sesi/{sid}/dokumen/daftar-hadir.pdf")
    to_png(attendance_pdf.data, "attendance-with-walk-ins")
    attendance = pdf_text(pdf_reader(attendance_pdf))
    assert "Tercatat hadir: 4 orang, 2 dari 12 undangan dan 2 tanpa undangan." in attendance
    assert "Kerupuk Ikan Bu Darmi" in attendance and "Jamu Gendong Mbok Sri" in attendance
    assert "Batik Salah Daftar" not in attendance  # not present, not invited: not on the list
    rows = INVITED + 2 + BLANK_ATTENDANCE_ROWS
    assert re.search(rf"\b{rows}\b", attendance) and not re.search(rf"\b{rows + 1}\.", attendance)

    minutes_pdf = client.get(f"/sesi/{sid}/dokumen/berita-acara.pdf")
    to_png(minutes_pdf.data, "minutes-with-walk-ins")
    minutes = pdf_text(pdf_reader(minutes_pdf))
    assert ("dihadiri oleh 2 dari 12 pelaku usaha yang diundang dan 2 pelaku usaha yang datang tanpa undangan: "
            "seluruhnya 4 peserta") in minutes
