"""The token paths of /api/v1 (DESIGN §9): a token acts as its user, exactly as the web does."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.api.tokens import bearer, issue_token
from tests.conftest import app_db
from tests.hostile import corpus_for, is_server_error

FULL = {"title": "Mesin pengemas vakum untuk keripik", "problem": "Keripik cepat lembek karena dikemas manual.",
        "description": "Pengadaan satu mesin pengemas vakum untuk dipakai bersama.", "estimated_cost": 45_500_000,
        "beneficiaries": 25, "jobs_created": 3, "kelurahan": "Sukamaju", "kecamatan": "Sukajadi"}


@pytest.fixture
def world(make_world):
    """An open session with a facilitator, an owner with one submitted proposal, and another's proposal."""
    return make_world(facilitator=True, owner=True, proposals=[{"business": "owner", "title": "Usulan pemilik"},
                                                               {"title": "Usulan orang lain"}])


def proposal_count(app) -> int:
    from participation.models import Proposal

    with app_db(app) as session:
        return session.scalar(select(func.count(Proposal.id)))


def test_staff_read_every_proposal_of_their_session_and_nobody_else_does(app, client, world, make_user):
    url = f"/api/v1/sessions/{world.session}/proposals"
    for user_id in (world.planner, world.facilitator, make_user("admin")):
        response = client.get(url, headers=bearer(issue_token(app, user_id, ["read"])))
        assert response.status_code == 200
        assert [item["title"] for item in response.get_json()["items"]] == ["Usulan pemilik", "Usulan orang lain"]
        assert response.get_json()["items"][0]["status"] == "submitted"
    for user_id in (make_user("planner"), make_user("facilitator"), world.owner):
        response = client.get(url, headers=bearer(issue_token(app, user_id)))
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


def test_an_owner_reads_their_own_proposals_and_not_anothers(app, client, world):
    headers = bearer(issue_token(app, world.owner, ["read"]))
    mine = client.get("/api/v1/me/proposals", headers=headers).get_json()
    assert [item["title"] for item in mine["items"]] == ["Usulan pemilik"]
    assert client.get(f"/api/v1/proposals/{world.proposals[0]}", headers=headers).status_code == 200
    other = client.get(f"/api/v1/proposals/{world.proposals[1]}", headers=headers)
    assert other.status_code == 404 and other.get_json()["error"]["code"] == "not_found"


def test_a_revoked_an_expired_or_an_unknown_token_is_401(app, client, world):
    from participation.auth import api_tokens
    from participation.models import ApiToken, utcnow
    from tests.factories import as_actor

    revoked, expired = issue_token(app, world.owner), issue_token(app, world.owner)
    with app_db(app) as session:
        tokens = {token.prefix: token for token in session.scalars(select(ApiToken))}
        api_tokens.revoke(tokens[revoked[:11]], as_actor(tokens[revoked[:11]].user))
        tokens[expired[:11]].expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    for header in (bearer(revoked), bearer(expired), bearer(revoked[:-2] + "xx"), {"Authorization": "Basic dTpw"}):
        response = client.get("/api/v1/me/proposals", headers=header)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
        assert response.get_json()["error"]["code"] == "unauthorized"
    # Even on a public path: credentials that do not count are said to be refused.
    assert client.get("/api/v1/sessions", headers=bearer(revoked)).status_code == 401
    assert client.get("/api/v1/me/proposals").status_code == 401


def test_writing_needs_the_write_scope(app, client, world):
    response = client.post(f"/api/v1/sessions/{world.session}/proposals", json=FULL,
                           headers=bearer(issue_token(app, world.owner, ["read"])))
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="write"'
    assert proposal_count(app) == 2
    reading = client.get("/api/v1/me/proposals", headers=bearer(issue_token(app, world.owner, ["write"])))
    assert reading.status_code == 403


def test_a_new_proposal_is_idempotent_by_its_key(app, client, world):
    headers = {**bearer(issue_token(app, world.owner)), "Idempotency-Key": "kasir-2027-001"}
    url = f"/api/v1/sessions/{world.session}/proposals"
    first = client.post(url, json={**FULL, "category_id": world.categories[0], "status": "submitted"},
                        headers=headers)
    assert first.status_code == 201
    body = first.get_json()
    assert body["status"] == "submitted" and body["receipt_number"].startswith("MT-")
    assert body["category"]["id"] == world.categories[0] and body["estimated_cost"] == 45_500_000
    again = client.post(url, json={**FULL, "title": "Judul yang lain sama sekali"}, headers=headers)
    assert again.status_code == 200
    assert again.get_json() == body and again.headers["Location"] == first.headers["Location"]
    assert client.get(first.headers["Location"], headers=headers).get_json() == body
    assert proposal_count(app) == 3
    # The same key from another owner is that owner's own.
    other = make_other_owner(app, world)
    theirs = client.post(url, json=FULL, headers={**bearer(issue_token(app, other)), "Idempotency-Key": "kasir-2027-001"})
    assert theirs.status_code == 201 and theirs.get_json()["id"] != body["id"]


