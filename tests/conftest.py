"""Fixtures: an app per test on SQLite and, when a server answers, on PostgreSQL too.

Each database is migrated once per test session with the real migrations (`flask db upgrade`),
then every test gets a clean copy: SQLite copies a migrated template file, PostgreSQL truncates.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import traceback
import uuid
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
PG_DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
TEST_PASSWORD = "Ketan-Serundeng-4471"
STAFF_PASSWORD = "Ketan-Serundeng-4471-Lodeh"


def _postgres_admin_url() -> str | None:
    """The PostgreSQL server for the database tests, or None when none answers."""
    url = os.environ.get("TEST_DATABASE_URL", PG_DEFAULT_URL)
    if not url:
        return None
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3, autocommit=True):
            return url
    except Exception:  # any failure means: no server to test against
        return None


PG_ADMIN_URL = _postgres_admin_url()
BACKENDS = ["sqlite"] + (["postgresql"] if PG_ADMIN_URL else [])


def _compile_translations() -> None:
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "compile", "-d",
         str(ROOT / "participation" / "translations"), "-D", "messages"],
        check=True, capture_output=True,
    )


def pytest_configure(config):
    _compile_translations()
    config.addinivalue_line("markers", f"{SERVER_ERROR_MARKER}: the test provokes an unhandled exception on "
                                       "purpose (the 500 page itself); the unhandled-exception guard lets it pass")


def pytest_report_header(config):
    if PG_ADMIN_URL:
        return f"database tests: SQLite and PostgreSQL ({_redact(PG_ADMIN_URL)})"
    return ("database tests: SQLite only; no PostgreSQL answered at TEST_DATABASE_URL "
            f"({_redact(os.environ.get('TEST_DATABASE_URL', PG_DEFAULT_URL))})")


def pytest_terminal_summary(terminalreporter):
    if not PG_ADMIN_URL:
        terminalreporter.write_line(
            "NOTE: PostgreSQL was not reachable, so the database tests ran on SQLite only.",
            yellow=True,
        )


SERVER_ERROR_MARKER = "provokes_server_error"


class UnhandledErrors(logging.Handler):
    """Collects what the app reports as unhandled: request exceptions and ERRORs logged with a traceback."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.seen: list[str] = []
        self._exceptions: list[BaseException] = []  # each reported once, however many times it is logged

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self._add(record.exc_info[1], record.getMessage() + "\n")

    def on_request_exception(self, sender, exception, **extra) -> None:
        self._add(exception, "")

    def _add(self, exception: BaseException, heading: str) -> None:
        if not any(exception is seen for seen in self._exceptions):
            self._exceptions.append(exception)
            self.seen.append(heading + "".join(traceback.format_exception(exception)))


@pytest.fixture(autouse=True)
def no_unhandled_exceptions(request):
    """Fail any test during which an app met an unhandled exception (a 500 or a logged traceback).

    Every app (the test's, a live server's, one a test builds itself) logs to the `participation`
    logger and sends Flask's `got_request_exception`; only a test marked `provokes_server_error` may.
    """
    from flask import got_request_exception

    collector = UnhandledErrors()
    logger = logging.getLogger("participation")
    logger.addHandler(collector)
    got_request_exception.connect(collector.on_request_exception, weak=False)
    try:
        yield collector
    finally:
        got_request_exception.disconnect(collector.on_request_exception)
        logger.removeHandler(collector)
    if collector.seen and request.node.get_closest_marker(SERVER_ERROR_MARKER) is None:
        pytest.fail(f"the app met {len(collector.seen)} unhandled exception(s) during the test:\n\n"
                    + "\n".join(collector.seen)[:20_000], pytrace=False)


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def _sqlalchemy_url(url: str) -> str:
    from participation.config import normalize_database_url

    return normalize_database_url(url)


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _migrate(url: str) -> None:
    """Run the real migrations against `url`."""
    from flask_migrate import upgrade

    from participation import create_app
    from participation.extensions import db

    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        database = db.engine.url.database if db.engine.dialect.name == "sqlite" else None
        db.engine.dispose()
    if database:
        # Fold the write-ahead log into the file, so that copying the file copies everything.
        connection = sqlite3.connect(database)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()


@contextmanager
def postgres_database(prefix: str = "mt_test"):
    """A brand-new, empty PostgreSQL database, dropped afterwards."""
    import psycopg

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{prefix}_{worker}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _sqlalchemy_url(_with_database(PG_ADMIN_URL, name))
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    """The database backend under test."""
    return request.param


