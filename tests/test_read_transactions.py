"""SQLite: page reads never wait for a writer, and a GET cannot write (issue 17, finding 4).

Every writing transaction begins IMMEDIATE (DESIGN §8). A GET or HEAD begins DEFERRED with
`PRAGMA query_only`: in WAL mode it reads the last committed snapshot while a background import
holds the write lock, and any write attempted during a GET fails instead of queueing for the lock.
"""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from participation.models import AuditEvent, User
from tests.conftest import TEST_PASSWORD, csrf_token, login


# SQLite's one write lock is what these tests are about; PostgreSQL readers never take a lock
# that a writer holds, and its writers lock rows, not the database.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def sqlite_app(app_config):
    """The app on SQLite with a short busy timeout, so that waiting for the lock shows as an error."""
    from participation import create_app
    from participation.extensions import db

    application = create_app({**app_config, "SQLITE_BUSY_TIMEOUT_MS": 100})
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def hold_write_lock(app) -> sqlite3.Connection:
    """Another process's long write: BEGIN IMMEDIATE and an uncommitted insert, left open."""
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None, timeout=0.1)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO users (email, name, role, password_hash, active, session_epoch, created_at)"
                  " VALUES ('import@contoh.id', 'Impor', 'proponent', 'x', 1, 0, '2026-12-02 00:00:00')")
    return other


def test_pages_read_while_another_writer_holds_the_lock(sqlite_app, make_world):
    from participation.extensions import db

    world = make_world(owner=True)
    with sqlite_app.app_context():
        email = db.session.get(User, world.owner).email
    client = sqlite_app.test_client()
    assert login(client, email).status_code == 303
    other = hold_write_lock(sqlite_app)
    try:
        # Public pages and a signed-in owner's pages answer from the committed snapshot.
        assert client.get("/").status_code == 200
        assert client.get("/hasil").status_code == 200
        assert client.head("/").status_code == 200
        page = client.get("/usulan/")
        assert page.status_code == 200
        assert "Usulan" in page.get_data(as_text=True)
        # A write meanwhile still waits its turn (and here, with a 100 ms busy timeout, gives up).
        with sqlite_app.app_context(), pytest.raises(Exception, match="locked"):
            db.session.execute(select(func.count(User.id)))
    finally:
        other.rollback()
        other.close()
    with sqlite_app.app_context():
        assert db.session.scalar(select(func.count(User.id)).where(User.email == "import@contoh.id")) == 0


@pytest.mark.provokes_server_error
def test_a_write_during_a_get_fails_instead_of_queueing(sqlite_app):
    from participation.events import Actor, record
    from participation.extensions import db

    def writes_on_get():
        record("test.get_wrote", Actor.cli(), None, object_type="Test")
        db.session.commit()
        return "written"

    sqlite_app.add_url_rule("/_test/writes-on-get", "writes_on_get", writes_on_get)
    assert sqlite_app.test_client().get("/_test/writes-on-get").status_code == 500
    with sqlite_app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id))) == 0
        # The same connection writes normally in the next (non-GET) transaction.
        record("test.cli_wrote", Actor.cli(), None, object_type="Test")
        db.session.commit()
        assert db.session.scalar(select(func.count(AuditEvent.id))) == 1


def test_a_write_that_finds_the_lock_taken_answers_503_and_saves_nothing(sqlite_app, make_world):
    from participation.extensions import db

    world = make_world(owner=True)
    with sqlite_app.app_context():
        email = db.session.get(User, world.owner).email
    client = sqlite_app.test_client()
    token = csrf_token(client, "/masuk")
    other = hold_write_lock(sqlite_app)
    try:
        response = client.post("/masuk", data={"csrf_token": token, "email": email, "password": TEST_PASSWORD})
    finally:
        other.rollback()
        other.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "Tidak ada yang tersimpan" in response.get_data(as_text=True)
    # Once the lock is free the same sign-in goes through: nothing half-done stands in its way.
    assert login(client, email).status_code == 303


def test_a_reading_block_reads_beside_a_writer_and_cannot_write(sqlite_app, make_world):
    from participation.database import reading
    from participation.events import Actor, record
    from participation.extensions import db

    world = make_world(owner=True)
    other = hold_write_lock(sqlite_app)
    try:
        with sqlite_app.app_context():
            with reading():
                assert db.session.get(User, world.owner) is not None  # no wait for the writer
                with pytest.raises(OperationalError, match="readonly"):
                    record("test.wrote", Actor.cli(), None, object_type="Test")
                    db.session.flush()
    finally:
        other.rollback()
        other.close()
    with sqlite_app.app_context():
        record("test.wrote", Actor.cli(), None, object_type="Test")  # writing again after the block
        db.session.commit()
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "test.wrote")) == 1
