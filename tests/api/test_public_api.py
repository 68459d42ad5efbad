"""The public reads of /api/v1: what anyone may see, the export's figures, one error shape, no cookies."""
from __future__ import annotations

import json

import pytest

from participation.models import SessionStatus
from tests.conftest import STAFF_PASSWORD, app_db, login

EXPORT_FIELDS = ("rank", "receipt_number", "title", "business", "category", "estimated_cost", "values", "score",
                 "selected", "decision")


def export_json(app, session_id: int) -> dict:
    """What `flask export-ranking ID --format json` prints."""
    result = app.test_cli_runner().invoke(args=["export-ranking", str(session_id), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout_bytes)


def test_results_give_the_export_figure_by_figure(app, client, public_world):
    exported = export_json(app, public_world.finalized)
    response = client.get(f"/api/v1/sessions/{public_world.finalized}/results")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.json
    assert body["session"] == exported["session"] and body["session"]["status"] == "finalized"
    assert (body["method"], body["normalization"], body["selection"]) == (
        exported["method"], exported["normalization"], exported["selection"])
    assert body["criteria"] == exported["criteria"]
    assert body["generated_at"] == exported["generated_at"] and body["snapshot_version"] == 1
    assert [line["receipt_number"] for line in body["proposals"]] == [line["receipt_number"]
                                                                       for line in exported["proposals"]]
    for line, expected in zip(body["proposals"], exported["proposals"], strict=True):
        assert {field: line[field] for field in EXPORT_FIELDS} == {field: expected[field] for field in EXPORT_FIELDS}
    first, second, unranked = body["proposals"]
    assert (first["rank"], second["rank"], unranked["rank"]) == (1, 2, None)
    assert (first["selected"], second["selected"]) == (True, False)  # 35 + 30 million exceed the 60 million
    assert unranked["score"] is None and unranked["selected"] is None and unranked["decision"] is None
    assert first["decision"] == "prioritized" and first["reason"] == public_world.reasons[first["receipt_number"]]
    assert second["decision"] == "deferred" and second["reason"] == "=1+1 anggaran habis, ditunda"
    assert unranked["reason"] is None
    assert [line["kecamatan"] for line in body["proposals"]] == ["Cibeunying", "Coblong", "Sukajadi"]


def test_results_never_show_an_nib_a_phone_or_an_attachment(client, public_world):
    text = client.get(f"/api/v1/sessions/{public_world.finalized}/results").get_data(as_text=True)
    assert public_world.nib not in text and public_world.phone not in text and "81298765432" not in text
    for word in ("nib", "phone", "attachment"):
        assert f'"{word}' not in text


def test_only_a_finalised_session_has_results(client, public_world):
    for session_id in (public_world.open, public_world.review, public_world.draft, public_world.archived, 99999):
        response = client.get(f"/api/v1/sessions/{session_id}/results")
        assert response.status_code == 404, session_id
        assert response.json["error"]["code"] == "not_found"


def test_the_list_shows_open_review_and_finalised_sessions_only(client, public_world):
    body = client.get("/api/v1/sessions").json
    listed = {item["id"]: item for item in body["items"]}
    assert set(listed) == {public_world.finalized, public_world.open, public_world.review}
    final = listed[public_world.finalized]
    assert (final["title"], final["theme"], final["status"], final["venue"]) == (
        "Musrenbang IKM Final", "Pemulihan ekonomi", "finalized", "Aula Bappeda")
    assert final["fiscal_year"] == 2027 and final["budget_ceiling"] == 60_000_000
    assert set(final["submission_window"]) == {"opens_at", "closes_at"}
    assert final["submission_window"]["opens_at"].endswith("+00:00") and final["meeting_start"] is None
    assert body["pagination"] == {"page": 1, "per_page": 20, "total": 3, "pages": 1}


def test_a_session_has_its_categories_and_normalised_criteria(app, client, public_world):
    body = client.get(f"/api/v1/sessions/{public_world.open}").json
    assert body["status"] == "open" and len(body["categories"]) == 8
    assert sum(criterion["weight"] for criterion in body["criteria"]) == pytest.approx(1.0)
    assert {criterion["source"] for criterion in body["criteria"]} >= {"rating", "estimated_cost"}
    final = client.get(f"/api/v1/sessions/{public_world.finalized}").json
    assert final["criteria"] == export_json(app, public_world.finalized)["criteria"]


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_a_draft_or_archived_session_is_not_found(client, public_world, status):
    response = client.get(f"/api/v1/sessions/{getattr(public_world, status)}")
    assert response.status_code == 404
    assert set(response.json["error"]) == {"code", "message"} and response.json["error"]["code"] == "not_found"


def test_pages_are_stable_by_id_and_bounded(app, client, make_world):
    ids = [make_world(status=SessionStatus.OPEN, title=f"Sesi {n}").session for n in range(5)]
    make_world(status=SessionStatus.DRAFT)
    seen = []
    for page in (1, 2, 3):
        response = client.get(f"/api/v1/sessions?page={page}&per_page=2")
        assert response.status_code == 200
        seen += [item["id"] for item in response.json["items"]]
        assert response.json["pagination"] == {"page": page, "per_page": 2, "total": 5, "pages": 3}
    assert seen == sorted(ids)
    links = client.get("/api/v1/sessions?page=2&per_page=2").headers["Link"]
    assert '</api/v1/sessions?page=3&per_page=2>; rel="next"' in links
    assert '</api/v1/sessions?page=1&per_page=2>; rel="prev"' in links
    assert '</api/v1/sessions?page=3&per_page=2>; rel="last"' in links
    assert client.get("/api/v1/sessions?page=9&per_page=2").json["items"] == []
    assert client.get("/api/v1/sessions").json["pagination"]["per_page"] == 20


@pytest.mark.parametrize("query,field", [("per_page=1000", "per_page"), ("per_page=0", "per_page"),
                                         ("page=0", "page"), ("per_page=lima", "per_page"), ("page=-1", "page")])
def test_a_page_out_of_bounds_is_refused_with_the_field_named(client, query, field):
    response = client.get(f"/api/v1/sessions?{query}")
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "validation_error" and error["message"]
    assert list(error["fields"]) == [field] and error["fields"][field][0]


def test_results_carry_a_strong_etag_and_answer_304_when_unchanged(client, public_world):
    url = f"/api/v1/sessions/{public_world.finalized}/results"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert etag.startswith('"s') and not etag.startswith("W/")
    assert first.headers["Cache-Control"] == "no-cache"  # kept by the client, asked again with the tag
    assert client.get(url).headers["ETag"] == etag  # the same snapshot: the same tag
    unchanged = client.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.data == b"" and unchanged.headers["ETag"] == etag
    assert client.get(url, headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"s1-stale"'}).status_code == 200


def test_a_correction_changes_the_etag(app, client, public_world):
    from participation.extensions import db
    from participation.models import Outcome, Proposal, User
    from participation.review.services import decide
    from tests.factories import as_actor

    url = f"/api/v1/sessions/{public_world.finalized}/results"
    before = client.get(url).headers["ETag"]
    with app_db(app) as session:
        proposal = session.scalar(db.select(Proposal).filter_by(receipt_number=public_world.receipts[1]))
        decide(proposal, Outcome.REJECTED, "Tidak sesuai tema", as_actor(session.get(User, public_world.planner)),
               correction_reason="Salah catat")
        session.commit()
    after = client.get(url, headers={"If-None-Match": before})
    assert after.status_code == 200 and after.headers["ETag"] != before
    assert after.json["snapshot_version"] == 2 and after.json["proposals"][1]["decision"] == "rejected"
    assert after.json["proposals"][1]["reason"] == "Tidak sesuai tema"


@pytest.mark.parametrize("method,path,status,code", [
    ("GET", "/api/v1/no-such-thing", 404, "not_found"),
    ("GET", "/api/v1/sessions/abc", 404, "not_found"),
    ("POST", "/api/v1/sessions", 405, "method_not_allowed"),
    ("DELETE", "/api/v1/sessions/1/results", 405, "method_not_allowed"),
    ("GET", "/api/v1", 404, "not_found"),
])
def test_every_error_has_one_shape(client, method, path, status, code):
    response = client.open(path, method=method)
    assert response.status_code == status and response.mimetype == "application/json"
    assert response.json == {"error": {"code": code, "message": response.json["error"]["message"]}}
    assert response.json["error"]["message"]
    if status == 405:
        assert "GET" in response.headers["Allow"]


def test_messages_are_indonesian_by_default(client):
    message = client.get("/api/v1/no-such-thing").json["error"]["message"]
    assert message == "Tidak ada apa pun di alamat ini, atau alamat ini tidak tersedia bagi Anda."


def test_an_authorization_header_without_a_valid_token_is_401(client, public_world):
    response = client.get("/api/v1/sessions", headers={"Authorization": "Bearer mt_not-a-token"})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.json["error"]["code"] == "unauthorized"


def test_the_api_sets_no_cookie_and_ignores_the_web_sign_in(app, client, public_world):
    from participation.models import User

    with app_db(app) as session:
        email = session.get(User, public_world.planner).email
    assert login(client, email, STAFF_PASSWORD).status_code == 303
    for path in ("/api/v1/sessions", f"/api/v1/sessions/{public_world.finalized}",
                 f"/api/v1/sessions/{public_world.finalized}/results", "/api/v1/openapi.json", "/api/v1/docs",
                 "/api/v1/nothing-here", f"/api/v1/sessions/{public_world.draft}"):
        response = client.get(path)
        assert "Set-Cookie" not in response.headers, path
    # The planner's own draft, which the web shows them, is not found for an API caller with their cookie.
    assert client.get(f"/api/v1/sessions/{public_world.draft}").status_code == 404
    assert client.post("/api/v1/sessions").status_code == 405  # no CSRF check: 405, not a 400 page


def test_a_signed_in_planner_sees_their_draft_on_the_web_but_not_on_the_api(app, client, make_world):
    from participation.models import User

    world = make_world(status=SessionStatus.DRAFT)
    with app_db(app) as session:
        email = session.get(User, world.planner).email
    assert login(client, email, STAFF_PASSWORD).status_code == 303
    assert client.get(f"/sesi/{world.session}").status_code == 200
    assert client.get(f"/api/v1/sessions/{world.session}").status_code == 404
    assert world.session not in [item["id"] for item in client.get("/api/v1/sessions").json["items"]]


def test_cors_is_off_by_default(client):
    response = client.get("/api/v1/sessions", headers={"Origin": "https://data.contoh.go.id"})
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options("/api/v1/sessions", headers={"Origin": "https://data.contoh.go.id",
                                                            "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_cors_allows_only_the_configured_origins(app_config):
    from participation import create_app

    app_config["API_CORS_ORIGINS"] = "https://data.contoh.go.id, https://peta.contoh.go.id/"
    client = create_app(dict(app_config)).test_client()
    allowed = client.get("/api/v1/sessions", headers={"Origin": "https://peta.contoh.go.id"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://peta.contoh.go.id"
    assert "Origin" in allowed.headers["Vary"] and "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    other = client.get("/api/v1/sessions", headers={"Origin": "https://jahat.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options("/api/v1/sessions", headers={
        "Origin": "https://data.contoh.go.id", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://data.contoh.go.id"
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    web = client.get("/", headers={"Origin": "https://data.contoh.go.id"})
    assert "Access-Control-Allow-Origin" not in web.headers  # the web pages never


def test_the_document_describes_every_api_route_and_the_error_shape(app, client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/api/v1/sessions", "/api/v1/sessions/{session_id}",
                                      "/api/v1/sessions/{session_id}/results", "/api/v1/sessions/{session_id}/follow-up",
                                      "/api/v1/sessions/{session_id}/proposals", "/api/v1/me/proposals",
                                      "/api/v1/proposals/{proposal_id}", "/api/v1/sessions/{session_id}/ranking"}
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert document["paths"]["/api/v1/me/proposals"]["get"]["security"] == [{"bearerAuth": []}]
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert set(document["components"]["schemas"]["ErrorBody"]["required"]) == {"code", "message"}
    results = document["paths"]["/api/v1/sessions/{session_id}/results"]["get"]["responses"]
    assert {"200", "304", "404", "429"} <= set(results)
    assert "ETag" in results["200"]["headers"]
    follow_up = document["paths"]["/api/v1/sessions/{session_id}/follow-up"]["get"]["responses"]
    assert {"200", "404", "429"} <= set(follow_up)
    assert "Retry-After" in document["components"]["responses"]["RATE_LIMITED"]["headers"]
    listing = document["paths"]["/api/v1/sessions"]["get"]
    assert {parameter["name"] for parameter in listing["parameters"]} == {"page", "per_page"}
    assert "422" in listing["responses"]


def test_the_reference_page_loads_only_its_own_scripts(client):
    response = client.get("/api/v1/docs")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert '/static/vendor/swagger-ui-dist-5.35.0/swagger-ui-bundle.js' in html and "/static/js/api-docs.js" in html
    assert "<script>" not in html and "http" not in html.replace("http-equiv", "")
    assert 'data-spec-url="/api/v1/openapi.json"' in html
