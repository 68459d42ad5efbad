"""WhatsApp where people are (issue 12): click-to-chat links with a prefilled message, nothing sent."""
from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from participation import whatsapp
from participation.models import User
from tests.conftest import app_db, login
from tests.hostile import HOSTILE

LINK = re.compile(r'href="(https://wa\.me/[^"]+)"')


def message_of(link: str) -> str:
    parts = urlsplit(link.replace("&amp;", "&"))
    return parse_qs(parts.query)["text"][0]


@pytest.mark.parametrize("phone, number", [("+6281234567890", "6281234567890"), ("+62895123456789", "62895123456789")])
def test_a_link_opens_a_chat_with_the_number_and_the_message_typed_in(phone, number):
    link = whatsapp.chat_link(phone, "Yth. Ibu Sri,\nundangan rapat & diskusi? 100%")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "wa.me", f"/{number}")
    assert parse_qs(parts.query)["text"] == ["Yth. Ibu Sri,\nundangan rapat & diskusi? 100%"]


@pytest.mark.parametrize("phone", [None, "", "0274123456", "+1555123456", "+62 812", "6281234567890"])
def test_no_link_without_a_number_whatsapp_can_take(phone):
    assert whatsapp.chat_link(phone, "Halo") is None


@pytest.mark.parametrize("name", ["script_tag", "template", "crlf", "formula", "unicode", "img_onerror"])
def test_hostile_text_stays_inside_the_message(name):
    link = whatsapp.chat_link("+6281234567890", HOSTILE[name])
    assert re.fullmatch(r"https://wa\.me/6281234567890\?text=[A-Za-z0-9%._~-]*", link)
    assert unquote(link.split("text=", 1)[1]) == HOSTILE[name]


@pytest.fixture
def world(make_world):
    return make_world(facilitator=True, owner=True, invited=True, title="Musrenbang Tematik Kuliner",
                      venue="Aula Bappeda", meeting_start=datetime(2027, 2, 12, 2, 0),
                      proposals=[{"business": "owner", "title": "Oven pengering <b>keripik</b>"}])


def test_the_roster_offers_the_invitation_by_whatsapp(app, client, world, login_as):
    from participation.extensions import db
    from participation.models import Business

    with app_db(app) as session:
        business = session.get(Business, world.businesses[0])
        owner_name, phone = business.owner_name, business.phone
        silent = Business(nib="3201019999999", owner_name="Tanpa Telepon", scale="mikro", kelurahan="", kecamatan="")
        silent.set_name("Usaha Tanpa Telepon")
        silent.kbli_list = ["10794"]
        session.add(silent)
        session.commit()
        silent_id = silent.id
    with app.app_context():
        from participation.events import Actor
        from participation.intake.services import invite
        from participation.models import ThemedSession

        invite(db.session.get(ThemedSession, world.session), [silent_id], Actor.cli())
        db.session.commit()
    login_as(world.facilitator)
    page = client.get(f"/sesi/{world.session}/undangan").get_data(as_text=True)
    links = LINK.findall(page)
    assert len(links) == 1  # the business without a phone has none
    assert links[0].startswith(f"https://wa.me/{phone.removeprefix('+')}?text=")
    text = message_of(links[0])
    assert text.startswith(f"Yth. {owner_name},")
    assert "Musrenbang Tematik Kuliner" in text and "Jumat, 12 Februari 2027" in text
    assert "09.00 WIB" in text and "Aula Bappeda" in text
    assert 'target="_blank" rel="noopener noreferrer"' in page


def test_staff_send_the_receipt_by_whatsapp_and_the_owner_sees_no_such_link(app, client, world, login_as):
    from participation.models import Proposal

    with app_db(app) as session:
        proposal = session.get(Proposal, world.proposals[0])
        receipt, proposal_id = proposal.receipt_number, proposal.id
    login_as(world.facilitator)
    page = client.get(f"/usulan/{proposal_id}").get_data(as_text=True)
    [link] = LINK.findall(page)
    text = message_of(link)
    assert receipt in text and "Oven pengering <b>keripik</b>" in text  # literal in the message
    assert f"/usulan/{proposal_id}" in text  # the owner has an account to follow it
    owner = app.test_client()
    with app_db(app) as session:
        assert login(owner, session.get(User, world.owner).email).status_code == 303
    assert LINK.findall(owner.get(f"/usulan/{proposal_id}").get_data(as_text=True)) == []
