"""Stored files in an S3-compatible object store (STORAGE_URL), against a real S3 HTTP server.

The server is moto's standalone S3 server (ThreadedMotoServer) on a free port: the app talks to it
through boto3 over HTTP exactly as it would to MinIO or AWS; nothing in the app is mocked.
"""
from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import tarfile
import uuid
from datetime import timedelta

import boto3
import pytest
from sqlalchemy import func, select

from participation.models import AuditEvent, Proposal, StoredFile
from tests.conftest import app_db, login, post_form
from tests.factories import PDF_BYTES, PNG_BYTES
from tests.proposals.test_proposals import FULL, new_form, upload
from tests.test_cli import run

BIG_PDF = PDF_BYTES + os.urandom(700 * 1024)  # several download chunks, incompressible
HEADERS = ("Content-Type", "Content-Disposition", "X-Content-Type-Options", "Content-Length", "Cache-Control")
REGION = "ap-southeast-3"


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on a free local port, for the whole test session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_credentials(monkeypatch):
    """The standard AWS variables, as an operator would set them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "musrenbang-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "musrenbang-test-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3(s3_endpoint, s3_credentials):
    """A plain boto3 client on the server, to look into buckets behind the app's back."""
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION)


def new_bucket(s3) -> str:
    name = f"mt-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


@pytest.fixture
def bucket(s3) -> str:
    return new_bucket(s3)


def storage_url(endpoint: str, bucket: str, prefix: str = "musrenbang/berkas") -> str:
    return f"s3://{bucket}/{prefix}?endpoint={endpoint}&region={REGION}"


@pytest.fixture
def app_config(app_config, s3_endpoint, bucket, s3_credentials):
    """The usual test app, with its files in a fresh bucket."""
    return {**app_config, "STORAGE_URL": storage_url(s3_endpoint, bucket)}


@pytest.fixture
def world(make_world, login_as):
    world = make_world(facilitator=True, owner=True)
    login_as(world.owner)
    return world


def objects(s3, bucket: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed}


def file_rows(app) -> list[tuple]:
    with app_db(app) as session:
        return session.execute(select(StoredFile.id, StoredFile.object_key, StoredFile.size, StoredFile.sha256,
                                      func.length(StoredFile.data)).order_by(StoredFile.id)).all()


def only_proposal(app) -> Proposal:
    with app_db(app) as session:
        [proposal] = session.scalars(select(Proposal)).all()
        session.expunge(proposal)
        return proposal


def build_app(config: dict):
    from participation import create_app

    return create_app(dict(config))


def dispose(app) -> None:
    from participation.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_storage_url_is_parsed_and_a_bad_one_refused_at_start_up(app_config):
    from participation.config import ConfigError
    from participation.object_store import parse_storage_url

    location = parse_storage_url("s3://AKIA123:se%2Fcr%2Bet@arsip-kota/musrenbang/berkas/?endpoint=https://s3.kota.go.id"
                                 "&region=ap-southeast-3")
    assert (location.bucket, location.prefix, location.endpoint, location.region, location.addressing) == (
        "arsip-kota", "musrenbang/berkas/", "https://s3.kota.go.id", "ap-southeast-3", "path")
    assert (location.access_key, location.secret_key) == ("AKIA123", "se/cr+et")
    assert "se/cr+et" not in repr(location) and "AKIA123" not in location.describe()
    plain = parse_storage_url("s3://arsip-kota")
    assert (plain.prefix, plain.endpoint, plain.addressing, plain.access_key) == ("", None, "virtual", None)
    assert plain.files_prefix == "files/"

    for bad, words in (("https://arsip-kota/x", "s3://"), ("s3://Arsip_Kota/x", "bucket"),
                       ("s3://arsip-kota/../x", "prefix"), ("s3://arsip-kota/x?endpint=http://a", "endpint"),
                       ("s3://arsip-kota/x?endpoint=ftp://a", "endpoint"),
                       ("s3://arsip-kota/x?addressing=dns", "addressing"),
                       ("s3://AKIA123@arsip-kota/x", "secret")):
        with pytest.raises(ValueError, match=words):
            parse_storage_url(bad)
        with pytest.raises(ConfigError, match=words):
            build_app({**app_config, "STORAGE_URL": bad})


