"""`flask restore SRC`: a backup made by `flask backup` into an empty database, all or nothing.

"Empty" means no row in any application table: a database without tables, or one that
`flask db upgrade` has just built (what `make run` does first), is accepted. `alembic_version`
and SQLite's own bookkeeping (`sqlite_sequence`) do not count as data. A database holding data is
refused before anything is written.

The backup must be of the configured engine's kind: a SQLite file for SQLite (restored with the
backup API, page by page, into the configured file), a `pg_dump --format=custom` archive for
PostgreSQL. Moving between engines is refused: the types, sequences and triggers differ.

PostgreSQL: the archive is first read whole by `pg_restore` into an SQL script (a truncated or
damaged archive fails there, before the database is touched); then `psql` runs, in ONE
transaction with ON_ERROR_STOP, a guard that locks every table and fails if any holds a row (so
nothing can slip in between the check and the restore), drops the empty schema objects that a
`flask db upgrade` may have created, and the script. Any error rolls all of it back.
"""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask_babel import gettext as _

from participation.extensions import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_ARCHIVE_MAGIC = b"PGDMP"
NOT_DATA = {"alembic_version"}  # SQLite's sqlite_* tables are not listed by the inspector
REFUSED_MARK = "restore refused: table"


class RestoreError(Exception):
    """The restore was refused or failed; the configured database was left as it was."""


@dataclass(frozen=True)
class Restored:
    """What was restored: the backup's kind, its schema revision against this release's, a few counts."""

    kind: str
    revision: str
    head: str
    accounts: int
    proposals: int
    files: int

    @property
    def needs_upgrade(self) -> bool:
        return self.revision != self.head


def restore_backup(source: Path) -> Restored:
    """Restore `source` into the configured database, which must be empty; raise RestoreError otherwise."""
    engine = db.engine
    target = engine.url.get_backend_name()
    kind = backup_kind(source)
    if kind != target:
        raise RestoreError(_(
            "%(file)s is a %(kind)s backup, but the configured database is %(target)s. Restore it into a "
            "%(kind)s database; restore does not move data between database engines.",
            file=source, kind=_engine_label(kind), target=_engine_label(target)))
    revision = _sqlite_revision(source) if kind == "sqlite" else _archive_revision(source)
    head = _check_revision(source, revision)
    _refuse_data(engine)
    db.session.remove()
    engine.dispose()  # no pooled connection may hold the old file or schema open
    if kind == "sqlite":
        _restore_sqlite(source, engine.url.database)
    else:
        _restore_postgresql(source, engine.url)
    engine.dispose()
    with engine.connect() as connection:
        present = set(sa.inspect(connection).get_table_names())  # an old backup may predate a table
        counts = [connection.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
                  if table in present else 0 for table in ("users", "proposals", "stored_files")]
    return Restored(kind, revision, head, *counts)


def backup_kind(path: Path) -> str:
    """'sqlite' or 'postgresql', from the file's first bytes; RestoreError for anything else."""
    try:
        with path.open("rb") as file:
            start = file.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise RestoreError(_("%(file)s cannot be read: %(error)s", file=path, error=error.strerror)) from None
    if start.startswith(SQLITE_MAGIC):
        return "sqlite"
    if start.startswith(PG_ARCHIVE_MAGIC):
        return "postgresql"
    if not start:
        raise RestoreError(_("%(file)s is empty: it is not a backup.", file=path))
    if start.startswith(b"--"):
        raise RestoreError(_("%(file)s looks like a plain SQL dump; restore takes the archive that `flask backup` "
                             "writes (pg_dump --format=custom).", file=path))
    raise RestoreError(_("%(file)s is not a backup made by `flask backup` (neither a SQLite database nor a "
                         "pg_dump archive).", file=path))


def tables_with_rows(engine: sa.Engine) -> dict[str, int]:
    """Row counts of the application tables that hold any, by table name."""
    found = {}
    with engine.connect() as connection:
        for table in sa.inspect(connection).get_table_names():
            if table in NOT_DATA:
                continue
            count = connection.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
            if count:
                found[table] = count
    return found


