"""Attachments live in the database: they follow the transaction, every host serves them, backups carry them."""
from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from participation.models import Proposal, StoredFile
from tests.conftest import app_db, login, post_form
from tests.factories import PDF_BYTES, PNG_BYTES
from tests.proposals.test_proposals import FULL, new_form, upload
from tests.test_migrations import empty_database, flask

# A PDF larger than one download chunk, with bytes that do not compress.
BIG_PDF = PDF_BYTES + os.urandom(700 * 1024)


@pytest.fixture
def world(make_world, login_as):
    """An open session with an owner signed in."""
    world = make_world(facilitator=True, owner=True)
    login_as(world.owner)
    return world


def file_rows(app) -> list[tuple[int, str, int]]:
    with app_db(app) as session:
        return session.execute(select(StoredFile.id, StoredFile.sha256, StoredFile.size)
                               .order_by(StoredFile.id)).all()


def uploads_on_disk(app) -> list[Path]:
    """Files in the old per-host folder (instance/uploads): there must never be any."""
    folder = Path(app.instance_path) / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


def only_proposal(app) -> Proposal:
    with app_db(app) as session:
        [proposal] = session.scalars(select(Proposal)).all()
        session.expunge(proposal)
        return proposal


def edit_with_file(client, proposal_id: int, content: bytes, filename: str, action: str = "save", **changes):
    data = {**FULL, "category_id": changes.pop("category_id"), "action": action,
            "attachment": (io.BytesIO(content), filename), **changes}
    return post_form(client, f"/usulan/{proposal_id}/ubah", data, content_type="multipart/form-data")


def test_an_upload_is_stored_in_the_database_and_downloaded_with_its_headers(app, client, world):
    assert upload(client, world, BIG_PDF, "penawaran harga.pdf").status_code == 303
    proposal = only_proposal(app)
    [(file_id, sha256, size)] = file_rows(app)
    assert proposal.attachment_id == file_id and size == len(BIG_PDF) == proposal.attachment_size
    assert sha256 == hashlib.sha256(BIG_PDF).hexdigest()
    assert uploads_on_disk(app) == []
    download = client.get(f"/usulan/{proposal.id}/lampiran")
    assert download.status_code == 200 and download.is_streamed
    assert hashlib.sha256(download.data).hexdigest() == sha256
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == 'attachment; filename="penawaran harga.pdf"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Length"] == str(len(BIG_PDF))
    assert download.headers["Cache-Control"] == "no-store"


def test_downloads_stream_in_chunks_without_holding_a_transaction(app):
    from participation import storage
    from participation.extensions import db

    with app.app_context():
        stored = storage.new_file(BIG_PDF, "application/pdf")
        db.session.add(stored)
        db.session.commit()
        file_id = stored.id
        db.session.remove()
        pieces = storage.chunks(file_id, len(BIG_PDF))
        first = next(pieces)
        assert len(first) == storage.CHUNK_BYTES
        # Mid-download, another connection writes at once (on SQLite: no write lock is held).
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE stored_files SET content_type = 'application/pdf' WHERE id = :id"),
                               {"id": file_id})
        rest = list(pieces)
        assert len(rest) >= 2 and all(len(piece) <= storage.CHUNK_BYTES for piece in rest)
        assert first + b"".join(rest) == BIG_PDF
        assert list(storage.chunks(file_id + 1, 100)) == []  # a row that is gone yields nothing


def test_a_refused_save_leaves_no_file(app, client, world):
    """The per-business limit refuses the submission after the upload was read: nothing is kept."""
    from participation.models import ThemedSession

    with app_db(app) as session:
        session.get(ThemedSession, world.session).max_proposals_per_business = 1
        session.commit()
    assert upload(client, world, PDF_BYTES, "pertama.pdf").status_code == 303
    before = file_rows(app)
    response = upload(client, world, PNG_BYTES, "kedua.png")
    assert response.status_code == 400
    assert file_rows(app) == before and uploads_on_disk(app) == []


@pytest.mark.provokes_server_error
def test_a_save_that_fails_with_an_error_leaves_no_file(app, client, world, monkeypatch):
    """Finding 3: a save that breaks after the upload (a 500) must not leave the file behind."""
    from participation.proposals import services

    def broken(proposal):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "flag_near_duplicate", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    for _attempt in range(3):
        assert upload(client, world, PDF_BYTES, "penawaran.pdf").status_code == 500
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 0
    assert file_rows(app) == [] and uploads_on_disk(app) == []