def test_an_upload_goes_to_the_bucket_and_downloads_with_its_headers(app, client, world, s3, bucket):
    assert upload(client, world, BIG_PDF, "penawaran harga.pdf").status_code == 303
    proposal = only_proposal(app)
    [(file_id, key, size, sha256, data_length)] = file_rows(app)
    assert proposal.attachment_id == file_id and size == len(BIG_PDF) and data_length == 0
    assert sha256 == hashlib.sha256(BIG_PDF).hexdigest()
    assert key.startswith("musrenbang/berkas/files/")
    assert objects(s3, bucket) == {key: BIG_PDF}  # the bytes live in the bucket, not the database
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentType"] == "application/pdf" and head["Metadata"] == {"sha256": sha256}

    download = client.get(f"/usulan/{proposal.id}/lampiran")
    assert download.status_code == 200 and download.is_streamed
    assert download.data == BIG_PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == 'attachment; filename="penawaran harga.pdf"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Length"] == str(len(BIG_PDF))
    assert download.headers["Cache-Control"] == "no-store"


def test_downloads_come_from_the_bucket_in_chunks(app, s3, bucket):
    from participation import storage
    from participation.extensions import db

    with app.app_context():
        stored = storage.new_file(BIG_PDF, "application/pdf")
        db.session.add(stored)
        db.session.commit()
        db.session.refresh(stored)
        db.session.expunge(stored)
        db.session.rollback()  # as a download does: no transaction (on SQLite, no lock) while it reads
        pieces = list(storage.read_chunks(stored))
        # chunks(id, size), which reads the database first, finds its way to the bucket too.
        by_id = list(storage.chunks(stored.id, stored.size))
        assert list(storage.chunks(stored.id + 1, 100)) == []  # a row that is gone yields nothing
    assert len(pieces) >= 3 and all(len(piece) <= storage.CHUNK_BYTES for piece in pieces)
    assert b"".join(pieces) == BIG_PDF == b"".join(by_id)


def test_a_refused_save_leaves_no_object(app, client, world, s3, bucket):
    """The per-business limit refuses the second submission after its file was read."""
    from participation.models import ThemedSession

    with app_db(app) as session:
        session.get(ThemedSession, world.session).max_proposals_per_business = 1
        session.commit()
    assert upload(client, world, PDF_BYTES, "pertama.pdf").status_code == 303
    before = objects(s3, bucket)
    assert list(before.values()) == [PDF_BYTES]
    assert upload(client, world, PNG_BYTES, "kedua.png").status_code == 400
    assert objects(s3, bucket) == before


@pytest.mark.provokes_server_error
def test_a_save_that_breaks_after_the_upload_leaves_no_object(app, client, world, monkeypatch, s3, bucket):
    """The file is uploaded when its row is flushed; the request then fails with a 500: it must go."""
    from participation.proposals import services

    def broken(proposal):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "flag_near_duplicate", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    for _attempt in range(2):
        assert upload(client, world, PDF_BYTES, "penawaran.pdf").status_code == 500
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 0
    assert file_rows(app) == [] and objects(s3, bucket) == {}


def test_objects_follow_rollbacks_and_savepoints(app, s3, bucket):
    from participation import storage
    from participation.extensions import db

    with app.app_context():
        rolled_back = storage.new_file(b"%PDF-rolled back", "application/pdf")
        db.session.add(rolled_back)
        db.session.flush()  # uploaded now...
        assert list(objects(s3, bucket).values()) == [b"%PDF-rolled back"]
        db.session.rollback()  # ...and gone with the transaction
        assert objects(s3, bucket) == {}

        kept = storage.new_file(b"%PDF-kept", "application/pdf")
        db.session.add(kept)
        savepoint = db.session.begin_nested()
        dropped = storage.new_file(b"%PDF-in a savepoint", "application/pdf")
        db.session.add(dropped)
        db.session.flush()
        savepoint.rollback()
        db.session.commit()
        assert objects(s3, bucket) == {kept.object_key: b"%PDF-kept"}

        never_saved = storage.new_file(b"%PDF-never saved", "application/pdf")
        db.session.commit()  # a file whose owner is never added is never uploaded
        assert never_saved.object_key not in objects(s3, bucket)

        db.session.delete(kept)
        db.session.flush()
        db.session.rollback()  # a deletion rolled back keeps the object
        assert list(objects(s3, bucket)) == [kept.object_key]
        db.session.delete(db.session.get(StoredFile, kept.id))
        db.session.commit()
        assert objects(s3, bucket) == {}