@pytest.fixture(scope="session")
def migrated_database(backend, tmp_path_factory):
    """A database brought to the newest migration, once per session and backend."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        _migrate(f"sqlite:///{path}")
        yield path
    else:
        with postgres_database() as url:
            _migrate(url)
            yield url


@pytest.fixture
def database_url(backend, migrated_database, tmp_path) -> str:
    """A clean, migrated database for one test."""
    return clean_database(backend, migrated_database, tmp_path / "test.db")


def clean_database(backend: str, migrated_database, sqlite_path: Path) -> str:
    """A migrated database with no rows: a copy of the template file, or the PostgreSQL one truncated."""
    if backend == "sqlite":
        shutil.copyfile(migrated_database, sqlite_path)
        return f"sqlite:///{sqlite_path}"
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(migrated_database).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        tables = [row[0] for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )]
        if tables:
            connection.execute(
                "TRUNCATE " + ", ".join(f'"{table}"' for table in tables) + " RESTART IDENTITY CASCADE"
            )
    return migrated_database


@pytest.fixture
def app_config(database_url, tmp_path, monkeypatch) -> dict:
    """Overrides for the app under test; tests may add to it before `app` is built."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    return {"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": database_url}


@pytest.fixture
def app(app_config):
    """The app, built from the test configuration."""
    from participation import create_app
    from participation.extensions import db

    application = create_app(dict(app_config))
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client that keeps cookies between requests."""
    return app.test_client()


@pytest.fixture
def make_user(app):
    """Factory: make_user(role="planner", email=..., password=..., business=...) -> user id.

    A proponent gets a business unless `business=False`; `business` may also be make_business keywords.
    """
    from participation.auth.passwords import hash_password
    from participation.models import Role, User, utcnow

    counter = iter(range(1, 10_000))

    def factory(role="proponent", *, email=None, name=None, password=None, business=None, active=True,
                verified=True):
        from participation.extensions import db
        from tests.factories import make_business

        role = Role(role)
        number = next(counter)
        email = email or f"{role.value}{number}@contoh.id"
        password = password or (STAFF_PASSWORD if role.is_staff else TEST_PASSWORD)
        with app.app_context():
            user = User(email=email, name=name or f"Pengguna {number}", role=role,
                        password_hash=hash_password(password), active=active,
                        email_verified_at=utcnow() if verified else None)
            db.session.add(user)
            if business is None:
                business = role is Role.PROPONENT
            if business is not False:
                make_business(user, **{"nib": f"{number:013d}", "name": f"Usaha {number}",
                                       **(business if isinstance(business, dict) else {})})
            db.session.commit()
            return user.id

    return factory


@pytest.fixture
def make_world(app, make_user):
    """Factory: make_world(**options) -> World, the ids of a session world, committed (see build_world)."""
    from tests.factories import build_world

    return partial(build_world, app, make_user)


CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path: str = "/") -> str:
    """The CSRF token a browser would find on `path`."""
    response = client.get(path)
    match = CSRF_INPUT.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path} (status {response.status_code})"
    return match.group(1)


def post_form(client, path: str, data: dict, *, token_from: str | None = None, **kwargs):
    """POST `data` to `path` with the CSRF token from the page a user would have opened."""
    payload = dict(data)
    payload.setdefault("csrf_token", csrf_token(client, token_from or path))
    return client.post(path, data=payload, **kwargs)


# Every staff account the helpers sign in uses this TOTP secret (enrolled on first use).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
TWO_FACTOR_PATHS = ("/masuk/verifikasi", "/masuk/aktifkan-verifikasi")


def staff_code(app, email: str) -> str:
    """A TOTP code that the staff account `email` will accept now.

    Test-only shortcut: an account that has not enrolled is enrolled with TOTP_SECRET directly
    in the database, and the last accepted time step is forgotten, so that signing the same
    account in twice within 30 seconds does not meet the replay guard (tests/auth/test_two_factor.py
    tests enrollment and replay through the pages).
    """
    import pyotp

    from participation.auth.two_factor import decrypt_secret, encrypt_secret
    from participation.extensions import db
    from participation.models import StaffTotp, User, utcnow

    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == User.normalize_email(email)))
        totp = db.session.scalar(db.select(StaffTotp).where(StaffTotp.user_id == user.id))
        if totp is None:
            totp = StaffTotp(user_id=user.id, secret=encrypt_secret(TOTP_SECRET), confirmed_at=utcnow())
            db.session.add(totp)
        secret = decrypt_secret(totp.secret)
        totp.last_step = None
        db.session.commit()
        return pyotp.TOTP(secret).now()


def login(client, email: str, password: str = TEST_PASSWORD):
    """Sign in through the real login form; a staff account then passes the second step with a valid code."""
    response = post_form(client, "/masuk", {"email": email, "password": password})
    location = urlsplit(response.headers.get("Location", "")).path
    if response.status_code == 303 and location in TWO_FACTOR_PATHS:
        response = post_form(client, "/masuk/verifikasi", {"code": staff_code(client.application, email)})
    return response


@pytest.fixture
def login_as(app, client):
    """Sign `client` in as the user with id `user_id` (password from make_user)."""
    from participation.models import User

    def do_login(user_id: int, password: str | None = None):
        from participation.extensions import db

        with app.app_context():
            user = db.session.get(User, user_id)
            email, staff = user.email, user.role.is_staff
        response = login(client, email, password or (STAFF_PASSWORD if staff else TEST_PASSWORD))
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        return response

    return do_login


@contextmanager
def app_db(app):
    """`db.session` inside an app context, for arranging and checking data in tests."""
    from participation.extensions import db

    with app.app_context():
        yield db.session
