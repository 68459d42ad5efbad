"""SQLite: page reads never wait for a writer, and a GET cannot write (issue 17, finding 4).

Every writing transaction begins IMMEDIATE (DESIGN §8). A GET or HEAD begins DEFERRED with
`PRAGMA query_only`: in WAL mode it reads the last committed snapshot while a background import
holds the write lock, and any write attempted during a GET fails instead of queueing for the lock.
"""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from participation.models import AuditEvent, ThemedSession, User
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


def other_writer_commits(app, business_id: int, address: str) -> None:
    """Another process's short write, which must find the lock free at once (no busy timeout)."""
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE businesses SET address = ? WHERE id = ?", (address, business_id))
        other.execute("COMMIT")
    finally:
        other.close()


def test_a_proposal_import_job_holds_the_write_lock_only_for_its_final_copy(sqlite_app, make_world, monkeypatch):
    """While the worker reads, checks and stages a large file, other writers go ahead and commit;
    the import then still commits every row (its transaction took no stale snapshot)."""
    from participation import jobs
    from participation.events import Actor
    from participation.extensions import db
    from participation.models import Business, Category, Job, JobState, Proposal, ProposalStatusChange
    from participation.proposals import bulk

    world = make_world(businesses=[{"nib": f"{3_202_000_000_000 + n}", "name": f"Usaha {n}"} for n in range(3)])
    with sqlite_app.app_context():
        category = db.session.get(Category, world.categories[0]).name
        planner = db.session.get(User, world.planner)
        rows = "".join(f"{3_202_000_000_000 + n},Usaha {n},Mesin pengemas nomor {n},Masalah,Deskripsi,{category},"
                       f"15000000,10,1\n" for n in range(3))
        job = jobs.enqueue("import_proposals", Actor(user=planner), themed_session=db.session.get(
            ThemedSession, world.session), input_name="usulan.csv", input_data=(
            "nib,nama_usaha,judul,masalah,deskripsi,kategori,perkiraan_biaya,penerima_manfaat,tenaga_kerja_baru\n"
            + rows).encode())
        db.session.commit()
        job_id = job.id
    business_id = world.businesses[0]
    seen = []
    plan, stage = bulk.plan_near_duplicates, bulk.stage

    def plan_beside_a_writer(*args, **kwargs):
        other_writer_commits(sqlite_app, business_id, "Jl. Selama Pemeriksaan 1")  # rows checked, not staged
        seen.append("checked")
        return plan(*args, **kwargs)

    def stage_beside_a_writer(*args, **kwargs):
        staged = stage(*args, **kwargs)
        other_writer_commits(sqlite_app, business_id, "Jl. Sesudah Penyiapan 2")  # staged, not yet copied
        seen.append("staged")
        return staged

    monkeypatch.setattr(bulk, "plan_near_duplicates", plan_beside_a_writer)
    monkeypatch.setattr(bulk, "stage", stage_beside_a_writer)
    with sqlite_app.app_context():
        assert jobs.run_due() == 1
    assert seen == ["checked", "staged"]
    with sqlite_app.app_context():
        finished = db.session.get(Job, job_id)
        assert finished.state is JobState.DONE, finished.result
        assert db.session.scalars(select(Proposal.receipt_number).order_by(Proposal.id)).all() == [
            "MT-2027-0001", "MT-2027-0002", "MT-2027-0003"]
        assert [change.value for change in db.session.scalars(
            select(ProposalStatusChange.to_status).order_by(ProposalStatusChange.id))] == ["draft", "submitted"] * 3
        assert db.session.get(Business, business_id).address == "Jl. Sesudah Penyiapan 2"
        # The TEMP staging table went with the transaction that copied it.
        assert db.session.execute(text("SELECT count(*) FROM sqlite_temp_master WHERE name = 'import_proposals'")
                                  ).scalar() == 0