def test_replacing_and_deleting_the_attachment_delete_the_old_object(app, client, world, s3, bucket):
    token, key = new_form(client, world)
    data = {**FULL, "category_id": str(world.categories[2]), "csrf_token": token, "idempotency_key": key,
            "action": "draft", "attachment": (io.BytesIO(PDF_BYTES), "lama.pdf")}
    assert client.post(f"/usulan/baru/{world.session}", data=data,
                       content_type="multipart/form-data").status_code == 303
    proposal = only_proposal(app)
    [old_key] = objects(s3, bucket)

    data = {**FULL, "category_id": str(world.categories[2]), "action": "save",
            "attachment": (io.BytesIO(PNG_BYTES), "foto.png")}
    response = post_form(client, f"/usulan/{proposal.id}/ubah", data, content_type="multipart/form-data")
    assert response.status_code == 303
    [(_id, new_key, _size, _sha, _length)] = file_rows(app)
    assert new_key != old_key and objects(s3, bucket) == {new_key: PNG_BYTES}
    assert client.get(f"/usulan/{proposal.id}/lampiran").data == PNG_BYTES

    assert post_form(client, f"/usulan/{proposal.id}/hapus", {}, token_from=f"/usulan/{proposal.id}").status_code == 303
    assert file_rows(app) == [] and objects(s3, bucket) == {}


def test_a_second_host_serves_the_file_from_the_bucket(app, client, world, app_config, tmp_path, monkeypatch):
    """Another app process: own instance folder, own engine and database connections, same bucket."""
    from participation.models import User

    assert upload(client, world, BIG_PDF, "penawaran.pdf").status_code == 303
    proposal = only_proposal(app)
    first = client.get(f"/usulan/{proposal.id}/lampiran")
    with app_db(app) as session:
        email = session.get(User, world.owner).email

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "second-host"))
    second = build_app(app_config)
    try:
        other = second.test_client()
        assert login(other, email).status_code == 303
        download = other.get(f"/usulan/{proposal.id}/lampiran")
        assert download.status_code == 200 and download.data == BIG_PDF
        for header in HEADERS:
            assert download.headers[header] == first.headers[header], header
    finally:
        dispose(second)


def test_an_unreachable_store_answers_503_and_saves_nothing(app, client, world, app_config):
    """The bucket's server is down: uploads and downloads get a clear 503 page, no row is written."""
    assert upload(client, world, PDF_BYTES, "tersimpan.pdf").status_code == 303
    stored_before = file_rows(app)
    proposal_id = only_proposal(app).id
    email = world_email(app, world)

    closed = storage_url("http://127.0.0.1:9", "mt-nowhere")  # the discard port: nothing listens
    down = build_app({**app_config, "STORAGE_URL": closed})
    try:
        other = down.test_client()
        assert login(other, email).status_code == 303
        response = upload(other, world, PNG_BYTES, "baru.png")
        assert response.status_code == 503 and response.headers["Retry-After"] == "60"
        assert "Penyimpanan berkas tidak tersedia" in response.get_data(as_text=True)
        download = other.get(f"/usulan/{proposal_id}/lampiran")
        assert download.status_code == 503 and "Penyimpanan berkas tidak tersedia" in download.get_data(as_text=True)
        with app_db(down) as session:
            assert session.scalar(select(func.count(Proposal.id))) == 1
        assert file_rows(down) == stored_before
    finally:
        dispose(down)


def build_world_for(app, make_world):
    """A world like the `world` fixture's (written through the fixture's app); (world, owner's email)."""
    world = make_world(facilitator=True, owner=True)
    return world, world_email(app, world)


def test_a_missing_object_answers_404(app, client, world, s3, bucket):
    assert upload(client, world, PDF_BYTES, "penawaran.pdf").status_code == 303
    [key] = objects(s3, bucket)
    s3.delete_object(Bucket=bucket, Key=key)
    response = client.get(f"/usulan/{only_proposal(app).id}/lampiran")
    assert response.status_code == 404
    assert "Berkas tidak ditemukan" in response.get_data(as_text=True)


