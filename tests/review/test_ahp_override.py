"""AHP: every level in words in both languages; inconsistent weights applied only with a reason, audited, printed."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from participation.models import AuditEvent, SessionStatus, ThemedSession
from tests.conftest import app_db, post_form
from tests.documents.conftest import pdf_reader, pdf_text
from tests.hostile import HOSTILE, is_server_error

REASON = "Forum sepakat urgensi diutamakan meskipun tidak konsisten."
REFUSED = "Perbandingan tidak konsisten (CR di atas 0,10): untuk tetap menerapkan bobot ini, tuliskan alasannya."


@pytest.fixture
def world(make_world, login_as):
    """A session in review with one rated proposal; the planner signed in."""
    world = make_world(status=SessionStatus.REVIEW, proposals=[{"title": "Usulan pertama", "rated": 4}])
    login_as(world.planner)
    return world


def comparisons(app, world, *, consistent: bool) -> dict:
    """Urgency three times as important as every other criterion; inconsistent adds a circle of preferences."""
    with app_db(app) as session:
        ids = [c.id for c in session.get(ThemedSession, world.session).criteria]
    data = {f"p{a}_{b}": "1" for i, a in enumerate(ids) for b in ids[i + 1:]}
    for other in ids[1:]:
        data[f"p{ids[0]}_{other}"] = "3"
    if not consistent:
        data[f"p{ids[1]}_{ids[2]}"] = "9"
        data[f"p{ids[2]}_{ids[3]}"] = "9"
        data[f"p{ids[1]}_{ids[3]}"] = "1/9"
    return data


def state(app, world):
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "session.weights_set")).all()
        return (themed_session.weights_origin.value, themed_session.ahp_cr, themed_session.ahp_override_reason,
                [event.after for event in events])


def test_every_saaty_level_is_in_words_in_indonesian_and_in_english(app, client, world):
    page = client.get(f"/sesi/{world.session}/ahp").get_data(as_text=True)
    first = re.search(r'<select[^>]*name="(p\d+_\d+)"[^>]*>(.*?)</select>', page, re.S)
    options = [" ".join(text.split()) for text in re.findall(r"<option[^>]*>([^<]*)</option>", first.group(2))]
    assert len(options) == 17
    assert options[:9] == [
        "9 — Urgensi mutlak lebih penting", "8 — Urgensi antara sangat jelas dan mutlak lebih penting",
        "7 — Urgensi sangat jelas lebih penting", "6 — Urgensi antara jelas dan sangat jelas lebih penting",
        "5 — Urgensi jelas lebih penting", "4 — Urgensi antara sedikit dan jelas lebih penting",
        "3 — Urgensi sedikit lebih penting", "2 — Urgensi antara sama penting dan sedikit lebih penting",
        "1 — sama penting"]
    assert options[9] == ("1/2 — Kesesuaian dengan prioritas daerah (RPJMD) antara sama penting dan sedikit "
                          "lebih penting")
    assert "important" not in page  # not one English word left among the levels
    post_form(client, "/bahasa", {"locale": "en"}, token_from=f"/sesi/{world.session}/ahp")
    page = client.get(f"/sesi/{world.session}/ahp").get_data(as_text=True)
    assert "2 — Urgensi is equally to moderately more important" in page
    assert "8 — Urgensi is very strongly to extremely more important" in page
    assert "1/6 — Kesesuaian dengan prioritas daerah (RPJMD) is strongly to very strongly more important" in page
    assert "penting" not in page.replace("Kesesuaian dengan prioritas daerah", "")


def test_inconsistent_weights_need_a_reason_that_is_audited_and_printed_in_the_minutes(app, client, world):
    sid = world.session
    inconsistent = comparisons(app, world, consistent=False)
    # The form says so before anyone applies: after computing, the reason field and why it is needed.
    page = post_form(client, f"/sesi/{sid}/ahp", inconsistent | {"action": "compute"}).get_data(as_text=True)
    assert "Rasio konsistensi perbandingan ini di atas 0,10." in page
    assert "Alasan menerapkan bobot yang tidak konsisten" in page and "Terapkan meskipun tidak konsisten" in page
    # Applied without a reason: refused, with the comparisons kept as typed and nothing saved.
    response = post_form(client, f"/sesi/{sid}/ahp", inconsistent | {"action": "save"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and REFUSED in body
    pair = next(key for key, value in inconsistent.items() if value == "1/9")
    assert re.search(rf'name="{pair}">.*?<option selected value="1/9">', body, re.S)
    assert state(app, world) == ("manual", None, None, [])
    for short in ("abc", "x" * 501):
        response = post_form(client, f"/sesi/{sid}/ahp", inconsistent | {"action": "save", "override_reason": short})
        body = response.get_data(as_text=True)
        assert response.status_code == 400 and "Alasan harus 5 sampai 500 karakter." in body
        assert state(app, world) == ("manual", None, None, [])
    assert "\nabc</textarea>" in post_form(client, f"/sesi/{sid}/ahp", inconsistent | {
        "action": "save", "override_reason": "abc"}).get_data(as_text=True)
    # With a reason: applied, stored beside the CR, audited.
    response = post_form(client, f"/sesi/{sid}/ahp", inconsistent | {"action": "save", "override_reason": REASON})
    assert response.status_code == 303
    origin, cr, reason, audited = state(app, world)
    assert origin == "ahp" and cr > 0.10 and reason == REASON
    assert audited[-1]["override_reason"] == REASON and audited[-1]["cr"] == pytest.approx(cr)
    page = client.get(f"/sesi/{sid}/ahp").get_data(as_text=True)
    assert f"diterapkan meskipun tidak konsisten, dengan alasan: {REASON}" in page
    # The minutes print the CR and the reason, in the browser and in the PDF.
    cr_words = f"{cr:.3f}".replace(".", ",")
    text = pdf_text(pdf_reader(client.get(f"/sesi/{sid}/dokumen/berita-acara.pdf")))
    assert ("Bobot ditetapkan melalui perbandingan berpasangan (AHP), dengan rasio konsistensi "
            f"{cr_words}.") in text
    assert f"Rasio tersebut di atas 0,10; bobot tetap diterapkan dengan alasan: {REASON}" in text
    from tests.documents.test_letters import to_png

    assert to_png(client.get(f"/sesi/{sid}/dokumen/berita-acara.pdf").data, "minutes-ahp-override")
    # Consistent weights applied later need no reason, and the old one goes.
    consistent = comparisons(app, world, consistent=True)
    assert post_form(client, f"/sesi/{sid}/ahp", consistent | {"action": "save"}).status_code == 303
    origin, cr, reason, audited = state(app, world)
    assert origin == "ahp" and cr < 0.10 and reason is None and "override_reason" not in audited[-1]
    text = pdf_text(pdf_reader(client.get(f"/sesi/{sid}/dokumen/berita-acara.pdf")))
    assert "dengan rasio konsistensi 0,000." in text and REASON not in text


def test_the_override_reason_takes_hostile_text_without_harm(app, client, world):
    sid = world.session
    inconsistent = comparisons(app, world, consistent=False)
    for label, payload in HOSTILE.items():
        response = post_form(client, f"/sesi/{sid}/ahp", inconsistent | {"action": "save", "override_reason": payload})
        body = response.get_data(as_text=True)
        assert not is_server_error(response), label
        assert "<script>alert" not in body and "<img src=x" not in body, label
        if response.status_code == 303:
            with app_db(app) as session:
                stored = session.get(ThemedSession, sid).ahp_override_reason
            assert stored and 5 <= len(stored) <= 500 and "\x00" not in stored, label
            page = client.get(f"/sesi/{sid}/ahp").get_data(as_text=True)
            assert "<script>alert" not in page and ">49<" not in page, label
            minutes = client.get(f"/sesi/{sid}/dokumen/berita-acara").get_data(as_text=True)
            assert "<script>alert" not in minutes and "<img src=x" not in minutes, label
        else:
            assert response.status_code == 400, label
            assert ("Alasan" in body or "karakter" in body), label
