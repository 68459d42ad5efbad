"""The walk-in form at the door: every missing field at once, and the phone carried to the paper form."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from participation.models import Business
from tests.conftest import app_db, post_form
from tests.proposals.test_form_messages import summary_items


def test_an_empty_walk_in_lists_every_missing_field_and_keeps_the_search_from_taking_focus(app, client, meeting):
    sid = meeting.session
    response = post_form(client, f"/sesi/{sid}/hadir", {"nib": "", "business_name": "", "owner_name": "",
                                                        "phone": ""})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert summary_items(body) == ["NIB: Isi NIB.", "Nama usaha: Isi nama usaha.", "Nama pemilik: Isi nama pemilik."]
    # The summary takes focus (autofocus, no script needed); the search box no longer does.
    assert re.search(r'<div class="alert alert-danger error-summary"[^>]*\bautofocus\b', body)
    assert not re.search(r'<input type="search"[^>]*autofocus', body)
    assert re.search(r'<input type="search"[^>]*autofocus', client.get(f"/sesi/{sid}/hadir").get_data(as_text=True))
    with app_db(app) as session:
        assert session.scalar(select(func.count(Business.id))) == 12


def test_the_walk_ins_phone_carries_over_to_the_paper_form(app, client, meeting):
    sid = meeting.session
    response = post_form(client, f"/sesi/{sid}/hadir", {"nib": "3578010177777", "business_name": "Tahu Bu Sri",
                                                        "owner_name": "Sri Wahyuni", "phone": "0813 2222 3333"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    link = re.search(r'href="([^"]*usulan-kertas[^"]*)"[^>]*>Masukkan usulan kertasnya', page)
    assert link, "no link to the paper form"
    url = link.group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(url).query)["telepon"] == ["+6281322223333"]
    paper = client.get(url).get_data(as_text=True)
    assert re.search(r'id="phone"[^>]*value="\+6281322223333"', paper)
    assert re.search(r'id="business_name"[^>]*value="Tahu Bu Sri"', paper)
    # A walk-in without a phone leaves the paper form's phone empty.
    response = post_form(client, f"/sesi/{sid}/hadir", {"nib": "3578010166666", "business_name": "Tempe Pak Jo",
                                                        "owner_name": "Jono"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    url = re.search(r'href="([^"]*usulan-kertas[^"]*)"[^>]*>Masukkan usulan kertasnya', page).group(1)
    assert "telepon" not in url
    assert re.search(r'id="phone"[^>]*value=""', client.get(url.replace("&amp;", "&")).get_data(as_text=True))
