"""Database engine set-up: SQLite pragmas and BEGIN IMMEDIATE, PostgreSQL row locks."""
from __future__ import annotations

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
        # Deferred transactions that read and then write fail with "database is locked"
        # under concurrency instead of waiting; IMMEDIATE takes the write lock up front
        # and waits for it within busy_timeout (DESIGN §8).
        connection.exec_driver_sql("BEGIN IMMEDIATE")


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