def make_other_owner(app, world):
    from participation.models import Business, User
    from tests.factories import make_business

    with app_db(app) as session:
        user = User(email="pemilik2@contoh.id", name="Pemilik Dua", role=session.get(User, world.owner).role,
                    password_hash="!", email_verified_at=session.get(User, world.owner).email_verified_at)
        session.add(user)
        session.flush()
        make_business(user, nib="5555555555555", name="Usaha Dua")
        session.commit()
        assert session.scalar(select(func.count(Business.id)).where(Business.user_id == user.id)) == 1
        return user.id


def test_a_draft_and_the_forms_own_messages_by_field(app, client, world):
    headers = bearer(issue_token(app, world.owner))
    url = f"/api/v1/sessions/{world.session}/proposals"
    draft = client.post(url, json={"title": "Pelatihan pemasaran daring"}, headers=headers)
    assert draft.status_code == 201 and draft.get_json()["status"] == "draft"
    assert draft.get_json()["receipt_number"] is None and draft.get_json()["estimated_cost"] is None
    short = client.post(url, json={"title": "abc", "status": "submitted"}, headers=headers)
    assert short.status_code == 422
    fields = short.get_json()["error"]["fields"]
    assert fields["title"] == ["Judul harus 5 sampai 200 karakter."]
    assert fields["estimated_cost"] == ["Wajib diisi sebelum mengirim."]
    costly = client.post(url, json={**FULL, "estimated_cost": 0}, headers=headers)
    assert costly.get_json()["error"]["fields"] == {"estimated_cost": ["Perkiraan biaya harus lebih dari nol."]}
    foreign = client.post(url, json={**FULL, "category_id": 999_999}, headers=headers)
    assert list(foreign.get_json()["error"]["fields"]) == ["category_id"]


def test_a_proposal_carries_its_volume_and_unit_with_the_forms_checks(app, client, world):
    headers = bearer(issue_token(app, world.owner))
    url = f"/api/v1/sessions/{world.session}/proposals"
    made = client.post(url, json={**FULL, "volume": 1.5, "satuan": "paket"}, headers=headers)
    assert made.status_code == 201
    assert (made.get_json()["volume"], made.get_json()["satuan"]) == (1.5, "paket")
    whole = client.post(url, json={**FULL, "volume": 20}, headers=headers)
    assert (whole.get_json()["volume"], whole.get_json()["satuan"]) == (20, "")
    for volume in (0, -2, 1.555):
        refused = client.post(url, json={**FULL, "volume": volume}, headers=headers)
        assert refused.status_code == 422
        assert refused.get_json()["error"]["fields"] == {
            "volume": ["Isi volume lebih dari nol dengan paling banyak dua desimal, misalnya 20 atau 1,5."]}
    long_unit = client.post(url, json={**FULL, "satuan": "x" * 51}, headers=headers)
    assert long_unit.get_json()["error"]["fields"] == {"satuan": ["Satuan paling banyak 50 karakter."]}
    assert proposal_count(app) == 4


@pytest.mark.parametrize("body,field", [
    ({"title": 12345}, "title"),
    ({"title": "Pelatihan pemasaran", "estimated_cost": "15000000"}, "estimated_cost"),
    ({"title": "Pelatihan pemasaran", "beneficiaries": 2.5}, "beneficiaries"),
    ({"title": "Pelatihan pemasaran", "jobs_created": True}, "jobs_created"),
    ({"title": "Pelatihan pemasaran", "status": "approved"}, "status"),
    ({"title": "Pelatihan pemasaran", "volume": "1,5"}, "volume"),
    ({"title": "Pelatihan pemasaran", "volume": False}, "volume"),
    ({"title": "Pelatihan pemasaran", "satuan": 20}, "satuan"),
    ({"title": "Pelatihan pemasaran", "receipt_number": "MT-2027-0001"}, "receipt_number"),
    ({}, "title"),
])
def test_wrong_types_are_422_naming_the_field(app, client, world, body, field):
    response = client.post(f"/api/v1/sessions/{world.session}/proposals", json=body,
                           headers=bearer(issue_token(app, world.owner)))
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == [field]
    assert proposal_count(app) == 2


