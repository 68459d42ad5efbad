"""The restore drill (issue 16): a backup taken while owners submit, restored into an empty database.

The backup is a snapshot, so the restored copy is compared with the backup itself, read without
the code under test: the SQLite file opened read-only, the pg_dump archive's COPY data read through
`pg_restore --data-only`. Every table's row count, every receipt number and every stored file's
SHA-256 must be equal, and the snapshot must be consistent (each proposal counted has its
attachment and its audit event; receipts have no gap).
"""
from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, inspect, text

from participation.config import normalize_database_url
from tests.conftest import _migrate, clean_database, login, postgres_database
from tests.factories import PDF_BYTES
from tests.proposals.test_proposals import upload
from tests.test_migrations import flask

OWNERS = 4


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


# --- reading a database or a backup, without the code under test ------------------------------------

def _sqlite_tables(path: Path, *, immutable: bool) -> dict[str, list[dict]]:
    mode = "mode=ro&immutable=1" if immutable else "mode=ro"
    connection = sqlite3.connect(f"file:{quote(str(path))}?{mode}", uri=True)
    connection.row_factory = sqlite3.Row
    try:
        names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: [dict(row) for row in connection.execute(f'SELECT * FROM "{name}"')] for name in names}
    finally:
        connection.close()


COPY_START = re.compile(r"^COPY public\.(\w+) \((.*)\) FROM stdin;$")
COPY_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _copy_field(field: str):
    """One field of COPY's text format: \\N is NULL, bytea comes as \\x<hex>."""
    if field == r"\N":
        return None
    value = re.sub(r"\\(.)", lambda match: COPY_ESCAPES.get(match.group(1), match.group(1)), field)
    return bytes.fromhex(value[2:]) if value.startswith("\\x") else value


def archive_tables(path: Path) -> dict[str, list[dict]]:
    """Every table's rows in a pg_dump archive, from its COPY data."""
    script = subprocess.run(["pg_restore", "--data-only", "--file", "-", str(path)], capture_output=True,
                            check=True).stdout.decode()
    tables, rows, columns = {}, None, []
    for line in script.split("\n"):
        if rows is None:
            start = COPY_START.match(line)
            if start:
                columns = [column.strip().strip('"') for column in start.group(2).split(",")]
                rows = tables.setdefault(start.group(1), [])
        elif line == "\\.":
            rows = None
        else:
            rows.append(dict(zip(columns, map(_copy_field, line.split("\t")), strict=True)))
    return tables


def database_tables(url: str) -> dict[str, list[dict]]:
    """Every table's rows in a live database."""
    if url.startswith("sqlite:///"):
        return _sqlite_tables(Path(url.removeprefix("sqlite:///")), immutable=False)
    engine = create_engine(normalize_database_url(url))
    try:
        with engine.connect() as connection:
            return {name: [dict(row._mapping) for row in connection.execute(text(f'SELECT * FROM "{name}"'))]
                    for name in inspect(connection).get_table_names()}
    finally:
        engine.dispose()


def backup_tables(backend: str, path: Path) -> dict[str, list[dict]]:
    return _sqlite_tables(path, immutable=True) if backend == "sqlite" else archive_tables(path)


def counts(tables):
    return {name: len(rows) for name, rows in tables.items()}


def receipts(tables):
    return {int(row["id"]): row["receipt_number"] for row in tables["proposals"] if row["receipt_number"]}


def files(tables):
    """Stored file id -> (the SHA-256 recorded, the SHA-256 of the bytes held)."""
    return {int(row["id"]): (row["sha256"], hashlib.sha256(bytes(row["data"])).hexdigest())
            for row in tables["stored_files"]}


def submitted_count(url: str) -> int:
    engine = create_engine(normalize_database_url(url))
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT count(*) FROM proposals WHERE status = 'submitted'"))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def pg_template(backend):
    """PostgreSQL: a database migrated once and never opened by an app, to clone migrated ones from."""
    if backend != "postgresql":
        yield None
        return
    with postgres_database("mt_restore_template") as url:
        _migrate(url)
        yield url