def test_files_move_to_the_bucket_and_back(app_config, make_world, s3, bucket, tmp_path):
    """Files saved while STORAGE_URL was unset move into the bucket, and back again."""
    without = {key: value for key, value in app_config.items() if key != "STORAGE_URL"}
    database_app = build_app(without)
    try:
        client = database_app.test_client()
        # make_world writes through the fixture's app: both apps share one database.
        world, email = build_world_for(database_app, make_world)
        assert login(client, email).status_code == 303
        assert upload(client, world, BIG_PDF, "penawaran.pdf").status_code == 303
        proposal_id = only_proposal(database_app).id
        [(file_id, key, _size, _sha, length)] = file_rows(database_app)
        assert key is None and length == len(BIG_PDF)
        before = client.get(f"/usulan/{proposal_id}/lampiran")
    finally:
        dispose(database_app)

    object_app = build_app(app_config)
    try:
        moved = run(object_app, "move-files-to-storage")
        assert moved.exit_code == 0, moved.output
        assert "Moved 1 stored files" in moved.output
        [(same_id, key, _size, _sha, length)] = file_rows(object_app)
        assert same_id == file_id and key is not None and length == 0
        assert objects(s3, bucket) == {key: BIG_PDF}
        client = object_app.test_client()
        assert login(client, email).status_code == 303
        after = client.get(f"/usulan/{proposal_id}/lampiran")
        assert after.data == BIG_PDF
        for header in HEADERS:
            assert after.headers[header] == before.headers[header], header
        again = run(object_app, "move-files-to-storage")
        assert again.exit_code == 0 and "Moved 0 stored files" in again.output

        back = run(object_app, "move-files-to-database")
        assert back.exit_code == 0, back.output
        [(_id, key, _size, _sha, length)] = file_rows(object_app)
        assert key is None and length == len(BIG_PDF) and objects(s3, bucket) == {}
        assert client.get(f"/usulan/{proposal_id}/lampiran").data == BIG_PDF
        with app_db(object_app) as session:
            moves = session.execute(select(AuditEvent.object_id, AuditEvent.channel)
                                    .where(AuditEvent.action == "stored_file.moved")).all()
        assert [(object_id, str(channel)) for object_id, channel in moves] == [(str(file_id), "cli")] * 2
    finally:
        dispose(object_app)


def test_the_move_commands_need_storage_url(app_config):
    app = build_app({key: value for key, value in app_config.items() if key != "STORAGE_URL"})
    try:
        result = app.test_cli_runner().invoke(args=["move-files-to-storage"])
        assert result.exit_code != 0 and "STORAGE_URL is not set" in result.output
    finally:
        dispose(app)


def test_the_backup_carries_the_bucket_files_and_they_restore(app, client, world, tmp_path, backend,
                                                             app_config, s3, s3_endpoint):
    from participation.storage_commands import restore_files

    assert upload(client, world, BIG_PDF, "penawaran.pdf").status_code == 303
    [(_file_id, key, _size, sha256, _length)] = file_rows(app)
    destination = tmp_path / ("copy.db" if backend == "sqlite" else "copy.dump")
    result = run(app, "backup", str(destination))
    assert result.exit_code == 0, result.output
    archive = tmp_path / (destination.name + ".files.tar")
    assert "Copied 1 files from s3://" in result.output and str(archive) in result.output
    with tarfile.open(archive) as tar:
        [member] = tar.getmembers()
        assert member.name == key and tar.extractfile(member).read() == BIG_PDF
    if backend == "sqlite":
        copy = sqlite3.connect(destination)
        assert copy.execute("SELECT object_key, sha256 FROM stored_files").fetchall() == [(key, sha256)]
        copy.close()

    # The bucket is lost; the files come back from the archive into a new bucket with another prefix...
    replacement = new_bucket(s3)
    other = build_app({**app_config, "STORAGE_URL": storage_url(s3_endpoint, replacement, "kota")})
    try:
        with other.app_context():
            assert "Restored 1 files" in restore_files(destination)
        [(_id, new_key, _size, _sha, _length)] = file_rows(other)
        assert new_key.startswith("kota/files/") and objects(s3, replacement) == {new_key: BIG_PDF}
        downloaded = other.test_client()
        assert login(downloaded, world_email(app, world)).status_code == 303
        assert downloaded.get(f"/usulan/{only_proposal(app).id}/lampiran").data == BIG_PDF
    finally:
        dispose(other)

    # ...or, restored where no STORAGE_URL is set, into the database.
    plain = build_app({key: value for key, value in app_config.items() if key != "STORAGE_URL"})
    try:
        with plain.app_context():
            assert "into the database" in restore_files(destination)  # the archive's key names no row now
        with app_db(plain) as session:
            session.execute(StoredFile.__table__.update().values(object_key=key))
            session.commit()
        with plain.app_context():
            assert "Restored 1 files" in restore_files(destination)
        [(_id, restored_key, _size, _sha, length)] = file_rows(plain)
        assert restored_key is None and length == len(BIG_PDF)
    finally:
        dispose(plain)


