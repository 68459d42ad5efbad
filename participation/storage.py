"""Stored files: written with the caller's transaction, streamed back in chunks, from either backend.

A file is a `StoredFile` row that its owner (a proposal) links to, so it is written, replaced and
deleted with the owner's transaction. Its bytes live in one of two backends:

- the database (the default): the row's `data` (bytea / BLOB); a rolled-back save leaves nothing
  behind, every app process on every host serves it, and `flask backup` carries it;
- the S3-compatible object store of STORAGE_URL (participation/object_store.py): the object at
  the row's `object_key`. The object follows the transaction: it is uploaded when the row is
  inserted (at flush), deleted again when that transaction does not commit, and an object whose
  row is deleted goes once the deletion commits. A process that dies between the upload and the
  commit (or the commit and the deletion) leaves an object no row names; `flask sweep-storage`
  removes those. Bulk deletes that bypass the ORM (Core `DELETE`) leave theirs to the sweep too.

Rows of either kind are served side by side: setting STORAGE_URL sends new files to the bucket,
`flask move-files-to-storage` moves the old ones (participation/storage_commands.py).
"""
from __future__ import annotations

import hashlib
import io
import logging
import sqlite3
import unicodedata
from collections.abc import Iterator
from urllib.parse import quote

import sqlalchemy as sa
from flask import Response, current_app, has_app_context, make_response, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from participation.extensions import db
from participation.models import StoredFile
from participation.object_store import (
    MissingObject,
    ObjectStore,
    StorageError,
    parse_storage_url,
)

CHUNK_BYTES = 256 * 1024
UPLOADS = "storage.uploaded"  # session.info: (store, key, row) uploaded in this transaction
DELETES = "storage.deleted"  # session.info: (store, key, row) whose row this transaction deleted
log = logging.getLogger("participation.storage")


def init_app(app) -> None:
    """The app's object store (None without STORAGE_URL) and the page shown when it fails."""
    url = app.config.get("STORAGE_URL")
    app.extensions["object_store"] = ObjectStore(parse_storage_url(url)) if url else None
    app.register_error_handler(StorageError, handle_storage_error)


def object_store() -> ObjectStore | None:
    """The current app's object store, or None when files are kept in the database."""
    return current_app.extensions.get("object_store")


def required_store() -> ObjectStore:
    """The object store, or StorageError saying that STORAGE_URL is needed."""
    store = object_store()
    if store is None:
        raise StorageError("a stored file lives in the object store, but STORAGE_URL is not set")
    return store


def new_file(data: bytes, content_type: str) -> StoredFile:
    """A file row for `data`, not yet in the session: it is saved with the object that links to it.

    With an object store the bytes go up when the row is inserted (see _upload_on_insert), not
    now: a file whose owner is never saved is never uploaded.
    """
    stored = StoredFile(sha256=hashlib.sha256(data).hexdigest(), size=len(data), content_type=content_type)
    store = object_store()
    if store is None:
        stored.data = data
    else:
        stored.data = b""
        stored.object_key = store.new_key()
        stored._pending_upload = (store, data)
    return stored


@sa.event.listens_for(StoredFile, "before_insert")
def _upload_on_insert(mapper, connection, target: StoredFile) -> None:
    """Upload a new row's bytes to the object store during the flush that inserts the row."""
    pending = target.__dict__.get("_pending_upload")
    if pending is None:
        return
    store, data = pending
    session = sa.orm.object_session(target)
    session.info.setdefault(UPLOADS, []).append((store, target.object_key, target))
    store.put(target.object_key, io.BytesIO(data), target.content_type, target.sha256)


@sa.event.listens_for(StoredFile, "before_delete")
def _delete_after_commit(mapper, connection, target: StoredFile) -> None:
    """Remember a deleted row's object; it is deleted once (and only if) the deletion commits.

    Read before the DELETE, while an expired row can still be loaded to learn its key.
    """
    if target.object_key is None:
        return
    store = current_app.extensions.get("object_store") if has_app_context() else None
    session = sa.orm.object_session(target)
    if store is None:
        log.warning("stored file %s was deleted but STORAGE_URL is not set: its object %s stays for the sweep",
                    target.id, target.object_key)
        return
    session.info.setdefault(DELETES, []).append((store, target.object_key, target))


@sa.event.listens_for(Session, "after_commit")
def _settle_committed(session: Session) -> None:
    """Keep the uploads whose rows committed; delete the objects of committed deletions."""
    uploads = session.info.pop(UPLOADS, [])
    stale = []
    for store, key, target in uploads:
        state = sa.inspect(target)
        if state.has_identity and not state.was_deleted:
            target.__dict__.pop("_pending_upload", None)
        else:  # inserted in a savepoint that was rolled back, or deleted again: no row names it
            stale.append((store, key))
    deleted = [(store, key) for store, key, target in session.info.pop(DELETES, [])
               if sa.inspect(target).was_deleted]
    _delete_objects(stale + deleted)