def test_replacing_the_attachment_and_deleting_the_draft_delete_the_old_file(app, client, world):
    token, key = new_form(client, world)
    data = {**FULL, "category_id": str(world.categories[2]), "csrf_token": token, "idempotency_key": key,
            "action": "draft", "attachment": (io.BytesIO(PDF_BYTES), "lama.pdf")}
    assert client.post(f"/usulan/baru/{world.session}", data=data,
                       content_type="multipart/form-data").status_code == 303
    proposal = only_proposal(app)
    [(old_id, _sha, _size)] = file_rows(app)

    response = edit_with_file(client, proposal.id, PNG_BYTES, "foto.png", category_id=str(world.categories[2]))
    assert response.status_code == 303
    [(new_id, new_sha, _size)] = file_rows(app)
    assert new_id != old_id and new_sha == hashlib.sha256(PNG_BYTES).hexdigest()
    replaced = only_proposal(app)
    assert (replaced.attachment_id, replaced.attachment_type, replaced.attachment_name) == (
        new_id, "image/png", "foto.png")
    assert client.get(f"/usulan/{proposal.id}/lampiran").data == PNG_BYTES

    assert post_form(client, f"/usulan/{proposal.id}/hapus", {}, token_from=f"/usulan/{proposal.id}").status_code == 303
    assert file_rows(app) == []
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 0


def test_removing_the_attachment_deletes_its_file(app, client, world):
    assert upload(client, world, PDF_BYTES, "penawaran.pdf").status_code == 303
    proposal = only_proposal(app)
    page = client.get(f"/usulan/{proposal.id}/ubah").get_data(as_text=True)
    assert "Hapus lampiran saat ini" in page
    data = {**FULL, "category_id": str(world.categories[2]), "action": "save", "remove_attachment": "y"}
    assert post_form(client, f"/usulan/{proposal.id}/ubah", data).status_code == 303
    assert file_rows(app) == []
    removed = only_proposal(app)
    assert (removed.attachment_id, removed.attachment_name, removed.attachment_type, removed.attachment_size) == (
        None, None, None, None)
    assert client.get(f"/usulan/{proposal.id}/lampiran").status_code == 404
    assert "Hapus lampiran saat ini" not in client.get(f"/usulan/{proposal.id}/ubah").get_data(as_text=True)


def test_a_second_host_serves_an_attachment_uploaded_through_the_first(app, client, world, app_config,
                                                                       tmp_path, monkeypatch):
    """Another app process (own instance folder, own engine and connections) on the same database."""
    from participation import create_app
    from participation.extensions import db
    from participation.models import User

    assert upload(client, world, BIG_PDF, "penawaran.pdf").status_code == 303
    proposal = only_proposal(app)
    first = client.get(f"/usulan/{proposal.id}/lampiran")
    with app_db(app) as session:
        email = session.get(User, world.owner).email

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "second-host"))
    second = create_app(dict(app_config))
    assert second.instance_path != app.instance_path
    try:
        other_client = second.test_client()
        assert login(other_client, email).status_code == 303
        download = other_client.get(f"/usulan/{proposal.id}/lampiran")
        assert download.status_code == 200
        assert hashlib.sha256(download.data).hexdigest() == hashlib.sha256(BIG_PDF).hexdigest()
        for header in ("Content-Type", "Content-Disposition", "X-Content-Type-Options", "Content-Length"):
            assert download.headers[header] == first.headers[header], header
        assert not (Path(second.instance_path) / "uploads").exists()
    finally:
        with second.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_backup_carries_the_attachments(app, client, world, tmp_path, backend):
    from tests.test_cli import run

    assert upload(client, world, PDF_BYTES, "penawaran.pdf").status_code == 303
    destination = tmp_path / ("copy.db" if backend == "sqlite" else "copy.dump")
    result = run(app, "backup", str(destination))
    assert result.exit_code == 0 and "1 stored files" in result.output
    if backend == "sqlite":
        copy = sqlite3.connect(destination)
        assert copy.execute("SELECT data FROM stored_files").fetchall() == [(PDF_BYTES,)]
        copy.close()
    else:
        listing = subprocess.run(["pg_restore", "--list", str(destination)], capture_output=True, text=True,
                                 check=True).stdout
        assert "TABLE DATA public stored_files" in listing
        data = subprocess.run(["pg_restore", "--data-only", "--table", "stored_files", "--file", "-",
                               str(destination)], capture_output=True, check=True).stdout
        assert PDF_BYTES.hex().encode() in data  # COPY writes bytea as \x<hex>


