"""Files in the database: written in the caller's transaction, streamed back in chunks.

A file is a `StoredFile` row that its owner (a proposal) links to, so it is written, replaced and
deleted with the owner's transaction: a rolled-back save leaves nothing behind, every app process
on every host serves it, and `flask backup` (a copy of the database) carries it.
"""
from __future__ import annotations

import hashlib
import sqlite3
import unicodedata
from collections.abc import Iterator
from urllib.parse import quote

import sqlalchemy as sa
from flask import Response
from sqlalchemy.engine import Engine

from participation.extensions import db
from participation.models import StoredFile

CHUNK_BYTES = 256 * 1024


def new_file(data: bytes, content_type: str) -> StoredFile:
    """A file row for `data`, not yet in the session: it is saved with the object that links to it."""
    return StoredFile(sha256=hashlib.sha256(data).hexdigest(), size=len(data), content_type=content_type,
                      data=data)


def chunks(file_id: int, size: int, engine: Engine | None = None) -> Iterator[bytes]:
    """The file's bytes in pieces of CHUNK_BYTES, each read on a short connection of its own.

    No piece holds a transaction open while the client reads: on SQLite every transaction takes
    the write lock (BEGIN IMMEDIATE), so a slow download must not keep one. The bytes of a row
    never change; a row deleted mid-download ends the stream early.
    """
    engine = engine or db.engine
    read = _read_sqlite if engine.dialect.name == "sqlite" else _read_substring
    for offset in range(0, size, CHUNK_BYTES):
        piece = read(engine, file_id, offset, min(CHUNK_BYTES, size - offset))
        if not piece:
            return
        yield piece


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


def download(stored: StoredFile, filename: str) -> Response:
    """A streamed download: attachment disposition, the exact type, nosniff, never cached."""
    response = Response(chunks(stored.id, stored.size, db.engine), mimetype=stored.content_type,
                        direct_passthrough=True)
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
