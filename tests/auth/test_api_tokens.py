"""Personal access tokens on the account page: made, shown once, listed, revoked, audited (DESIGN §9)."""
from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from datetime import date, timedelta

from sqlalchemy import select

from tests.conftest import app_db, csrf_token, post_form

TOKEN_TEXT = re.compile(r'value="(mt_[a-z0-9]{8}_[A-Za-z0-9_-]{43})"')


def make_token(client, **fields):
    data = {"name": "Skrip impor", "scope_read": "y", "expires_on": (date.today() + timedelta(days=30)).isoformat()}
    data.update(fields)
    return post_form(client, "/akun/token", {k: v for k, v in data.items() if v is not None}, token_from="/akun")


def test_a_new_token_is_shown_once_and_then_listed_by_its_prefix(app, client, make_user, login_as):
    from participation.auth import api_tokens
    from participation.models import ApiToken

    login_as(make_user("proponent"))
    response = make_token(client, scope_write="y")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "hanya ditampilkan kali ini" in page
    raw = TOKEN_TEXT.search(page).group(1)
    with app_db(app) as session:
        token = session.scalar(select(ApiToken))
        assert raw.startswith(token.prefix + "_") and token.scopes == "read write"
        # Only the digest of the secret is kept: the whole text is nowhere in the row.
        assert token.secret_hash == hashlib.sha256(raw[len(token.prefix) + 1:].encode()).hexdigest()
        assert raw not in repr([getattr(token, column.key) for column in ApiToken.__table__.columns])
        assert api_tokens.authenticate(raw).id == token.id
        # Valid through the chosen day, in the app's time zone.
        assert api_tokens.last_day(token) == date.today() + timedelta(days=30)
    account = client.get("/akun").get_data(as_text=True)
    assert token.prefix in account and "Skrip impor" in account and "Baca, Tulis" in account
    assert raw not in account and "Belum pernah" in account


def test_the_form_offers_ninety_days_and_refuses_a_year_and_more_or_no_scope(app, client, make_user, login_as):
    from participation.models import ApiToken

    login_as(make_user("planner"))
    from participation.auth.api_tokens import local_today

    account = client.get("/akun").get_data(as_text=True)
    with app.app_context():  # the day in the app's time zone (Asia/Jakarta), which may be UTC's tomorrow
        assert f'value="{(local_today() + timedelta(days=90)).isoformat()}"' in account
    too_far = make_token(client, name="Laporan", expires_on=(date.today() + timedelta(days=400)).isoformat())
    assert too_far.status_code == 400
    page = too_far.get_data(as_text=True)
    assert "Token berlaku paling lama satu tahun" in page and 'value="Laporan"' in page
    no_scope = make_token(client, scope_read=None)
    assert no_scope.status_code == 400
    assert "Pilih apa yang boleh dilakukan token" in no_scope.get_data(as_text=True)
    past = make_token(client, expires_on=(date.today() - timedelta(days=2)).isoformat())
    assert "Tanggal berakhirnya sudah lewat." in past.get_data(as_text=True)
    nameless = make_token(client, name="   ")
    assert "Beri nama token" in nameless.get_data(as_text=True)
    with app_db(app) as session:
        assert session.scalar(select(ApiToken)) is None


def test_revoking_ends_the_token_and_is_audited_without_the_secret(app, client, make_user, login_as):
    from participation.auth import api_tokens
    from participation.models import ApiToken, AuditEvent

    login_as(make_user("proponent"))
    raw = TOKEN_TEXT.search(make_token(client).get_data(as_text=True)).group(1)
    with app_db(app) as session:
        token_id = session.scalar(select(ApiToken.id))
    response = post_form(client, f"/akun/token/{token_id}/cabut", {}, token_from="/akun")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "telah dicabut" in page and "Dicabut" in page
    with app_db(app) as session:
        assert api_tokens.authenticate(raw) is None
        events = session.scalars(select(AuditEvent).where(AuditEvent.object_type == "ApiToken")
                                 .order_by(AuditEvent.id)).all()
        assert [event.action for event in events] == ["api_token.issued", "api_token.revoked"]
        assert events[0].after["scopes"] == "read" and events[0].after["name"] == "Skrip impor"
        secret = raw.split("_", 2)[2]
        assert all(secret not in json.dumps([event.before, event.after]) for event in events)


def test_another_users_token_cannot_be_revoked(app, client, make_user, login_as):
    from participation.auth import api_tokens
    from participation.models import User
    from tests.factories import as_actor

    owner = make_user("proponent")
    with app_db(app) as session:
        user = session.get(User, owner)
        token = api_tokens.issue(user, "Milik orang lain", ["read"], date.today() + timedelta(days=5),
                                 as_actor(user)).token
        session.commit()
        token_id = token.id
    login_as(make_user("admin"))
    response = client.post(f"/akun/token/{token_id}/cabut", data={"csrf_token": csrf_token(client, "/akun")})
    assert response.status_code == 404
    with app_db(app) as session:
        assert session.get(type(token), token_id).revoked_at is None


def test_expired_revoked_and_deactivated_tokens_do_not_authenticate(app, make_user):
    from participation.auth import api_tokens
    from participation.models import User, utcnow
    from tests.factories import as_actor

    with app_db(app) as session:
        user = session.get(User, make_user("proponent"))
        issued = api_tokens.issue(user, "Uji", ["read"], date.today() + timedelta(days=1), as_actor(user))
        session.commit()
        assert api_tokens.authenticate(issued.raw, ip="10.0.0.9").last_used_ip == "10.0.0.9"
        assert api_tokens.authenticate(issued.raw, now=issued.token.expires_at) is None
        assert api_tokens.authenticate(issued.raw[:-1] + ("A" if issued.raw[-1] != "A" else "B")) is None
        assert api_tokens.authenticate("mt_tidakada_" + "x" * 43) is None
        assert api_tokens.authenticate("Bearer sembarang") is None
        user.active = False
        assert api_tokens.authenticate(issued.raw) is None
        user.active = True
        api_tokens.revoke(issued.token, as_actor(user), now=utcnow())
        assert api_tokens.authenticate(issued.raw) is None


def test_the_personal_data_download_lists_the_tokens_without_their_hash(app, client, make_user, login_as):
    from participation.models import ApiToken

    login_as(make_user("proponent"))
    raw = TOKEN_TEXT.search(make_token(client, name="Integrasi kasir").get_data(as_text=True)).group(1)
    archive = zipfile.ZipFile(io.BytesIO(client.get("/akun/data.zip").data))
    data = archive.read("data.json").decode()
    tokens = json.loads(data)["api_tokens"]
    with app_db(app) as session:
        token = session.scalar(select(ApiToken))
        assert [(t["name"], t["prefix"], t["scopes"]) for t in tokens] == [("Integrasi kasir", token.prefix, ["read"])]
        assert token.secret_hash not in data and raw.split("_", 2)[2] not in data