@contextmanager
def pg_clone(template_url: str):
    """A new PostgreSQL database, a copy of the template (CREATE DATABASE ... TEMPLATE), dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    from tests.conftest import PG_ADMIN_URL

    with postgres_database("mt_restore") as url:
        name, template = make_url(url).database, make_url(template_url).database
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}"')
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        yield url


@contextmanager
def empty_database(backend: str, tmp_path: Path, migrated_database, pg_template, *, migrated: bool, name: str):
    """A database without a row: brand new (no tables at all), or just migrated (what `make run` leaves)."""
    if backend == "sqlite":
        path = tmp_path / f"{name}.db"
        yield clean_database(backend, migrated_database, path) if migrated else f"sqlite:///{path}"
    elif migrated:
        with pg_clone(pg_template) as url:
            yield url
    else:
        with postgres_database("mt_restore") as url:
            yield url


@contextmanager
def app_on(url: str):
    """An app serving the database at `url`."""
    from participation import create_app
    from participation.extensions import db

    application = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": url})
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


# --- the drill ------------------------------------------------------------------------------------------

@pytest.fixture
def owners_world(make_world, make_user, app):
    """An open session and OWNERS business owners, each with a business, who may send many proposals."""
    from participation.models import User
    from tests.conftest import app_db

    world = make_world(facilitator=True, owner=True, max_proposals_per_business=500)
    ids = [world.owner] + [make_user("proponent") for _ in range(OWNERS - 1)]
    with app_db(app) as session:
        emails = [session.get(User, user_id).email for user_id in ids]
    return world, emails


def submit_until(client, world, stop: threading.Event, made: list, failures: list) -> None:
    """One signed-in owner sends proposals with attachments, one after another, until told to stop."""
    try:
        n = 0
        while not stop.is_set():
            n += 1
            content = PDF_BYTES + os.urandom(4096 + n)  # every attachment different
            response = upload(client, world, content, f"penawaran {n}.pdf")
            if response.status_code != 303:
                failures.append((response.status_code, response.get_data(as_text=True)[:500]))
                return
            made.append(hashlib.sha256(content).hexdigest())
    except Exception as error:  # noqa: BLE001  (reported by the test, not lost in the thread)
        failures.append(repr(error))


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_restore_drill_backup_while_owners_submit(app, app_config, owners_world, backend, migrated_database,
                                                  pg_template, tmp_path):
    world, emails = owners_world
    source_url = app_config["SQLALCHEMY_DATABASE_URI"]
    backup = tmp_path / ("drill.db" if backend == "sqlite" else "drill.dump")
    stop, made, failures = threading.Event(), [], []
    clients = [app.test_client() for _ in emails]
    for client, email in zip(clients, emails, strict=True):  # one at a time: password hashing is rationed
        assert login(client, email).status_code == 303
    threads = [threading.Thread(target=submit_until, args=(client, world, stop, made, failures))
               for client in clients]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: submitted_count(source_url) >= 6 or failures)
        # `flask backup` as an operator runs it: another process, while the owners keep submitting.
        done = flask("backup", str(backup), database_url=source_url, instance=str(tmp_path / "ops"))
        assert done.returncode == 0, done.stderr
        after_backup = submitted_count(source_url)
        wait_for(lambda: submitted_count(source_url) >= after_backup + 4 or failures)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert not failures, failures

    snapshot = backup_tables(backend, backup)
    live = database_tables(source_url)

    # The backup was taken mid-stream: some proposals are in it, later ones are not.
    backed_up = receipts(snapshot)
    assert 6 <= len(backed_up) < len(receipts(live)) == len(made)
    assert backed_up.items() <= receipts(live).items()

    # ... and it holds a consistent state: gapless receipts, each proposal with its file and audit event.
    year = 2027
    assert sorted(backed_up.values()) == [f"MT-{year}-{n:04d}" for n in range(1, len(backed_up) + 1)]
    stored = files(snapshot)
    assert all(recorded == actual for recorded, actual in stored.values())
    assert {actual for _, actual in stored.values()} <= set(made)
    proposals = {int(row["id"]): row for row in snapshot["proposals"]}
    assert {row["status"] for row in proposals.values()} == {"submitted"}
    assert sorted(int(row["attachment_id"]) for row in proposals.values()) == sorted(stored)
    events = {(row["action"], row["object_id"]) for row in snapshot["audit_events"]}
    assert {("proposal.submitted", str(proposal_id)) for proposal_id in proposals} <= events
    history = {(int(row["proposal_id"]), row["to_status"]) for row in snapshot["proposal_status_changes"]}
    assert {(proposal_id, "submitted") for proposal_id in proposals} <= history

    for migrated in (False, True):
        with empty_database(backend, tmp_path, migrated_database, pg_template, migrated=migrated,
                            name=f"restored-{migrated}") as target_url, app_on(target_url) as restored:
            result = run(restored, "restore", str(backup))
            assert result.exit_code == 0, result.output
            assert f"{len(proposals)} usulan, {len(stored)} berkas tersimpan" in result.output
            assert "aplikasi dapat dijalankan" in result.output

            copy = database_tables(target_url)
            assert counts(copy) == counts(snapshot)
            assert receipts(copy) == backed_up
            assert files(copy) == stored

            # The restored copy serves the owner's proposal page and its attachment.
            proposal_id = min(proposals)
            owner_email = _owner_email(copy, proposal_id)
            client = restored.test_client()
            assert login(client, owner_email).status_code == 303
            page = client.get(f"/usulan/{proposal_id}")
            assert page.status_code == 200 and backed_up[proposal_id] in page.get_data(as_text=True)
            download = client.get(f"/usulan/{proposal_id}/lampiran")
            assert download.status_code == 200
            assert hashlib.sha256(download.data).hexdigest() == stored[int(proposals[proposal_id]["attachment_id"])][1]
            # ... and carries on where the backup stopped: ids and receipt numbers continue, none reused.
            assert upload(client, world, PDF_BYTES, "sesudah pemulihan.pdf").status_code == 303
            after = receipts(database_tables(target_url))
            assert len(after) == len(backed_up) + 1 and min(after.keys() - backed_up.keys()) > max(backed_up)
            assert max(after.values()) == f"MT-{year}-{len(backed_up) + 1:04d}"


def _owner_email(tables, proposal_id: int) -> str:
    [proposal] = [row for row in tables["proposals"] if int(row["id"]) == proposal_id]
    [business] = [row for row in tables["businesses"] if row["id"] == proposal["business_id"]]
    [user] = [row for row in tables["users"] if row["id"] == business["user_id"]]
    return user["email"]


# --- refusals -------------------------------------------------------------------------------------------

def make_backup(app, tmp_path: Path, backend: str, name: str = "copy") -> Path:
    destination = tmp_path / (f"{name}.db" if backend == "sqlite" else f"{name}.dump")
    result = run(app, "backup", str(destination))
    assert result.exit_code == 0, result.output
    return destination


def test_restore_refuses_a_database_that_holds_data_and_changes_nothing(app, app_config, make_user, tmp_path,
                                                                        backend, monkeypatch):
    make_user(email="sumber@contoh.id")
    backup = make_backup(app, tmp_path, backend)
    make_user(email="tujuan@contoh.id")  # the target now differs from the backup
    url = app_config["SQLALCHEMY_DATABASE_URI"]
    before = database_tables(url)

    result = app.test_cli_runner().invoke(args=["restore", str(backup)])
    assert result.exit_code == 1
    assert "Basis data sudah berisi data:" in result.output and "users (2)" in result.output
    assert "tidak ada yang diubah" in result.output
    assert database_tables(url) == before

    if backend == "postgresql":
        # The guard inside the restore's own transaction refuses too (rows that arrive after the check).
        from participation import restore

        monkeypatch.setattr(restore, "_refuse_data", lambda engine: None)
        result = app.test_cli_runner().invoke(args=["restore", str(backup)])
        assert result.exit_code == 1
        assert "Basis data sudah berisi data: public." in result.output, result.output
        assert database_tables(url) == before


def _truncated(app, tmp_path, backend, pg_template):
    whole = make_backup(app, tmp_path, backend, "whole").read_bytes()
    return whole[: len(whole) // 2]


def _foreign_sqlite(app, tmp_path, backend, pg_template):
    path = tmp_path / "foreign.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE catatan (isi TEXT)")
    connection.commit()
    connection.close()
    return path.read_bytes()


def _newer_revision(app, tmp_path, backend, pg_template):
    """A backup (of this backend's kind) whose schema revision this release does not know."""
    if backend == "sqlite":
        backup = make_backup(app, tmp_path, backend, "newer")
        connection = sqlite3.connect(backup)
        connection.execute("UPDATE alembic_version SET version_num = 'fedcba987654'")
        connection.commit()
        connection.close()
        return backup.read_bytes()
    backup = tmp_path / "newer.dump"
    with pg_clone(pg_template) as url:
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        subprocess.run(["psql", "-X", "-q", "-c", "UPDATE alembic_version SET version_num = 'fedcba987654'", plain],
                       check=True, capture_output=True)
        subprocess.run(["pg_dump", "--format=custom", "--file", str(backup), plain], check=True, capture_output=True)
    return backup.read_bytes()


BAD_FILES = {
    "empty": (lambda *_: b"", "kosong: ini bukan cadangan"),
    "random bytes": (lambda *_: os.urandom(8192), "bukan cadangan buatan `flask backup`"),
    "a text file": (lambda *_: b"Laporan rapat\n", "bukan cadangan buatan `flask backup`"),
    "a plain SQL dump": (lambda *_: b"--\n-- PostgreSQL database dump\n--\n", "dump SQL biasa"),
    "truncated": (_truncated, "rusak atau terpotong"),
    "another SQLite database": (_foreign_sqlite, None),
    "from a newer release": (_newer_revision, "tidak dikenal oleh rilis ini"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_restore_refuses_a_file_that_is_not_a_sound_backup(app, app_config, tmp_path, backend, pg_template, case):
    make_content, expected = BAD_FILES[case]
    bad = tmp_path / "incoming" / "cadangan.bin"
    bad.parent.mkdir()
    bad.write_bytes(make_content(app, tmp_path, backend, pg_template))
    if expected is None:  # another app's SQLite file: not ours, or not this engine's kind
        expected = "bukan milik aplikasi ini" if backend == "sqlite" else "adalah cadangan SQLite"
    url = app_config["SQLALCHEMY_DATABASE_URI"]
    before = database_tables(url)
    result = app.test_cli_runner().invoke(args=["restore", str(bad)])
    assert result.exit_code == 1, result.output
    assert expected in result.output and str(bad) in result.output
    assert database_tables(url) == before  # still the empty migrated schema


def test_restore_refuses_a_backup_of_the_other_engine(app, tmp_path, backend):
    if backend == "sqlite":
        other = tmp_path / "cadangan.dump"
        other.write_bytes(b"PGDMP\x01\x0e\x00" + os.urandom(512))  # a pg_dump archive's signature
        expected = "adalah cadangan PostgreSQL, tetapi basis data yang dikonfigurasi adalah SQLite"
    else:
        other = tmp_path / "cadangan.db"
        connection = sqlite3.connect(other)
        connection.executescript("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY);"
                                 "INSERT INTO alembic_version VALUES ('8d4a3f5b1e64');")
        connection.close()
        expected = "adalah cadangan SQLite, tetapi basis data yang dikonfigurasi adalah PostgreSQL"
    result = app.test_cli_runner().invoke(args=["restore", str(other)])
    assert result.exit_code == 1 and expected in result.output, result.output


@pytest.mark.parametrize("case", ["damaged", "in use"])
def test_a_refused_sqlite_restore_does_not_create_the_target_file(tmp_path, monkeypatch, case):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    target = tmp_path / "baru" / "musrenbang.db"
    bad = tmp_path / "sumber.db"
    live = None
    if case == "damaged":
        bad.write_bytes(b"SQLite format 3\x00" + os.urandom(4000))
        expected = "rusak atau terpotong"
    else:  # a live database: its latest transactions are still in the -wal file
        live = sqlite3.connect(bad)
        live.execute("PRAGMA journal_mode = WAL")
        live.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        live.execute("INSERT INTO alembic_version VALUES ('8d4a3f5b1e64')")
        live.commit()
        expected = "basis data yang sedang dipakai, bukan cadangan"
    try:
        with app_on(f"sqlite:///{target}") as fresh:
            result = fresh.test_cli_runner().invoke(args=["restore", str(bad)])
    finally:
        if live is not None:
            live.close()
    assert result.exit_code == 1 and expected in result.output, result.output
    assert not target.exists()


def test_a_backup_from_an_older_release_is_restored_and_told_to_upgrade(backend, tmp_path, migrated_database,
                                                                       pg_template):
    older = "8d4a3f5b1e64"  # an earlier migration than the newest
    backup = tmp_path / ("older.db" if backend == "sqlite" else "older.dump")
    with empty_database(backend, tmp_path, migrated_database, pg_template, migrated=False, name="older") as url:
        assert flask("db", "upgrade", older, database_url=url, instance=str(tmp_path)).returncode == 0
        _backup_as_an_older_release_did(backend, url, backup)
    with empty_database(backend, tmp_path, migrated_database, pg_template, migrated=True, name="newer") as url:
        with app_on(url) as restored:
            result = run(restored, "restore", str(backup))
            assert result.exit_code == 0, result.output
            assert f"revisi {older}, lebih lama" in result.output and "flask db upgrade" in result.output
        head = re.search(r"revisi rilis ini (\w+)", result.output).group(1)
        upgrade = flask("db", "upgrade", database_url=url, instance=str(tmp_path))
        assert upgrade.returncode == 0, upgrade.stderr
        assert [row["version_num"] for row in database_tables(url)["alembic_version"]] == [head]


def _backup_as_an_older_release_did(backend: str, url: str, backup: Path) -> None:
    """The copy `flask backup` has always made: SQLite's backup API, or pg_dump's custom format."""
    if backend == "sqlite":
        source, target = sqlite3.connect(url.removeprefix("sqlite:///")), sqlite3.connect(backup)
        source.backup(target)
        target.close()
        source.close()
    else:
        subprocess.run(["pg_dump", "--format=custom", "--file", str(backup),
                        url.replace("postgresql+psycopg://", "postgresql://")], check=True, capture_output=True)


def test_restore_into_a_database_that_cannot_be_made_says_so(app, tmp_path, backend):
    backup = make_backup(app, tmp_path, backend)
    if backend == "sqlite":
        (tmp_path / "berkas").write_text("bukan folder")
        target, expected = f"sqlite:///{tmp_path / 'berkas' / 'musrenbang.db'}", "Pemulihan gagal"
    else:
        from sqlalchemy.engine import make_url

        target = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(database="mt_tidak_ada").render_as_string(
            hide_password=False)
        expected = "tidak dapat dihubungi"
    with app_on(target) as elsewhere:
        result = elsewhere.test_cli_runner().invoke(args=["restore", str(backup)])
    assert result.exit_code == 1 and expected in result.output, result.output