@sa.event.listens_for(Session, "after_transaction_end")
def _discard_uncommitted(session: Session, transaction) -> None:
    """A transaction that ends without committing: its uploads go, its deletions never happened."""
    if transaction.parent is not None:
        return
    session.info.pop(DELETES, None)
    _delete_objects([(store, key) for store, key, _target in session.info.pop(UPLOADS, [])])


def _delete_objects(objects: list[tuple[ObjectStore, str]]) -> None:
    """Delete objects after the transaction; a failure is logged and left to `flask sweep-storage`."""
    by_store: dict[int, tuple[ObjectStore, list[str]]] = {}
    for store, key in objects:
        by_store.setdefault(id(store), (store, []))[1].append(key)
    for store, keys in by_store.values():
        try:
            store.delete(keys)
        except StorageError as error:
            log.warning("could not delete %d object(s) no row names (flask sweep-storage will): %s",
                        len(keys), error)


def chunks(file_id: int, size: int, engine: Engine | None = None) -> Iterator[bytes]:
    """A stored file's bytes in pieces of CHUNK_BYTES, each read on a short connection.

    No piece holds a transaction open while the client reads: on SQLite a transaction outside a
    GET takes the write lock (BEGIN IMMEDIATE), and a slow download must not keep even a read
    snapshot open (it stops WAL checkpoints from finishing). The bytes of a row
    never change; a row deleted mid-download ends the stream early. A row whose bytes are in the
    object store is streamed from there (read_chunks(stored) goes there without the first read).
    """
    engine = engine or db.engine
    read = _read_sqlite if engine.dialect.name == "sqlite" else _read_substring
    for offset in range(0, size, CHUNK_BYTES):
        piece = read(engine, file_id, offset, min(CHUNK_BYTES, size - offset))
        if not piece:
            if offset == 0:  # nothing in `data`: the bytes may be in the object store
                yield from _object_chunks(engine, file_id)
            return
        yield piece


def _object_chunks(engine: Engine, file_id: int) -> Iterator[bytes]:
    """The object of row `file_id`, for a caller of chunks() that did not ask read_chunks()."""
    with engine.connect() as connection:
        key = connection.scalar(sa.select(StoredFile.object_key).where(StoredFile.id == file_id))
    if key is not None:
        yield from _body_chunks(required_store().open(key))


def _read_sqlite(engine: Engine, file_id: int, offset: int, length: int) -> bytes:
    """SQLite's incremental blob I/O: reads only the pages of the piece, outside any transaction."""
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.blobopen("stored_files", "data", file_id, readonly=True) as blob:
            blob.seek(offset)
            return blob.read(length)
    except sqlite3.OperationalError:  # the row is gone
        return b""
    finally:
        raw.close()


def _read_substring(engine: Engine, file_id: int, offset: int, length: int) -> bytes:
    """PostgreSQL: substring() of the bytea (stored uncompressed, so only the piece is read)."""
    piece = sa.func.substr(StoredFile.data, offset + 1, length, type_=sa.LargeBinary)
    with engine.connect() as connection:
        return connection.scalar(sa.select(piece).where(StoredFile.id == file_id)) or b""


def read_chunks(stored: StoredFile) -> Iterator[bytes]:
    """The file's bytes in pieces from whichever backend holds them (for exports and copies).

    With an object store the object is requested at once, so a missing one raises MissingObject
    here rather than halfway through the caller's output.
    """
    if stored.object_key is None:
        return chunks(stored.id, stored.size, db.engine)
    return _body_chunks(required_store().open(stored.object_key))


def _body_chunks(body) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK_BYTES)
    finally:
        body.close()


def download(stored: StoredFile, filename: str) -> Response:
    """A streamed download: attachment disposition, the exact type, nosniff, never cached."""
    response = Response(read_chunks(stored), mimetype=stored.content_type, direct_passthrough=True)
    response.content_length = stored.size
    response.headers.set("Content-Disposition", "attachment", **_filename_parameters(filename))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def _filename_parameters(filename: str) -> dict:
    """filename= for ASCII names; a non-ASCII one also as filename* (RFC 6266), as send_file does."""
    try:
        filename.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
        return {"filename": simple, "filename*": "UTF-8''" + quote(filename, safe="!#$&+-.^_`|~")}
    return {"filename": filename}


def handle_storage_error(error: StorageError):
    """The object store failed: nothing was saved; 503 with Retry-After (404 for a missing object)."""
    db.session.rollback()
    if isinstance(error, MissingObject):
        log.warning("a stored file's object is missing: %s", error)
        return make_response(render_template(
            "errors/error.html", status=404, title=_l("File not found"),
            text=_l("This file is no longer available. Tell the administrator."), description=None), 404)
    log.warning("object store unavailable: %s", error)
    response = make_response(render_template(
        "errors/error.html", status=503, title=_l("File storage unavailable"),
        text=_l("Stored files cannot be read or saved at the moment, and nothing was saved. "
                "Try again in a few minutes."), description=None), 503)
    response.headers["Retry-After"] = "60"
    return response
