"""API request limits per token and per IP, counted in the database: they hold across gunicorn workers."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.api.tokens import bearer, issue_token
from tests.conftest import ROOT
from tests.test_deploy_nginx import free_port, stop, wait_for

TOKEN_LIMIT = 6
IP_LIMIT = 9


def test_over_the_token_limit_is_429_with_retry_after_and_the_error_shape(app_config, make_user):
    from participation import create_app

    app_config.update(API_RATE_LIMIT=2, API_IP_RATE_LIMIT=100)
    app = create_app(dict(app_config))
    client = app.test_client()
    owner, other = make_user("proponent"), make_user("proponent")
    headers = bearer(issue_token(app, owner))
    assert [client.get("/api/v1/me/proposals", headers=headers).status_code for _ in range(2)] == [200, 200]
    refused = client.get("/api/v1/me/proposals", headers=headers)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.get_json()["error"]["code"] == "rate_limited"
    # Another token (another user, the same address) has its own count.
    assert client.get("/api/v1/me/proposals", headers=bearer(issue_token(app, other))).status_code == 200


def test_anonymous_calls_count_per_address(app_config):
    from participation import create_app

    app_config.update(API_IP_RATE_LIMIT=3)
    client = create_app(dict(app_config)).test_client()
    statuses = [client.get("/api/v1/sessions").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/api/v1/sessions", environ_overrides={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200


def both_workers_serve(url: str, access_log: Path, timeout: float = 120) -> None:
    """Until each of the two workers has answered a /healthz (not counted by the API limits).

    A worker still importing the app under a loaded machine would leave the other to serve the whole
    burst, and the test would prove nothing about counting across workers.
    """
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(max_workers=4) as pool:
        while time.monotonic() < deadline:
            list(pool.map(lambda _: requests.get(url + "/healthz", headers={"Connection": "close"}, timeout=90),
                          range(4)))
            lines = access_log.read_text().splitlines() if access_log.exists() else []
            if len({line.split()[0] for line in lines if "/healthz" in line}) == 2:
                return
            time.sleep(0.2)
    pytest.fail(f"the second gunicorn worker never answered within {timeout:.0f} s")


@pytest.fixture
def two_workers(app, make_user, database_url, tmp_path):
    """gunicorn with two workers on the test database and small API limits; yields (url, token, access log)."""
    token = issue_token(app, make_user("proponent"))
    port = free_port()
    log, access_log = tmp_path / "gunicorn.log", tmp_path / "access.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FLASK_", "APP_"))}
    env.update(APP_ENV="production", FLASK_SECRET_KEY="n" * 48, DATABASE_URL=database_url,
               INSTANCE_PATH=str(tmp_path / "instance"), PUBLIC_BASE_URL="https://musrenbang.test",
               SECURITY_CONTACT="keamanan@kota.go.id", GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="2",
               API_RATE_LIMIT=str(TOKEN_LIMIT), API_IP_RATE_LIMIT=str(IP_LIMIT))
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
             "--access-logfile", str(access_log), "--access-logformat", "%(p)s %(s)s %(U)s", "app:app"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for(port, process, log)
        both_workers_serve(f"http://127.0.0.1:{port}", access_log)
        yield f"http://127.0.0.1:{port}", token, access_log, log
    finally:
        stop(process)


def test_the_limits_hold_across_two_gunicorn_workers(two_workers):
    url, token, access_log, log = two_workers

    def call(path_and_headers):
        path, headers = path_and_headers
        response = requests.get(url + path, headers={**headers, "Connection": "close"}, timeout=90)
        return response.status_code, response.headers.get("Retry-After"), response.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(call, [("/api/v1/me/proposals", bearer(token))] * 16))
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [200] * TOKEN_LIMIT + [429] * (16 - TOKEN_LIMIT)
    assert all(retry and int(retry) >= 1 and body["error"]["code"] == "rate_limited"
               for status, retry, body in answers if status == 429)
    # The address's own limit counted the six let through, in whichever worker: three more are left.
    anonymous = [call(("/api/v1/sessions", {}))[0] for _ in range(4)]
    assert anonymous == [200, 200, 200, 429]
    served_by = {line.split()[0] for line in access_log.read_text().splitlines() if "/api/v1/" in line}
    assert len(served_by) == 2, f"one worker served everything: {served_by}"
    assert "Traceback" not in log.read_text()