def _refuse_data(engine: sa.Engine) -> None:
    """RestoreError naming the tables that hold rows, if any do."""
    if engine.url.get_backend_name() == "sqlite" and not Path(engine.url.database).exists():
        return  # a file that is not there yet: nothing to look at, and nothing to create by looking
    try:
        found = tables_with_rows(engine)
    except sa.exc.DatabaseError as error:  # no server, no such database, no permission, not a database
        raise RestoreError(_("The configured database cannot be reached (%(error)s); nothing was restored. "
                             "Create it first (PostgreSQL: createdb).", error=str(error.orig).strip())) from None
    if found:
        listed = ", ".join(f"{table} ({count})" for table, count in sorted(found.items())[:8])
        raise RestoreError(_("The database already holds data: %(tables)s. Restore only into an empty "
                             "database (a new one, or one just made by `flask db upgrade`); nothing was changed.",
                             tables=listed + (", …" if len(found) > 8 else "")))


def _engine_label(name: str) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(name, name)


def _damaged(path: Path, detail: str) -> RestoreError:
    return RestoreError(_("%(file)s is damaged or truncated (%(detail)s); nothing was restored.",
                          file=path, detail=detail))


def _not_ours(path: Path) -> RestoreError:
    return RestoreError(_("%(file)s is a database, but not one of this application (it has no migration "
                          "revision); nothing was restored.", file=path))


def _open_read_only(path: Path) -> sqlite3.Connection:
    """The backup file, read-only and treated as unchangeable (no lock, no -wal or -shm file made)."""
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1", uri=True)


def _sqlite_revision(path: Path) -> str:
    """The backup's migration revision, after SQLite's integrity check has passed on the whole file."""
    log = path.with_name(path.name + "-wal")
    if log.exists() and log.stat().st_size:
        # A live database's recent transactions are in its -wal file, which an unchangeable read skips.
        raise RestoreError(_("%(file)s has a write-ahead log beside it: it is a database in use, not a backup. "
                             "Make a backup with `flask backup` and restore that.", file=path))
    try:
        connection = _open_read_only(path)
        try:
            problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise _damaged(path, "; ".join(problems[:3]))
            try:
                rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
            except sqlite3.OperationalError:
                raise _not_ours(path) from None
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise _damaged(path, str(error)) from None
    if len(rows) != 1:
        raise _not_ours(path)
    return rows[0][0]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RestoreError(_("%(tool)s is not installed; install postgresql-client.", tool=name))
    return path


def _archive_revision(path: Path) -> str:
    """The archive's migration revision, read from its alembic_version data."""
    listing = subprocess.run([_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True,
                             check=False)
    if listing.returncode != 0:
        raise _damaged(path, listing.stderr.strip().removeprefix("pg_restore: error: "))
    if not re.search(r"TABLE DATA public alembic_version\b", listing.stdout):
        raise _not_ours(path)
    data = subprocess.run([_tool("pg_restore"), "--data-only", "--table", "alembic_version", "--file", "-",
                           str(path)], capture_output=True, text=True, check=False)
    if data.returncode != 0:
        raise _damaged(path, data.stderr.strip().removeprefix("pg_restore: error: "))
    match = re.search(r"^COPY public\.alembic_version \(version_num\) FROM stdin;\n([0-9a-zA-Z_]+)\n\\\.$",
                      data.stdout, re.MULTILINE)
    if match is None:
        raise _not_ours(path)
    return match.group(1)


def _check_revision(source: Path, revision: str) -> str:
    """This release's head revision; RestoreError when the backup's revision is unknown to it."""
    migrate = current_app.extensions["migrate"]
    scripts = ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory))
    head = scripts.get_current_head()
    try:
        known = scripts.get_revision(revision) is not None
    except CommandError:  # an unknown or malformed revision
        known = False
    if not known:
        raise RestoreError(_("The schema revision %(revision)s of %(file)s is unknown to this release (it was "
                             "made by a newer one?); restore it with that release. Nothing was restored.",
                             revision=revision, file=source))
    return head


