"""One door for every change: services record their own events, whichever door they came through."""
from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from participation.models import AuditEvent, ThemedSession, User
from tests.conftest import STAFF_PASSWORD, app_db, csrf_token, post_form
from tests.factories import make_session
from tests.review.test_review_flow import ahp_form

PACKAGE = Path(__file__).resolve().parent.parent / "participation"
REQUEST_NAMES = {"request", "flash", "url_for", "g", "session", "current_user"}


def _imported_names(path: Path) -> set[tuple[str, str]]:
    """(module, name) for every `from module import name` in the file."""
    tree = ast.parse(path.read_text())
    return {(node.module or "", alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
            for alias in node.names}


def _service_modules() -> list[Path]:
    paths = sorted(PACKAGE.glob("*/services.py")) + sorted((PACKAGE / "scoring").glob("*.py"))
    paths += sorted((PACKAGE / "intake" / "imports").glob("*.py"))
    paths += [PACKAGE / "events.py", PACKAGE / "validation.py", PACKAGE / "review" / "ranking.py"]
    # Services that are not named services.py: account recovery, identity review, second factor,
    # the outbox and its worker, preferences and schedule, places, attendance, clustering, API tokens, and in
    # review: selection constraints, conflicts of interest, joint proposals.
    paths += [PACKAGE / "auth" / name for name in ("recovery.py", "identity.py", "two_factor.py", "api_tokens.py")]
    paths += [PACKAGE / "notifications" / name for name in ("outbox.py", "delivery.py", "preferences.py",
                                                            "schedule.py")]
    paths += [PACKAGE / "places.py", PACKAGE / "documents" / "attendance.py", PACKAGE / "proposals" / "clusters.py"]
    paths += [PACKAGE / "review" / name for name in ("constraints.py", "conflicts.py", "joint.py")]
    paths += [PACKAGE / "followup" / name for name in ("imports.py", "progress.py", "photos.py")]
    return paths


@pytest.mark.parametrize("path", _service_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_services_and_scoring_never_touch_the_request(path):
    web = {(module, name) for module, name in _imported_names(path)
           if module in {"flask", "flask_login"} and name in REQUEST_NAMES}
    assert not web, f"{path.name} imports {sorted(web)}"


def _doors() -> list[Path]:
    return sorted(PACKAGE.glob("*/*routes.py")) + [PACKAGE / "cli.py", *sorted((PACKAGE / "demo").glob("*.py"))]


@pytest.mark.parametrize("path", _doors(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_routes_the_cli_and_the_demo_never_write_audit_rows(path):
    names = _imported_names(path)
    assert not {name for module, name in names if module == "participation.events" and name == "record"}
    assert "AuditEvent(" not in path.read_text()
    if path.name.endswith("routes.py"):  # and no blueprint reaches into another's routes
        foreign = {module for module, _name in names
                   if module.startswith("participation.") and module.rsplit(".", 1)[-1].endswith("routes")
                   and module.split(".")[1] != path.parent.name}
        assert not foreign, f"{path} imports {foreign}"


def _events(session, action):
    return session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def test_web_and_cli_write_the_same_event_for_the_same_import(app, client, make_user, login_as, tmp_path):
    rows = "nib,nama_usaha,nama_pemilik,kbli,skala,kelurahan,kecamatan,telepon\r\n"
    rows += "3201010123456,Keripik Maju,Sri Lestari,10794,mikro,Sukamaju,Sukamaju,081234567890\r\n"
    path = tmp_path / "usaha.csv"
    path.write_text(rows)
    assert app.test_cli_runner().invoke(args=["import-businesses", str(path)]).exit_code == 0
    planner = make_user("planner")
    login_as(planner)
    response = client.post("/impor/usaha", data={"csrf_token": csrf_token(client, "/impor/usaha"),
                                                 "file": (io.BytesIO(rows.encode()), "usaha.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    with app_db(app) as session:
        cli, web = _events(session, "businesses.imported")
        assert (cli.channel, cli.actor_id, cli.ip) == ("cli", None, None)
        assert (web.channel, web.actor_id, web.ip) == ("web", planner, "127.0.0.1")
        # The same operation, the same record; only the figures differ (the second run merges).
        assert cli.after == {"file": "usaha.csv", "rows": 1, "created": 1, "merged": 0}
        assert web.after == {"file": "usaha.csv", "rows": 1, "created": 0, "merged": 1}
        assert (cli.object_type, cli.object_id) == (web.object_type, web.object_id) == (None, None)


def test_web_and_cli_create_users_with_the_same_event(app, client, make_user, login_as, monkeypatch):
    monkeypatch.setenv("PARTICIPATION_PASSWORD", STAFF_PASSWORD)
    result = app.test_cli_runner().invoke(args=["create-user", "--role", "facilitator", "--email",
                                                "cli@contoh.id", "--name", "Fasilitator CLI"])
    assert result.exit_code == 0, result.output
    login_as(make_user("admin"))
    response = post_form(client, "/admin/pengguna/baru", {
        "name": "Fasilitator Web", "email": "web@contoh.id", "role": "facilitator",
        "password": STAFF_PASSWORD, "password_confirm": STAFF_PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    with app_db(app) as session:
        cli, web = _events(session, "user.created")
        assert [cli.channel, web.channel] == ["cli", "web"]
        assert cli.after == {"email": "cli@contoh.id", "role": "facilitator"}
        assert web.after == {"email": "web@contoh.id", "role": "facilitator"}
        assert cli.object_type == web.object_type == "User"


def test_the_demo_leaves_the_history_of_a_session_clicked_together(app, client, make_user, login_as):
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    with app_db(app) as session:
        demo = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert {event.channel for event in demo} == {"demo"}
        actions = [event.action for event in demo]
        for action in ("user.created", "user.register", "session.created", "session.member_added",
                       "session.open", "roster.invited", "proposal.submitted", "proposal.draft_saved",
                       "proposal.withdrawn", "paper_forms.printed", "proposal.paper_entered", "session.updated",
                       "session.close", "rating.saved", "votes.recorded", "decision.recorded",
                       "letterhead.updated", "documents.settings", "agenda.built", "checkin.marked"):
            assert action in actions, action
        # Life-cycle order, as a planner would have clicked it.
        assert actions.index("session.open") < actions.index("proposal.submitted") < actions.index("session.close")
        assert actions.index("session.close") < actions.index("rating.saved") < actions.index("decision.recorded")
        demo_submission = next(e for e in demo if e.action == "proposal.submitted")
        assert demo_submission.actor_id is not None and demo_submission.object_type == "Proposal"
        demo_shape = (demo_submission.object_type, set(demo_submission.after))
        themed_session = session.scalar(select(ThemedSession))
        web_session = make_session(session.get(User, themed_session.created_by_id), title="Sesi web")
        session.commit()
        web_session_id = web_session.id
    # The same submission made through the web has the same shape.
    owner = make_user()
    login_as(owner)
    with app_db(app) as session:
        category = session.get(ThemedSession, web_session_id).categories[0].id
    page = client.get(f"/usulan/baru/{web_session_id}").get_data(as_text=True)
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', page).group(1)
    response = post_form(client, f"/usulan/baru/{web_session_id}", {
        "title": "Pelatihan pengemasan produk", "problem": "Kemasan kurang menarik.",
        "description": "Pelatihan dua hari untuk 20 pelaku.", "category_id": category,
        "estimated_cost": "15000000", "beneficiaries": "20", "jobs_created": "2",
        "kelurahan": "Sukamaju", "kecamatan": "Sukamaju", "idempotency_key": key, "action": "submit"},
        token_from=f"/usulan/baru/{web_session_id}")
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    with app_db(app) as session:
        web = _events(session, "proposal.submitted")[-1]
        assert web.channel == "web" and web.actor_id == owner
        assert (web.object_type, set(web.after)) == demo_shape == ("Proposal", {"receipt_number", "title"})


def test_a_subscriber_hears_every_event_inside_the_transaction(app, make_user):
    from participation.events import Actor, subscribe, unsubscribe
    from participation.extensions import db
    from participation.sessions import services

    heard = []

    def listener(event, actor, obj):
        heard.append((event.action, actor.channel.value, type(obj).__name__, event in db.session.new))

    planner = make_user("planner")
    subscribe(listener)
    try:
        with app.app_context():
            user = db.session.get(User, planner)
            themed_session = services.create_session({"title": "Sesi", "fiscal_year": 2027}, Actor.cli(user))
            services.add_category(themed_session, "Kategori baru", Actor.cli(user))
            db.session.rollback()  # a rolled-back change leaves no event behind
            assert db.session.scalar(select(AuditEvent.id)) is None
    finally:
        unsubscribe(listener)
    assert heard == [("session.created", "cli", "ThemedSession", True),
                     ("session.category_added", "cli", "ThemedSession", True)]


def test_typed_weights_end_the_ahp_claim(app, client, make_user, login_as):
    """Saving weights on the session's weights page (or the ranked list) makes the AHP page stop
    saying the weights came from an AHP comparison."""
    planner = make_user("planner")
    with app_db(app) as session:
        sid = make_session(session.get(User, planner)).id
        criteria = [c.id for c in session.get(ThemedSession, sid).criteria]
        session.commit()
    login_as(planner)
    claim = "Bobot saat ini berasal dari perbandingan AHP"
    for door in ("bobot", "peringkat"):
        page = client.get(f"/sesi/{sid}/ahp").get_data(as_text=True)
        assert client.post(f"/sesi/{sid}/ahp", data=ahp_form(page) | {"action": "save"}).status_code == 303
        assert claim in client.get(f"/sesi/{sid}/ahp").get_data(as_text=True)
        if door == "bobot":
            data = {f"weight_{c}": "1" for c in criteria} | {f"direction_{c}": "1" for c in criteria}
            data[f"direction_{criteria[5]}"] = "-1"  # the cost stays a cost
            assert post_form(client, f"/sesi/{sid}/bobot", data).status_code == 303
        else:
            data = {f"w{c}": "2" for c in criteria}
            assert post_form(client, f"/sesi/{sid}/peringkat/bobot", data,
                             token_from=f"/sesi/{sid}/peringkat").status_code == 303
        page = client.get(f"/sesi/{sid}/ahp").get_data(as_text=True)
        assert claim not in page, door
        with app_db(app) as session:
            themed_session = session.get(ThemedSession, sid)
            assert themed_session.weights_origin.value == "manual" and themed_session.ahp_matrix is None
            event = _events(session, "session.weights_set")[-1]
            assert event.after["origin"] == "manual" and "matrix" not in event.after
