"""Planners create themed sessions from the template, edit them and move them through their life."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from participation.models import AuditEvent, CriterionSource, SessionStatus, ThemedSession, User
from tests.conftest import app_db, csrf_token, post_form
from tests.factories import as_actor, make_business, make_proposal, make_session

NEW_SESSION = {
    "title": "Musrenbang Tematik Ekonomi Kreatif",
    "theme": "Penguatan produk kreatif lokal",
    "description": "Forum usulan pelaku ekonomi kreatif.",
    "venue": "Aula Bappeda",
    "submission_opens_at": "2027-01-05T08:00",
    "submission_closes_at": "2027-01-31T16:00",
    "meeting_start": "2027-02-12T09:00",
    "fiscal_year": "2028",
    "budget_ceiling": "2.500.000.000",
    "max_proposals_per_business": "2",
    "scoring_method": "saw",
    "normalization": "minmax",
    "selection_method": "greedy",
}


@pytest.fixture
def planner(make_user, login_as):
    user_id = make_user("planner", email="perencana@contoh.id")
    login_as(user_id)
    return user_id


def _session(app, session_id=None) -> ThemedSession:
    with app_db(app) as session:
        query = select(ThemedSession)
        if session_id:
            query = query.where(ThemedSession.id == session_id)
        themed_session = session.scalars(query).first()
        _ = (themed_session.categories, themed_session.criteria, themed_session.members)  # load them
        session.expunge_all()
        return themed_session


def test_planner_creates_a_session_from_the_default_template(app, client, planner):
    response = post_form(client, "/sesi/baru", NEW_SESSION)
    assert response.status_code == 303
    themed_session = _session(app)
    assert response.headers["Location"].endswith(f"/sesi/{themed_session.id}")
    assert themed_session.status is SessionStatus.DRAFT
    assert themed_session.budget_ceiling == 2_500_000_000
    assert [c.name for c in themed_session.categories] == [
        "Bantuan peralatan", "Fasilitasi merek", "Sertifikasi halal", "Pelatihan dan pendampingan",
        "Promosi produk unggulan daerah", "Modal kerja usaha mikro", "Fasilitasi pemasaran",
        "Peningkatan kapasitas SDM"]
    criteria = {c.key: c for c in themed_session.criteria}
    assert list(criteria) == ["urgensi", "kesesuaian_rpjmd", "kesiapan_pelaksanaan", "penerima_manfaat",
                              "tenaga_kerja_baru", "perkiraan_biaya", "dukungan_peserta"]
    assert criteria["perkiraan_biaya"].direction == -1 and criteria["perkiraan_biaya"].source is CriterionSource.ESTIMATED_COST
    assert criteria["urgensi"].source is CriterionSource.RATING and (criteria["urgensi"].scale_min, criteria["urgensi"].scale_max) == (1, 5)
    assert criteria["dukungan_peserta"].source is CriterionSource.VOTES
    assert sum(c.weight for c in themed_session.criteria) == pytest.approx(1.0)
    assert [m.id for m in themed_session.members] == [planner]
    # Times are typed in Asia/Jakarta and stored in UTC.
    assert themed_session.submission_opens_at.hour == 1 and themed_session.meeting_start.hour == 2
    page = client.get(f"/sesi/{themed_session.id}").get_data(as_text=True)
    assert "Rp2.500.000.000" in page and "5 Januari 2027 08.00" in page


@pytest.mark.parametrize("field,value,message", [
    ("title", "", "Isi judul."),
    ("budget_ceiling", "0", "Pagu anggaran harus lebih dari nol."),
    ("budget_ceiling", "dua miliar", "Isi bilangan bulat"),
    ("submission_closes_at", "2027-01-01T08:00", "Pengajuan harus ditutup setelah dibuka."),
    ("submission_opens_at", "besok", "Tanggal dan waktu tidak valid."),
    ("fiscal_year", "1999", "Isi tahun antara 2020 dan 2100."),
    ("max_proposals_per_business", "0", "Isi 1 sampai 20."),
    ("scoring_method", "ahp", "Pilihan tidak valid."),
])
def test_session_form_errors_keep_the_data(app, client, planner, field, value, message):
    response = post_form(client, "/sesi/baru", {**NEW_SESSION, field: value})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in body
    assert 'value="Penguatan produk kreatif lokal"' in body  # the typed data is kept
    with app_db(app) as session:
        assert session.scalar(select(ThemedSession)) is None


def test_editing_is_audited_with_before_and_after(app, client, planner):
    post_form(client, "/sesi/baru", NEW_SESSION)
    themed_session = _session(app)
    response = post_form(client, f"/sesi/{themed_session.id}/ubah", {**NEW_SESSION, "venue": "Gedung Serbaguna"})
    assert response.status_code == 303
    with app_db(app) as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "session.updated"))
        assert event.before == {"venue": "Aula Bappeda"} and event.after == {"venue": "Gedung Serbaguna"}


def test_categories_are_added_reordered_and_removed(app, client, planner):
    post_form(client, "/sesi/baru", NEW_SESSION)
    sid = _session(app).id
    assert post_form(client, f"/sesi/{sid}/kategori", {"name": "Digitalisasi usaha"}, token_from=f"/sesi/{sid}").status_code == 303
    assert post_form(client, f"/sesi/{sid}/kategori", {"name": "digitalisasi USAHA"}, token_from=f"/sesi/{sid}").status_code == 303
    names = [c.name for c in _session(app, sid).categories]
    assert names.count("Digitalisasi usaha") == 1 and len(names) == 9
    new = _session(app, sid).categories[-1]
    post_form(client, f"/sesi/{sid}/kategori/{new.id}/pindah", {"arah": "naik"}, token_from=f"/sesi/{sid}")
    moved = [c.name for c in _session(app, sid).categories]
    assert moved == names[:7] + ["Digitalisasi usaha", names[7]]  # the neighbour moved down, not away
    post_form(client, f"/sesi/{sid}/kategori/{new.id}/pindah", {"arah": "naik"}, token_from=f"/sesi/{sid}")
    first = _session(app, sid).categories[0]
    post_form(client, f"/sesi/{sid}/kategori/{first.id}/pindah", {"arah": "naik"}, token_from=f"/sesi/{sid}")
    assert [c.name for c in _session(app, sid).categories] == names[:6] + ["Digitalisasi usaha"] + names[6:8]
    post_form(client, f"/sesi/{sid}/kategori/{new.id}/hapus", {}, token_from=f"/sesi/{sid}")
    assert "Digitalisasi usaha" not in [c.name for c in _session(app, sid).categories]
    assert post_form(client, f"/sesi/{sid}/kategori/{new.id}/pindah", {"arah": "ke-samping"},
                     token_from=f"/sesi/{sid}").status_code in (400, 404)


def test_a_category_in_use_cannot_be_removed(app, client, planner):
    with app_db(app) as session:
        themed_session = make_session(session.get(User, planner))
        make_proposal(themed_session, make_business())
        sid, category_id = themed_session.id, themed_session.categories[0].id
        session.commit()
    response = post_form(client, f"/sesi/{sid}/kategori/{category_id}/hapus", {}, token_from=f"/sesi/{sid}")
    assert response.status_code == 303
    assert "Kategori ini dipakai oleh usulan" in client.get(f"/sesi/{sid}").get_data(as_text=True)
    assert len(_session(app, sid).categories) == 8


def test_criteria_are_added_edited_weighted_and_removed_in_draft(app, client, planner):
    post_form(client, "/sesi/baru", NEW_SESSION)
    sid = _session(app).id
    response = post_form(client, f"/sesi/{sid}/kriteria/baru", {
        "name": "Dampak lingkungan", "source": "rating", "direction": "1", "weight": "0,1",
        "scale_min": "1", "scale_max": "5"})
    assert response.status_code == 303
    criterion = _session(app, sid).criteria[-1]
    assert (criterion.key, criterion.weight, criterion.direction) == ("dampak_lingkungan", 0.1, 1)
    response = post_form(client, f"/sesi/{sid}/kriteria/{criterion.id}", {
        "name": "Dampak lingkungan", "source": "votes", "direction": "-1", "weight": "5",
        "scale_min": "1", "scale_max": "5"})
    assert response.status_code == 303
    edited = _session(app, sid).criteria[-1]
    assert (edited.source, edited.direction, edited.weight) == (CriterionSource.VOTES, -1, 5.0)
    keys = [c.key for c in _session(app, sid).criteria]
    post_form(client, f"/sesi/{sid}/kriteria/{criterion.id}/pindah", {"arah": "naik"}, token_from=f"/sesi/{sid}")
    assert [c.key for c in _session(app, sid).criteria] == keys[:6] + [keys[7], keys[6]]
    post_form(client, f"/sesi/{sid}/kriteria/{criterion.id}/pindah", {"arah": "turun"}, token_from=f"/sesi/{sid}")
    assert [c.key for c in _session(app, sid).criteria] == keys
    post_form(client, f"/sesi/{sid}/kriteria/{criterion.id}/hapus", {}, token_from=f"/sesi/{sid}")
    assert len(_session(app, sid).criteria) == 7


@pytest.mark.parametrize("changes,message", [
    ({"weight": "-1"}, "Isi angka seperti 20 atau 0,25."),
    ({"weight": "1e9"}, "Isi angka seperti 20 atau 0,25."),
    ({"scale_min": "5", "scale_max": "3"}, "Batas atas skala harus lebih besar dari batas bawahnya."),
    ({"direction": "0"}, "Pilihan tidak valid."),
    ({"source": "random"}, "Pilihan tidak valid."),
])
def test_criterion_form_errors(app, client, planner, changes, message):
    post_form(client, "/sesi/baru", NEW_SESSION)
    sid = _session(app).id
    data = {"name": "Dampak", "source": "rating", "direction": "1", "weight": "1", "scale_min": "1",
            "scale_max": "5", **changes}
    response = post_form(client, f"/sesi/{sid}/kriteria/baru", data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert len(_session(app, sid).criteria) == 7


def test_weights_page_sets_every_weight_at_once_and_is_audited(app, client, planner):
    post_form(client, "/sesi/baru", NEW_SESSION)
    themed_session = _session(app)
    sid = themed_session.id
    data = {f"weight_{c.id}": "10" for c in themed_session.criteria}
    data.update({f"direction_{c.id}": str(c.direction) for c in themed_session.criteria})
    data[f"weight_{themed_session.criteria[0].id}"] = "40"
    assert post_form(client, f"/sesi/{sid}/bobot", data).status_code == 303
    weights = [c.weight for c in _session(app, sid).criteria]
    assert weights == [40.0] + [10.0] * 6
    page = client.get(f"/sesi/{sid}").get_data(as_text=True)
    assert "40,0 %" in page  # shown normalised: 40 / 100
    zero = {key: ("0" if key.startswith("weight_") else value) for key, value in data.items()}
    response = post_form(client, f"/sesi/{sid}/bobot", zero)
    assert response.status_code == 400 and "harus berbobot lebih dari nol" in response.get_data(as_text=True)
    with app_db(app) as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "session.weights_set"))
        assert event.after["urgensi"] == {"weight": 40.0, "direction": 1}


def test_session_cannot_open_without_criteria_or_window(app, client, planner):
    post_form(client, "/sesi/baru", {**NEW_SESSION, "submission_opens_at": "", "submission_closes_at": ""})
    themed_session = _session(app)
    sid = themed_session.id
    for criterion in themed_session.criteria:
        post_form(client, f"/sesi/{sid}/kriteria/{criterion.id}/hapus", {}, token_from=f"/sesi/{sid}")
    response = post_form(client, f"/sesi/{sid}/status", {"action": "open"}, token_from=f"/sesi/{sid}")
    assert response.status_code == 303
    page = client.get(f"/sesi/{sid}").get_data(as_text=True)
    assert "Tambahkan setidaknya satu kriteria." in page and "Tetapkan jadwal pengajuan usulan." in page
    assert _session(app, sid).status is SessionStatus.DRAFT


def test_life_cycle_transitions_are_guarded_and_audited(app, client, planner):
    post_form(client, "/sesi/baru", NEW_SESSION)
    sid = _session(app).id
    for action, expected in (("open", SessionStatus.OPEN), ("close", SessionStatus.REVIEW),
                             ("reopen", SessionStatus.OPEN), ("close", SessionStatus.REVIEW)):
        assert post_form(client, f"/sesi/{sid}/status", {"action": action}, token_from=f"/sesi/{sid}").status_code == 303
        assert _session(app, sid).status is expected
    post_form(client, f"/sesi/{sid}/status", {"action": "open"}, token_from=f"/sesi/{sid}")  # wrong state
    post_form(client, f"/sesi/{sid}/status", {"action": "finalize-now"}, token_from=f"/sesi/{sid}")
    assert _session(app, sid).status is SessionStatus.REVIEW
    with app_db(app) as session:
        actions = [e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.action.like("session.%"))
                                                     .order_by(AuditEvent.id))]
    assert actions == ["session.created", "session.open", "session.close", "session.reopen", "session.close"]


def test_a_criterion_source_is_locked_once_open(app, client, planner):
    post_form(client, "/sesi/baru", NEW_SESSION)
    themed_session = _session(app)
    sid, criterion = themed_session.id, themed_session.criteria[0]
    post_form(client, f"/sesi/{sid}/status", {"action": "open"}, token_from=f"/sesi/{sid}")
    response = post_form(client, f"/sesi/{sid}/kriteria/{criterion.id}", {
        "name": criterion.name, "source": "votes", "direction": "1", "weight": "0,2",
        "scale_min": "1", "scale_max": "5"})
    assert response.status_code == 400
    assert "Sumber nilai kriteria tidak dapat diubah" in response.get_data(as_text=True)
    assert _session(app, sid).criteria[0].source is CriterionSource.RATING
    # The weight and direction may still change.
    response = post_form(client, f"/sesi/{sid}/kriteria/{criterion.id}", {
        "name": criterion.name, "source": "rating", "direction": "1", "weight": "0,3",
        "scale_min": "1", "scale_max": "5"})
    assert response.status_code == 303 and _session(app, sid).criteria[0].weight == 0.3


def test_planners_see_only_their_sessions(app, client, make_user, login_as):
    owner_planner = make_user("planner")
    other_planner = make_user("planner")
    facilitator = make_user("facilitator")
    with app_db(app) as session:
        themed_session = make_session(session.get(User, owner_planner), members=[session.get(User, facilitator)])
        sid = themed_session.id
        session.commit()
    login_as(other_planner)
    assert client.get(f"/sesi/{sid}").status_code == 404
    assert client.get(f"/sesi/{sid}/ubah").status_code == 404
    assert client.get(f"/sesi/{sid}/usulan").status_code == 404
    assert "Musrenbang Tematik Uji" not in client.get("/sesi/").get_data(as_text=True)
    post_form(client, "/keluar", {}, token_from="/")
    login_as(facilitator)
    assert client.get(f"/sesi/{sid}").status_code == 200
    assert client.get(f"/sesi/{sid}/ubah").status_code == 403
    assert client.get(f"/sesi/{sid}/undangan").status_code == 200


def test_team_members_are_added_and_the_last_planner_stays(app, client, planner, make_user):
    facilitator = make_user("facilitator", name="Fasilitator Baru")
    proponent = make_user()
    post_form(client, "/sesi/baru", NEW_SESSION)
    sid = _session(app).id
    assert post_form(client, f"/sesi/{sid}/tim", {"user_id": str(facilitator)}, token_from=f"/sesi/{sid}").status_code == 303
    assert {m.id for m in _session(app, sid).members} == {planner, facilitator}
    post_form(client, f"/sesi/{sid}/tim", {"user_id": str(proponent)}, token_from=f"/sesi/{sid}")
    post_form(client, f"/sesi/{sid}/tim/{planner}/hapus", {}, token_from=f"/sesi/{sid}")
    assert {m.id for m in _session(app, sid).members} == {planner, facilitator}
    assert post_form(client, f"/sesi/{sid}/tim", {"user_id": "99999999999999"}, token_from=f"/sesi/{sid}").status_code == 400


def test_the_submission_window_cannot_be_cleared_while_open(app, client, planner):
    post_form(client, "/sesi/baru", NEW_SESSION)
    sid = _session(app).id
    post_form(client, f"/sesi/{sid}/status", {"action": "open"}, token_from=f"/sesi/{sid}")
    window = (_session(app, sid).submission_opens_at, _session(app, sid).submission_closes_at)
    for cleared in ({"submission_opens_at": ""}, {"submission_closes_at": ""},
                    {"submission_opens_at": "", "submission_closes_at": ""}):
        response = post_form(client, f"/sesi/{sid}/ubah", {**NEW_SESSION, **cleared, "venue": "Gedung Baru"})
        assert response.status_code == 400
        body = response.get_data(as_text=True)
        assert "Jadwal pengajuan usulan tidak dapat dikosongkan selama musrenbang dibuka." in body
        themed_session = _session(app, sid)
        assert (themed_session.submission_opens_at, themed_session.submission_closes_at) == window
        assert themed_session.venue == "Aula Bappeda"  # nothing of the refused edit was kept
    # Moving the window is fine, and a draft may clear it.
    moved = post_form(client, f"/sesi/{sid}/ubah", {**NEW_SESSION, "submission_closes_at": "2027-02-05T16:00"})
    assert moved.status_code == 303
    response = post_form(client, "/sesi/baru", {**NEW_SESSION, "title": "Musrenbang Draf"})
    draft = _session(app, int(response.headers["Location"].rsplit("/", 1)[1]))
    response = post_form(client, f"/sesi/{draft.id}/ubah", {**NEW_SESSION, "submission_opens_at": "",
                                                             "submission_closes_at": ""})
    assert response.status_code == 303 and _session(app, draft.id).submission_opens_at is None


def _shape(app, sid):
    themed_session = _session(app, sid)
    return ([(c.id, c.name, c.position) for c in themed_session.categories],
            [(c.id, c.name, c.weight, c.direction, c.source, c.position) for c in themed_session.criteria])


@pytest.mark.parametrize("status", [SessionStatus.FINALIZED, SessionStatus.ARCHIVED])
def test_categories_criteria_and_weights_are_locked_once_finalized(app, client, planner, make_world, status):
    world = make_world(planners=[planner], status=status)
    sid = world.session
    before = _shape(app, sid)
    criterion = {"name": "Urgensi baru", "source": "rating", "direction": "-1", "weight": "9", "scale_min": "1",
                 "scale_max": "5"}
    weights = {f"weight_{i}": "1" for i in world.criteria} | {f"direction_{i}": "-1" for i in world.criteria}
    token = csrf_token(client, f"/sesi/{sid}")
    for url, data in ((f"/sesi/{sid}/kategori", {"name": "Kategori terlambat"}),
                      (f"/sesi/{sid}/kategori/{world.categories[1]}/hapus", {}),
                      (f"/sesi/{sid}/kategori/{world.categories[1]}/pindah", {"arah": "naik"}),
                      (f"/sesi/{sid}/kriteria/{world.criteria[1]}", criterion),
                      (f"/sesi/{sid}/kriteria/{world.criteria[1]}/pindah", {"arah": "turun"}),
                      (f"/sesi/{sid}/bobot", weights)):
        response = client.post(url, data={**data, "csrf_token": token})
        assert response.status_code == 303, url
        assert _shape(app, sid) == before, url
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "Kategori, kriteria, dan bobot dikunci setelah musrenbang difinalkan." in page, url
    for url in (f"/sesi/{sid}/kriteria/{world.criteria[1]}", f"/sesi/{sid}/bobot"):
        assert client.get(url).status_code == 303, url
    page = client.get(f"/sesi/{sid}").get_data(as_text=True)
    # Only the SIPD codes of a category stay editable: they are carried into SIPD after the decision.
    assert "/pindah" not in page and "/bobot" not in page
    assert not re.search(rf"/sesi/{sid}/kategori(?!/\d+/sipd\b)", page)
    with app_db(app) as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert not {"session.category_added", "session.category_removed", "session.category_moved",
                "session.criterion_updated", "session.criterion_moved", "session.weights_set"} & actions


def test_the_services_refuse_changes_to_a_finalized_session(app, planner, make_world):
    from participation.sessions import services

    world = make_world(planners=[planner], status=SessionStatus.FINALIZED)
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        category, criterion = themed_session.categories[1], themed_session.criteria[1]
        actor = as_actor(session.get(User, planner))
        for call in (lambda: services.add_category(themed_session, "Kategori terlambat", actor),
                     lambda: services.remove_category(themed_session, category, actor),
                     lambda: services.move_category(themed_session, category, -1, actor),
                     lambda: services.move_criterion(themed_session, criterion, 1, actor),
                     lambda: services.update_criterion(criterion, {"weight": 9.0}, actor),
                     lambda: services.set_weights(themed_session, {c.id: 1.0 for c in themed_session.criteria},
                                                  actor, directions={c.id: 1 for c in themed_session.criteria})):
            with pytest.raises(services.SessionError, match="locked"):
                call()
        assert criterion.weight != 9.0 and [c.position for c in themed_session.categories] == list(range(8))


def test_moving_categories_and_criteria_is_audited(app, client, planner):
    post_form(client, "/sesi/baru", NEW_SESSION)
    themed_session = _session(app)
    sid, category, criterion = themed_session.id, themed_session.categories[2], themed_session.criteria[0]
    post_form(client, f"/sesi/{sid}/kategori/{category.id}/pindah", {"arah": "naik"}, token_from=f"/sesi/{sid}")
    post_form(client, f"/sesi/{sid}/kriteria/{criterion.id}/pindah", {"arah": "turun"}, token_from=f"/sesi/{sid}")
    post_form(client, f"/sesi/{sid}/kriteria/{criterion.id}/pindah", {"arah": "naik"}, token_from=f"/sesi/{sid}")
    post_form(client, f"/sesi/{sid}/kriteria/{criterion.id}/pindah", {"arah": "naik"}, token_from=f"/sesi/{sid}")
    with app_db(app) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("session.%_moved"))
                                 .order_by(AuditEvent.id)).all()
        moves = [(e.action, e.before, e.after, e.object_id) for e in events]
    assert moves == [
        ("session.category_moved", {"category": category.name, "position": 2},
         {"category": category.name, "position": 1}, str(sid)),
        ("session.criterion_moved", {"key": "urgensi", "position": 0}, {"key": "urgensi", "position": 1}, str(sid)),
        ("session.criterion_moved", {"key": "urgensi", "position": 1}, {"key": "urgensi", "position": 0}, str(sid)),
    ]  # the last move, already at the top, changed nothing and recorded nothing


@pytest.mark.parametrize("status", [SessionStatus.OPEN, SessionStatus.REVIEW, SessionStatus.FINALIZED])
def test_the_service_adds_criteria_only_to_a_draft(app, make_world, status):
    from participation.sessions.errors import error_message
    from participation.sessions.services import SessionError, add_criterion

    world = make_world(status=status)
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        with pytest.raises(SessionError) as refused:
            add_criterion(themed_session, as_actor(session.get(User, world.planner)), name="Dampak lingkungan",
                          source=CriterionSource.RATING, direction=1, weight=0.1)
        assert error_message(refused.value) == "Kriteria hanya dapat ditambahkan selama musrenbang masih berupa draf."
        session.rollback()
        assert len(session.get(ThemedSession, world.session).criteria) == 7
