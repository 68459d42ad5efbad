"""Conflicts of interest: declared from the proposal page, refused rating and decision, ratings left out."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from participation.models import (
    AuditEvent,
    Business,
    ConflictKind,
    ConflictOfInterest,
    Decision,
    Proposal,
    Rating,
    SessionStatus,
    ThemedSession,
    User,
)
from tests.conftest import app_db, csrf_token, post_form
from tests.hostile import corpus_for, is_server_error
from tests.factories import as_actor


@pytest.fixture
def world(make_world):
    """A session under review: planner 1 gave every rating 5, planner 2 gave 1; a facilitator; two businesses."""
    return make_world(planners=[{"name": "Rina Perencana"}, {"name": "Dewi Lestari", "email": "dewi@contoh.id"}],
                      facilitator={"name": "Fajar Fasilitator"}, status=SessionStatus.REVIEW,
                      proposals=[{"title": "Mesin pengemas untuk keripik", "business": {"owner_name": "Ibu Sari"}},
                                 {"title": "Pelatihan pemasaran daring", "business": {"owner_name": "Pak Joko"}}],
                      rated=[5, 1])


def declare_for(app, world, planner_index=1, business_index=0, kind=ConflictKind.FAMILY):
    from participation.review.conflicts import declare

    with app_db(app) as session:
        user = session.get(User, world.planners[planner_index])
        conflict = declare(as_actor(user), user, session.get(Business, world.businesses[business_index]), kind,
                           "Sepupu pemilik")
        session.commit()
        return conflict.id


def rating_value(app, world, proposal_index=0) -> float:
    from participation.review.ranking import build_ranking

    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        ranking = build_ranking(themed_session, stability=False)
        item = next(item for item in ranking.items if item.proposal.id == world.proposals[proposal_index])
        key = next(c.key for c in themed_session.criteria if c.source.value == "rating")
        return item.values[key]


def rating_fields(app, world) -> dict:
    with app_db(app) as session:
        criteria = [c.id for c in session.get(ThemedSession, world.session).criteria if c.source.value == "rating"]
    return {f"rating_{cid}": "3" for cid in criteria}


def planner_ratings(app, planner_id) -> list[float]:
    with app_db(app) as session:
        return sorted(session.scalars(select(Rating.value).where(Rating.planner_id == planner_id)))


def test_a_planner_declares_from_the_proposal_page_and_the_rating_form_refuses(app, client, world, login_as):
    login_as(world.planners[1])
    proposal = world.proposals[0]
    page = client.get(f"/usulan/{proposal}").get_data(as_text=True)
    declare_url = f"/sesi/{world.session}/konflik/usaha/{world.businesses[0]}"
    assert f'href="{declare_url}?next=/usulan/{proposal}" data-declare-conflict' in page
    form = client.get(f"{declare_url}?next=/usulan/{proposal}").get_data(as_text=True)
    assert "Nyatakan konflik kepentingan" in form and "Ibu Sari" in form
    response = post_form(client, declare_url, {"user_id": str(world.planners[1]), "kind": "family",
                                               "note": "Pemiliknya bibi saya", "next": f"/usulan/{proposal}"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/usulan/{proposal}")
    page = client.get(f"/usulan/{proposal}").get_data(as_text=True)
    assert "Anda telah menyatakan konflik kepentingan dengan Usaha 0 (Keluarga)" in page

    rate_url = f"/sesi/{world.session}/penilaian/{proposal}"
    form = client.get(rate_url).get_data(as_text=True)
    assert "Anda tidak menilai usulan ini" in form and 'name="rating_' not in form
    before = planner_ratings(app, world.planners[1])
    versions = {}
    with app_db(app) as session:
        for rating in session.scalars(select(Rating).where(Rating.planner_id == world.planners[1],
                                                           Rating.proposal_id == proposal)):
            versions[f"version_{rating.criterion_id}"] = str(rating.version)
    refused = client.post(rate_url, data={**rating_fields(app, world), **versions,
                                          "csrf_token": csrf_token(client, f"/sesi/{world.session}/konflik")})
    assert refused.status_code == 403
    assert "Anda telah menyatakan konflik kepentingan dengan usaha ini" in refused.get_data(as_text=True)
    assert planner_ratings(app, world.planners[1]) == before  # still their old 1s, nothing saved
    listing = client.get(f"/sesi/{world.session}/penilaian").get_data(as_text=True)
    assert "Konflik kepentingan" in listing
    with app_db(app) as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "conflict.declared"))
        assert event.actor_id == world.planners[1] and event.after["kind"] == "family"
        assert event.after["note"] == "Pemiliknya bibi saya"


def test_old_ratings_leave_the_aggregate_with_a_note_and_return_on_withdrawal(app, client, world, login_as):
    assert rating_value(app, world) == pytest.approx(3.0)  # the mean of 5 and 1
    conflict_id = declare_for(app, world)
    with app_db(app) as session:
        from participation.review.conflicts import conflicted_pairs

        assert conflicted_pairs(session.get(ThemedSession, world.session)) == {(world.planners[1], world.businesses[0])}
    assert rating_value(app, world) == pytest.approx(5.0)  # the other planner's alone
    assert rating_value(app, world, 1) == pytest.approx(3.0)  # no conflict with the second business
    login_as(world.planner)
    ranking = client.get(f"/sesi/{world.session}/peringkat").get_data(as_text=True)
    assert "1 penilaian dari perencana yang berkonflik tidak dihitung." in ranking
    decide = client.get(f"/sesi/{world.session}/keputusan/{world.proposals[0]}").get_data(as_text=True)
    assert "1 penilaian dari perencana yang berkonflik tidak dihitung." in decide
    listing = client.get(f"/sesi/{world.session}/konflik").get_data(as_text=True)
    assert "Dewi Lestari" in listing and "Keluarga" in listing and "Sepupu pemilik" in listing
    response = post_form(client, f"/sesi/{world.session}/konflik/{conflict_id}/tarik", {},
                         token_from=f"/sesi/{world.session}/konflik")
    assert response.status_code == 303
    assert rating_value(app, world) == pytest.approx(3.0)
    listing = client.get(f"/sesi/{world.session}/konflik").get_data(as_text=True)
    assert "Dicabut" in listing  # kept on record as withdrawn
    with app_db(app) as session:
        conflict = session.get(ConflictOfInterest, conflict_id)
        assert conflict.withdrawn_at is not None and conflict.withdrawn_by_id == world.planner
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "conflict.withdrawn"))
        assert event.actor_id == world.planner and event.object_id == str(conflict_id)
    assert "tidak dihitung" not in client.get(f"/sesi/{world.session}/peringkat").get_data(as_text=True)


def test_a_conflicted_planner_cannot_decide(app, client, world, login_as):
    declare_for(app, world, planner_index=0)
    login_as(world.planner)
    url = f"/sesi/{world.session}/keputusan/{world.proposals[0]}"
    page = client.get(url).get_data(as_text=True)
    assert "Anda tidak memutuskan usulan ini" in page and 'name="outcome"' not in page
    response = post_form(client, url, {"outcome": "prioritized", "reason": "Sangat mendesak"},
                         token_from=f"/sesi/{world.session}/konflik")
    assert response.status_code == 403
    with app_db(app) as session:
        assert session.scalar(select(func.count(Decision.id))) == 0
    # The other business's proposal is decided as usual.
    other = post_form(client, f"/sesi/{world.session}/keputusan/{world.proposals[1]}",
                      {"outcome": "deferred", "reason": "Tahun depan"})
    assert other.status_code == 303


def test_the_service_refuses_a_conflicted_rating_and_decision(app, world):
    from participation.models import Outcome
    from participation.review.services import ReviewError, decide, save_ratings

    declare_for(app, world)
    with app_db(app) as session:
        planner = session.get(User, world.planners[1])
        proposal = session.get(Proposal, world.proposals[0])
        with pytest.raises(ReviewError) as refused:
            save_ratings(proposal, {}, {}, as_actor(planner))
        assert refused.value.code == "conflicted"
        with pytest.raises(ReviewError) as refused:
            decide(proposal, Outcome.PRIORITIZED, "Alasan", as_actor(planner))
        assert refused.value.code == "conflicted"


def test_one_active_declaration_per_pair_and_a_new_one_after_withdrawal(app, client, world, login_as):
    from participation.review.conflicts import ConflictError, declare, withdraw

    conflict_id = declare_for(app, world)
    login_as(world.planners[1])
    url = f"/sesi/{world.session}/konflik/usaha/{world.businesses[0]}"
    again = post_form(client, url, {"user_id": str(world.planners[1]), "kind": "other"})
    assert again.status_code == 409 and "Konflik kepentingan ini sudah dinyatakan." in again.get_data(as_text=True)
    with app_db(app) as session:
        user = session.get(User, world.planners[1])
        withdraw(as_actor(user), session.get(ConflictOfInterest, conflict_id))
        with pytest.raises(ConflictError):
            withdraw(as_actor(user), session.get(ConflictOfInterest, conflict_id))
        declare(as_actor(user), user, session.get(Business, world.businesses[0]), ConflictKind.OTHER, "")
        session.commit()
        assert session.scalar(select(func.count(ConflictOfInterest.id))) == 2


def test_a_planner_declares_for_a_colleague_and_a_facilitator_only_for_themself(app, client, world, login_as):
    login_as(world.planner)
    url = f"/sesi/{world.session}/konflik/usaha/{world.businesses[1]}"
    form = client.get(url).get_data(as_text=True)
    assert "Petugas yang bersangkutan" in form and "Fajar Fasilitator" in form
    assert post_form(client, url, {"user_id": str(world.facilitator), "kind": "employment"}).status_code == 303
    post_form(client, "/keluar", {}, token_from="/")
    login_as(world.facilitator)
    form = client.get(f"/sesi/{world.session}/konflik/usaha/{world.businesses[0]}").get_data(as_text=True)
    assert "Petugas yang bersangkutan" not in form
    response = post_form(client, f"/sesi/{world.session}/konflik/usaha/{world.businesses[0]}",
                         {"user_id": str(world.planners[1]), "kind": "association"})
    assert response.status_code == 303
    with app_db(app) as session:
        rows = {(c.user_id, c.business_id, c.declared_by_id) for c in session.scalars(select(ConflictOfInterest))}
    assert rows == {(world.facilitator, world.businesses[1], world.planner),  # declared by the planner
                    (world.facilitator, world.businesses[0], world.facilitator)}  # the user_id was ignored
    listing = client.get(f"/sesi/{world.session}/konflik").get_data(as_text=True)
    assert listing.count("data-conflict=") == 2  # a facilitator sees their own declarations


def test_a_business_outside_the_session_and_another_session_answer_404(app, client, world, make_world, login_as):
    other = make_world(proposals=1)
    login_as(world.planner)
    assert client.get(f"/sesi/{world.session}/konflik/usaha/{other.businesses[0]}").status_code == 404
    conflict_id = declare_for(app, world)
    response = post_form(client, f"/sesi/{other.session}/konflik/{conflict_id}/tarik", {},
                         token_from=f"/sesi/{world.session}/konflik")
    assert response.status_code == 404


@pytest.mark.parametrize("match", ["email", "phone", "name"])
def test_suggestions_find_a_staff_member_who_matches_an_owner(app, client, make_world, make_user, login_as, match):
    from participation.review.conflicts import suggestions

    staff = {"email": {"email": "budi.santoso@googlemail.com"}, "phone": {}, "name": {"name": "  budi   SANTOSO "}}[match]
    owner = make_user("proponent", email="budisantoso+usaha@gmail.com", name="Pemilik Lain",
                      business={"owner_name": "Budi Santoso", "phone": "+6281299887766", "name": "Keripik Budi"})
    world = make_world(planners=[{"name": "Perencana Utama"}, staff])
    with app_db(app) as session:
        planner = session.get(User, world.planners[1])
        if match == "phone":
            planner.phone = "0812-9988-7766"
        business = session.scalar(select(Business).where(Business.user_id == owner))
        from participation.intake.services import invite

        invite(session.get(ThemedSession, world.session), [business.id], as_actor(session.get(User, world.planner)))
        session.commit()
        found = suggestions(session.get(ThemedSession, world.session))
        assert [(s.user.id, s.business.name, s.matches) for s in found] == [(world.planners[1], "Keripik Budi", (match,))]
        assert [s.business.id for s in suggestions(planner)] == [business.id]
        business_id = business.id
    login_as(world.planners[1])
    page = client.get(f"/sesi/{world.session}/konflik").get_data(as_text=True)
    assert "Anda mungkin memiliki konflik kepentingan dengan Keripik Budi" in page
    response = post_form(client, f"/sesi/{world.session}/konflik/usaha/{business_id}",
                         {"user_id": str(world.planners[1]), "kind": "ownership", "next": f"/sesi/{world.session}/konflik"},
                         token_from=f"/sesi/{world.session}/konflik")
    assert response.status_code == 303
    page = client.get(f"/sesi/{world.session}/konflik").get_data(as_text=True)
    assert "Anda mungkin memiliki" not in page and "Kepemilikan" in page
    with app_db(app) as session:
        assert suggestions(session.get(ThemedSession, world.session)) == []


def test_no_suggestion_without_a_match(app, world):
    from participation.review.conflicts import suggestions

    with app_db(app) as session:
        assert suggestions(session.get(ThemedSession, world.session)) == []


def test_hostile_notes_are_stored_escaped_or_refused(app, client, world, login_as):
    from participation.review.conflicts import withdraw

    login_as(world.planners[1])
    url = f"/sesi/{world.session}/konflik/usaha/{world.businesses[0]}"
    for label, payload in corpus_for(app).items():
        with app_db(app) as session:
            before = session.scalar(select(func.count(ConflictOfInterest.id)))
        response = post_form(client, url, {"user_id": str(world.planners[1]), "kind": "other", "note": payload})
        assert not is_server_error(response), f"{label}: {response.status_code}"
        with app_db(app) as session:
            after = session.scalar(select(func.count(ConflictOfInterest.id)))
            if response.status_code == 303:
                conflict = session.scalar(select(ConflictOfInterest).order_by(ConflictOfInterest.id.desc()).limit(1))
                assert "\x00" not in conflict.note and len(conflict.note) <= 500
                page = client.get(f"/sesi/{world.session}/konflik").get_data(as_text=True)
                assert "<script>alert" not in page and "<img src=x" not in page and ">49<" not in page
                withdraw(as_actor(session.get(User, world.planners[1])), conflict)
                session.commit()
            else:
                assert response.status_code == 400, f"{label}: {response.status_code}"
                assert after == before, f"{label} saved something"
                assert "<script>alert" not in response.get_data(as_text=True)


def test_the_minutes_list_the_declarations(app, client, world, login_as):
    from tests.documents.conftest import pdf_reader, pdf_text

    login_as(world.planner)
    empty = pdf_text(pdf_reader(client.get(f"/sesi/{world.session}/dokumen/berita-acara.pdf")))
    assert "Tidak ada konflik kepentingan yang dinyatakan." in empty
    declare_for(app, world)
    withdrawn = declare_for(app, world, planner_index=0, business_index=1, kind=ConflictKind.EMPLOYMENT)
    post_form(client, f"/sesi/{world.session}/konflik/{withdrawn}/tarik", {}, token_from=f"/sesi/{world.session}/konflik")
    response = client.get(f"/sesi/{world.session}/dokumen/berita-acara.pdf")
    text = pdf_text(pdf_reader(response))
    with app_db(app) as session:
        from participation.i18n import long_date

        with app.test_request_context():
            declared = long_date(session.get(ConflictOfInterest, withdrawn).declared_at)
    assert "Konflik kepentingan" in text and "selama pernyataan berlaku" in text
    assert re.search(r"Dewi Lestari Usaha 0 Keluarga " + re.escape(declared) + " Rina", text), text  # oldest first
    assert re.search(r"Rina Perencana Usaha 1 Pekerjaan " + re.escape(declared) + " dicabut " + re.escape(declared), text), text
    from pathlib import Path

    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts" / "documents"
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / f"minutes-conflicts-{app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}.pdf").write_bytes(response.data)


def test_the_list_says_how_many_ratings_a_proposal_waits_for_fewer_where_a_planner_is_conflicted(
        app, client, make_world, login_as):
    world = make_world(planners=3, status=SessionStatus.REVIEW, rated=[4, None, None],
                       proposals=[{"title": "Mesin pengemas untuk keripik"}, {"title": "Pelatihan pemasaran daring"}])
    declare_for(app, world, planner_index=2, business_index=0)
    login_as(world.planner)
    body = client.get(f"/sesi/{world.session}/peringkat").get_data(as_text=True)
    hints = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S):
        for receipt in world.receipts:
            if receipt in row:
                hints[receipt] = re.search(r"data-required-raters>([^<]*)<", row).group(1)
    # Every planner must rate: three for the second proposal, two for the first (one is conflicted).
    assert hints == {world.receipts[0]: "(nilai dihitung setelah 2 perencana menilai)",
                     world.receipts[1]: "(nilai dihitung setelah 3 perencana menilai)"}
    declare_for(app, world, planner_index=1, business_index=0)
    declare_for(app, world, planner_index=0, business_index=0)
    body = client.get(f"/sesi/{world.session}/peringkat").get_data(as_text=True)
    assert "setiap perencana sesi ini memiliki konflik kepentingan dengan usaha ini" in body
