"""Database engine set-up: SQLite pragmas and BEGIN IMMEDIATE, PostgreSQL row locks."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import g, has_app_context, request
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from werkzeug.routing import IntegerConverter

from participation.extensions import db


def configure_engine(engine: Engine, busy_timeout_ms: int) -> None:
    """Make SQLite safe for concurrent writers; PostgreSQL needs nothing here."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Take transaction control away from the sqlite3 module so that the
        # "begin" hook below decides how every transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        if has_app_context() and g.get(DEFERRED, False):
            # A `deferring()` block: reads without the write lock, writes TEMP tables freely, and
            # takes the lock only at `take_write_lock()`.
            connection.exec_driver_sql("PRAGMA query_only = 0")
            connection.exec_driver_sql("BEGIN DEFERRED")
            return
        if reads_only():
            # A page read (GET/HEAD) or a `reading()` block never writes: a deferred transaction
            # reads WAL's last committed snapshot without waiting for a writer, and takes no lock
            # a writer waits for, so a long write (a background import) does not stall the pages
            # and a long read (a large PDF's data) does not stall the writers. query_only makes a
            # write there fail loudly instead of racing for the lock.
            connection.exec_driver_sql("PRAGMA query_only = 1")
            connection.exec_driver_sql("BEGIN DEFERRED")
            return
        # Deferred transactions that read and then write fail with "database is locked"
        # under concurrency instead of waiting; IMMEDIATE takes the write lock up front
        # and waits for it within busy_timeout (DESIGN §8).
        connection.exec_driver_sql("PRAGMA query_only = 0")
        connection.exec_driver_sql("BEGIN IMMEDIATE")


READS_ONLY = "database_reads_only"


def mark_reading_request() -> None:
    """Before every request: remember whether it only reads (GET/HEAD), for `on_begin`."""
    setattr(g, READS_ONLY, request.method in ("GET", "HEAD"))


def end_reading_request(_error=None) -> None:
    """After a GET/HEAD: end its read-only transaction, so that whatever runs next in the same
    application context (a CLI command, a test) starts a writing transaction of its own."""
    if g.pop(READS_ONLY, False):
        db.session.rollback()


def reads_only() -> bool:
    """True inside the dispatch of a GET or HEAD request (not in a bare test_request_context)
    and inside `reading()`."""
    return has_app_context() and g.get(READS_ONLY, False)


@contextmanager
def reading() -> Iterator[None]:
    """Run the block in read-only transactions (see `on_begin`): for long reads outside a GET,
    such as a background job gathering a large document's data. Commits what came before."""
    with _transactions_marked(READS_ONLY):
        try:
            yield
        finally:
            db.session.rollback()


@contextmanager
def _transactions_marked(flag: str) -> Iterator[None]:
    """Commit what came before, then have `on_begin` see `flag` for the transactions of the block."""
    db.session.commit()
    before = g.get(flag, False)
    setattr(g, flag, True)
    try:
        yield
    finally:
        setattr(g, flag, before)


@contextmanager
def writing() -> Iterator[None]:
    """Run the block in a writing transaction even inside a GET, and commit it: for the little a
    read must write first (an API request's rate-limit count and its token's last use). What the
    block leaves is committed at its end; an exception rolls it back. Whatever runs after it reads
    as before."""
    db.session.rollback()  # a read-only transaction already begun could not write
    before = g.get(READS_ONLY, False)
    setattr(g, READS_ONLY, False)
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        setattr(g, READS_ONLY, before)


DEFERRED = "database_deferred"


@contextmanager
def deferring() -> Iterator[None]:
    """Begin the block's SQLite transactions DEFERRED, for a background job that reads and prepares
    a large write before it writes: it holds no lock that other writers wait for until it calls
    `take_write_lock()`, and TEMP tables are written without that lock (they are the connection's
    own). Commits what came before; what the block leaves open is the caller's to commit.

    The rule that makes this safe: in a transaction of the block, the first statement that touches
    the main database after a commit is either a read that is never followed by a write in the same
    transaction, or `take_write_lock()`. (A transaction that has read and then writes would fail
    at once with "database is locked" if another writer committed in between: its snapshot is
    stale. A write as the first statement waits for the lock within busy_timeout, as BEGIN
    IMMEDIATE does.) PostgreSQL is unaffected.
    """
    with _transactions_marked(DEFERRED):
        yield


def take_write_lock() -> None:
    """SQLite: take the write lock now with a statement that writes nothing (a no-op UPDATE still
    begins a write transaction), waiting for another writer within busy_timeout. Inside a
    `deferring()` transaction that has touched only TEMP tables this is the moment the lock is
    taken; in a transaction begun IMMEDIATE the lock is already held. PostgreSQL: nothing."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("UPDATE receipt_counters SET last_value = last_value WHERE 0"))


def lock_for_update(statement):
    """Add FOR UPDATE on PostgreSQL; SQLite already holds the write lock (BEGIN IMMEDIATE)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return statement.with_for_update()
    return statement


def advisory_lock(key: int) -> None:
    """Serialise work on one key across workers for the rest of the transaction."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


class BoundedIntegerConverter(IntegerConverter):
    """`<int:…>` within the range of an INTEGER column: a larger id is a 404, not a 500."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)