BEFORE = "5a1f0c2e8b31"  # 0008
STORED_FILES = "6b2e1d3f9c42"  # 0009
OLD_KEY, MISSING_KEY = "ab" * 16, "cd" * 16


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_0009_moves_the_files_into_the_database_and_back(engine_name, tmp_path):
    from participation.config import normalize_database_url
    from tests.conftest import BACKENDS

    if engine_name not in BACKENDS:
        pytest.skip("no PostgreSQL server answered")
    instance = tmp_path / "instance"
    (instance / "uploads").mkdir(parents=True)
    (instance / "uploads" / OLD_KEY).write_bytes(BIG_PDF)
    with empty_database(engine_name, tmp_path) as url:
        assert flask("db", "upgrade", BEFORE, database_url=url, instance=str(instance)).returncode == 0
        engine = create_engine(normalize_database_url(url))
        with engine.begin() as connection:
            for statement in (
                "INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES "
                "(1, 'pemilik@contoh.id', 'Pemilik', 'proponent', 'x', '2026-11-01 08:00:00')",
                "INSERT INTO businesses (id, user_id, nib, name, name_key, owner_name, kbli_codes, scale, kelurahan, "
                "kecamatan, created_at, updated_at) VALUES (1, 1, '3201010100001', 'CV Maju Jaya', 'maju jaya', "
                "'Pemilik', '10794', 'mikro', 'Kauman', 'Karanganyar', '2026-11-01 08:00:00', '2026-11-01 08:00:00')",
                "INSERT INTO themed_sessions (id, title, fiscal_year, created_at, updated_at) VALUES "
                "(1, 'Musrenbang Tematik', 2027, '2026-11-01 08:00:00', '2026-11-01 08:00:00')",
                "INSERT INTO proposals (id, session_id, business_id, title, attachment_key, attachment_name, "
                f"attachment_type, attachment_size, created_at, updated_at) VALUES "
                f"(1, 1, 1, 'Dengan berkas', '{OLD_KEY}', 'penawaran.pdf', 'application/pdf', {len(BIG_PDF)}, "
                "'2026-11-02 08:00:00', '2026-11-02 08:00:00'), "
                f"(2, 1, 1, 'Berkas hilang', '{MISSING_KEY}', 'hilang.pdf', 'application/pdf', 10, "
                "'2026-11-02 08:00:00', '2026-11-02 08:00:00'), "
                "(3, 1, 1, 'Tanpa berkas', NULL, NULL, NULL, NULL, '2026-11-02 08:00:00', '2026-11-02 08:00:00')",
            ):
                connection.execute(text(statement))

        upgrade = flask("db", "upgrade", STORED_FILES, database_url=url, instance=str(instance))
        assert upgrade.returncode == 0, upgrade.stderr
        assert f"proposal 2: attachment {instance / 'uploads' / MISSING_KEY} not found" in upgrade.stderr
        with engine.connect() as connection:
            links = dict(connection.execute(text("SELECT id, attachment_id FROM proposals")).all())
            [(file_id, data, sha256, size, content_type)] = connection.execute(
                text("SELECT id, data, sha256, size, content_type FROM stored_files")).all()
        assert links == {1: file_id, 2: None, 3: None}
        assert (bytes(data), sha256, size, content_type) == (
            BIG_PDF, hashlib.sha256(BIG_PDF).hexdigest(), len(BIG_PDF), "application/pdf")

        (instance / "uploads" / OLD_KEY).unlink()  # the old folder is no longer needed
        downgrade = flask("db", "downgrade", BEFORE, database_url=url, instance=str(instance))
        assert downgrade.returncode == 0, downgrade.stderr
        with engine.connect() as connection:
            keys = dict(connection.execute(text("SELECT id, attachment_key FROM proposals")).all())
            columns = connection.execute(text("SELECT * FROM proposals")).keys()
            names = dict(connection.execute(text("SELECT id, attachment_name FROM proposals")).all())
        assert "attachment_id" not in columns and keys[2] is None and keys[3] is None
        assert (instance / "uploads" / keys[1]).read_bytes() == BIG_PDF
        assert names == {1: "penawaran.pdf", 2: "hilang.pdf", 3: None}
        if engine_name == "sqlite":  # the rebuilt table still never hands out an id twice
            with engine.connect() as connection:
                assert connection.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'proposals'").scalar() == 3
                assert "AUTOINCREMENT" in connection.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'proposals'").scalar()
        engine.dispose()