def _restore_sqlite(source: Path, database: str) -> None:
    """Copy every page of the backup into the configured file with SQLite's online backup API."""
    reader = writer = None
    try:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        reader = _open_read_only(source)
        writer = sqlite3.connect(database, timeout=current_app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000)
        reader.backup(writer)  # one step: the file is replaced whole or not at all
        writer.execute("PRAGMA journal_mode = WAL")
    except (OSError, sqlite3.Error) as error:
        raise RestoreError(_("The restore failed (%(error)s); the database was left as it was.",
                             error=str(error))) from None
    finally:
        for connection in (writer, reader):
            if connection is not None:
                connection.close()


# Runs first in the restore's transaction: any row in any table stops everything (and the lock keeps
# writers out until the restore commits); then the empty objects of a migrated schema are dropped,
# so that the archive, whatever its revision, recreates exactly its own schema.
GUARD_AND_CLEAR = f"""
SET lock_timeout = '60s';  -- an app still connected makes the restore fail, not wait for ever
DO $restore$
DECLARE
    item record;
    found boolean;
BEGIN
    FOR item IN SELECT format('public.%I', c.relname) AS name FROM pg_class c
                WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
                  AND c.relname <> 'alembic_version' LOOP
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', item.name);
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', item.name) INTO found;
        IF found THEN
            RAISE EXCEPTION '{REFUSED_MARK} % holds data', item.name;
        END IF;
    END LOOP;
    FOR item IN SELECT format('public.%I', c.relname) AS name, c.relkind FROM pg_class c
                WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') LOOP
        EXECUTE format('DROP %s IF EXISTS %s CASCADE',
                       CASE item.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                         WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, item.name);
    END LOOP;
    FOR item IN SELECT format('public.%I(%s)', p.proname, pg_get_function_identity_arguments(p.oid)) AS name
                FROM pg_proc p
                WHERE p.pronamespace = 'public'::regnamespace
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') LOOP
        EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', item.name);
    END LOOP;
    FOR item IN SELECT format('public.%I', t.typname) AS name, t.typtype FROM pg_type t
                WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd', 'r')
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e') LOOP
        EXECUTE format('DROP %s IF EXISTS %s CASCADE',
                       CASE item.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, item.name);
    END LOOP;
END
$restore$;
"""


def _restore_postgresql(source: Path, url: sa.URL) -> None:
    """pg_restore the archive into a script, then run guard, clearing and script in one psql transaction."""
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    with tempfile.TemporaryDirectory(prefix="mt-restore-") as folder:
        script = Path(folder) / "restore.sql"
        guard = Path(folder) / "guard.sql"
        guard.write_text(GUARD_AND_CLEAR)
        # Reads the whole archive: a truncated or damaged one fails here, before the database is touched.
        made = subprocess.run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                               "--file", str(script), str(source)], capture_output=True, text=True, check=False)
        if made.returncode != 0:
            raise _damaged(source, made.stderr.strip().removeprefix("pg_restore: error: "))
        ran = subprocess.run([_tool("psql"), "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1",
                              "--single-transaction", "--file", str(guard), "--file", str(script),
                              "--dbname", plain], capture_output=True, text=True, env=env, check=False)
    if ran.returncode != 0:
        error = ran.stderr.strip()
        refused = re.search(rf"{REFUSED_MARK} (\S+) holds data", error)
        if refused:
            raise RestoreError(_("The database already holds data: %(tables)s. Restore only into an empty "
                                 "database (a new one, or one just made by `flask db upgrade`); nothing was "
                                 "changed.", tables=refused.group(1)))
        raise RestoreError(_("The restore failed and was rolled back; the database was left as it was. "
                             "psql said: %(error)s", error=error[-2000:]))