def world_email(app, world) -> str:
    from participation.models import User

    with app_db(app) as session:
        return session.get(User, world.owner).email


def test_a_backup_whose_object_is_gone_fails_clearly(app, client, world, tmp_path, backend, s3, bucket):
    assert upload(client, world, PDF_BYTES, "penawaran.pdf").status_code == 303
    [key] = objects(s3, bucket)
    s3.delete_object(Bucket=bucket, Key=key)
    destination = tmp_path / ("copy.db" if backend == "sqlite" else "copy.dump")
    result = app.test_cli_runner().invoke(args=["backup", str(destination)])
    assert result.exit_code != 0 and "could not be copied" in result.output and key in result.output
    assert not (tmp_path / (destination.name + ".files.tar")).exists()


def test_the_sweep_deletes_old_objects_no_row_names(app, client, world, s3, bucket):
    from participation import storage
    from participation.storage_commands import sweep

    assert upload(client, world, PDF_BYTES, "penawaran.pdf").status_code == 303
    [named] = objects(s3, bucket)
    with app.app_context():
        store = storage.object_store()
        orphan = store.new_key()
    s3.put_object(Bucket=bucket, Key=orphan, Body=b"left by a crash")
    s3.put_object(Bucket=bucket, Key="musrenbang/berkas/files/not-ours.txt", Body=b"someone else's")
    s3.put_object(Bucket=bucket, Key="elsewhere/files/" + "0" * 40, Body=b"outside the prefix")

    with app.app_context():
        young = sweep(store, timedelta(hours=1))  # the orphan might be an upload not yet committed
        assert young.orphans == [] and young.missing == []
        dry = run(app, "sweep-storage", "--dry-run", "--grace-minutes", "1")
        assert dry.exit_code == 0 and "0 without a row found" in dry.output  # under a minute old
        result = sweep(store, timedelta(0))
    assert result.orphans == [orphan] and result.listed == 3
    assert sorted(objects(s3, bucket)) == sorted([named, "musrenbang/berkas/files/not-ours.txt",
                                                  "elsewhere/files/" + "0" * 40])

    s3.delete_object(Bucket=bucket, Key=named)
    missing = run_failing(app, "sweep-storage")
    assert "1 stored files have no object in the bucket" in missing


def run_failing(app, *args) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code != 0
    return result.output


def test_the_daily_housekeeping_sweeps_the_bucket(app, client, world, s3, bucket, monkeypatch):
    from participation import storage, storage_commands
    from participation.extensions import db
    from participation.jobs import housekeeping
    from participation.models.base import utcnow

    assert upload(client, world, PDF_BYTES, "penawaran.pdf").status_code == 303
    [named] = objects(s3, bucket)
    with app.app_context():
        orphan = storage.object_store().new_key()
    s3.put_object(Bucket=bucket, Key=orphan, Body=b"left by a crash")
    later = utcnow() + timedelta(hours=2)  # the orphan is past the sweep's grace period by then
    monkeypatch.setattr(storage_commands, "utcnow", lambda: later)
    with app.app_context():
        result = housekeeping.run_if_due(now=later)
        assert result["objects_swept"] == 1 and result["files_without_object"] == 0
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "stored_files.swept")) == 1
        assert housekeeping.run_if_due(now=later) is None  # once a day, whichever worker comes first
    assert list(objects(s3, bucket)) == [named]