def test_owners_post_only_where_the_web_lets_them(app, client, world, make_world):
    from participation.models import SessionStatus

    closed = make_world(status=SessionStatus.REVIEW)
    headers = bearer(issue_token(app, world.owner))
    assert client.post(f"/api/v1/sessions/{closed.session}/proposals", json=FULL, headers=headers).status_code == 404
    staff = bearer(issue_token(app, world.planner))
    assert client.post(f"/api/v1/sessions/{world.session}/proposals", json=FULL, headers=staff).status_code == 404
    assert client.post(f"/api/v1/sessions/{world.session}/proposals", json=FULL,
                       headers={**headers, "Idempotency-Key": "spasi tidak boleh"}).status_code == 422
    assert proposal_count(app) == 2


def test_the_hostile_corpus_in_the_json_body_is_4xx_naming_the_field_or_stored_safely(app, client, world):
    from participation.models import Proposal

    headers = bearer(issue_token(app, world.owner))
    url = f"/api/v1/sessions/{world.session}/proposals"
    for field in ("title", "problem", "description", "kelurahan", "kecamatan", "estimated_cost", "beneficiaries"):
        for label, payload in corpus_for(app).items():
            before = proposal_count(app)
            body = {**FULL, "category_id": world.categories[0], field: payload, "status": "submitted"}
            response = client.post(url, json=body, headers=headers)
            assert not is_server_error(response), f"{field}={label}: {response.status_code}"
            if response.status_code >= 400:
                assert response.status_code == 422, f"{field}={label}: {response.status_code}"
                assert field in response.get_json()["error"]["fields"], f"{field}={label}: {response.get_json()}"
                assert proposal_count(app) == before
            else:
                assert response.status_code == 201, f"{field}={label}: {response.status_code}"
                with app_db(app) as session:
                    stored = session.get(Proposal, response.get_json()["id"])
                    assert "\x00" not in getattr(stored, field, "") if isinstance(payload, str) else True
                    session.delete(stored)  # the business's limit of submitted proposals stays free
                    session.commit()


def test_issue_and_use_leave_the_tokens_last_use(app, client, world):
    from participation.models import ApiToken

    raw = issue_token(app, world.owner)
    client.get("/api/v1/me/proposals", headers={**bearer(raw), "X-Forwarded-For": "203.0.113.9"})
    with app_db(app) as session:
        token = session.scalar(select(ApiToken).where(ApiToken.prefix == raw[:11]))
        assert token.last_used_at is not None and token.last_used_ip == "127.0.0.1"


def test_staff_read_the_live_ranking_as_the_export_gives_it(app, client, make_world, make_user):
    from participation.models import SessionStatus
    from tests.api.test_public_api import export_json

    review = make_world(status=SessionStatus.REVIEW, facilitator=True, owner=True, budget_ceiling=50_000_000,
                        proposals=[{"title": "Pelatihan kemasan", "estimated_cost": 35_000_000, "rated": 4},
                                   {"title": "Sertifikasi halal", "estimated_cost": 30_000_000, "rated": 3},
                                   {"title": "Belum dinilai", "estimated_cost": 10_000_000}], rated=None)
    url = f"/api/v1/sessions/{review.session}/ranking"
    exported = export_json(app, review.session)
    for user_id in (review.planner, review.facilitator, make_user("admin")):
        response = client.get(url, headers=bearer(issue_token(app, user_id, ["read"])))
        assert response.status_code == 200
        body = response.get_json()
        assert {key: value for key, value in body.items() if key not in ("generated_at", "proposals")} == {
            key: value for key, value in exported.items() if key not in ("generated_at", "proposals")}
        assert body["aggregation"] == {"method": "mean", "min_raters": None}
        lines = [(line["rank"], line["title"], line["selected"], line["score"]) for line in body["proposals"]]
        assert lines == [(line["rank"], line["title"], line["selected"], line["score"])
                         for line in exported["proposals"]]
        assert [line[:3] for line in lines] == [(1, "Pelatihan kemasan", True), (2, "Sertifikasi halal", False),
                                                (None, "Belum dinilai", None)]
    for user_id in (make_user("planner"), make_user("facilitator"), review.owner):
        response = client.get(url, headers=bearer(issue_token(app, user_id)))
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
