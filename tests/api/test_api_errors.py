"""The API's error shape for what goes wrong beyond a bad address: a crash, a limit, hostile input."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest

from tests.hostile import HOSTILE


@pytest.mark.provokes_server_error
def test_a_crash_is_a_500_in_the_error_shape_without_internals(app_config, monkeypatch):
    from participation import create_app
    def crash():
        raise RuntimeError("secret internals")

    monkeypatch.setattr("participation.api.auth.identify_caller", crash)
    client = create_app({**app_config, "PROPAGATE_EXCEPTIONS": False}).test_client()
    response = client.get("/api/v1/sessions")
    assert response.status_code == 500 and response.mimetype == "application/json"
    assert response.json["error"]["code"] == "server_error" and "secret" not in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers


def test_a_limit_is_a_429_with_retry_after(client, monkeypatch):
    from participation.limits import REGISTRATIONS, RateLimited

    def limited():
        raise RateLimited(REGISTRATIONS, timedelta(seconds=42.2))

    monkeypatch.setattr("participation.api.auth.identify_caller", limited)
    response = client.get("/api/v1/sessions")
    assert response.status_code == 429 and response.headers["Retry-After"] == "43"
    assert response.json["error"]["code"] == "rate_limited" and response.json["error"]["message"]


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_query_and_path_values_are_4xx_in_the_error_shape(client, name):
    value = quote(HOSTILE[name], safe="")
    for path in (f"/api/v1/sessions?page={value}", f"/api/v1/sessions?per_page={value}",
                 f"/api/v1/sessions/{value}", f"/api/v1/sessions/{value}/results"):
        response = client.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert set(response.json["error"]) >= {"code", "message"}, path
        if response.status_code == 422:
            assert list(response.json["error"]["fields"]) in (["page"], ["per_page"])


def test_validation_messages_are_named_by_field_whatever_their_location():
    from participation.api.errors import flatten_fields

    messages = {"json": {"title": ["Isi judul."], "items": {"0": {"name": ["Terlalu panjang."]}}},
                "query": {"per_page": ["Must be at most 100."]}, "headers": ["Missing header."]}
    assert flatten_fields(messages) == {"title": ["Isi judul."], "items.0.name": ["Terlalu panjang."],
                                        "per_page": ["Must be at most 100."], "_schema": ["Missing header."]}


@pytest.mark.parametrize("query, field", [("halaman=2", "halaman"), ("page=1&sort=title", "sort"), ("=null", "_schema")])
def test_a_query_parameter_a_list_does_not_take_is_a_422_naming_it(client, query, field):
    response = client.get(f"/api/v1/sessions?{query}")
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {field: ["Parameter ini bukan bagian dari permintaan ini."]}
    assert client.get("/api/v1/sessions?page=1&per_page=5").status_code == 200
