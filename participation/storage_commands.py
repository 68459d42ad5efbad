"""Moving stored files between the database and the object store, sweeping, backing them up.

- `flask move-files-to-storage`: every file kept in the database goes to STORAGE_URL's bucket;
  `flask move-files-to-database` brings them back (before STORAGE_URL is unset). One row at a
  time, each in its own transaction with its audit event, so either can be stopped and run again.
- `flask sweep-storage`: deletes objects under the app's prefix that no row names (left by a
  process that died between an upload and its commit) once they are older than a grace period,
  and lists rows whose object is missing.
- `flask backup` calls `back_up_files(DEST)`: the objects named by the backup's own rows are
  copied into DEST.files.tar beside the database copy (checked against their SHA-256), so a backup
  holds every file. `restore_files(SRC)` puts them back after a restore: into the configured
  bucket, or into the database when no STORAGE_URL is set.
"""
from __future__ import annotations

import hashlib
import io
import re
import shutil
import sqlite3
import subprocess
import tarfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from participation import storage
from participation.events import Actor, record
from participation.extensions import db
from participation.models import StoredFile
from participation.models.base import utcnow
from participation.object_store import MissingObject, ObjectStore, StorageError

FILES_SUFFIX = ".files.tar"
MEMBER = re.compile(r"([A-Za-z0-9._\-]+/)*files/[0-9a-f]{40}")
stored_files = StoredFile.__table__


class HashingReader(io.RawIOBase):
    """A read-only stream over chunks (or another stream) that hashes what passes through."""

    def __init__(self, source):
        self._source = source if hasattr(source, "read") else None
        self._pieces = iter(source) if self._source is None else None
        self._buffer = b""
        self.digest = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._source is not None:
            piece = self._source.read() if size is None or size < 0 else self._source.read(size)
        else:
            while self._pieces is not None and (size is None or size < 0 or len(self._buffer) < size):
                try:
                    self._buffer += next(self._pieces)
                except StopIteration:
                    self._pieces = None
            cut = len(self._buffer) if size is None or size < 0 else size
            piece, self._buffer = self._buffer[:cut], self._buffer[cut:]
        self.digest.update(piece)
        self.count += len(piece)
        return piece

    def readinto(self, target) -> int:
        piece = self.read(len(target))
        target[:len(piece)] = piece
        return len(piece)


@dataclass
class MoveResult:
    moved: int = 0
    problems: list[str] = field(default_factory=list)


def _rows(where) -> list:
    with db.engine.connect() as connection:
        return connection.execute(sa.select(stored_files.c.id, stored_files.c.size, stored_files.c.sha256,
                                            stored_files.c.content_type, stored_files.c.object_key)
                                  .where(where).order_by(stored_files.c.id)).all()


def move_to_object_store(store: ObjectStore, actor: Actor) -> MoveResult:
    """Upload every database-kept file to the bucket and point its row at the object."""
    result = MoveResult()
    for file_id, size, sha256, content_type, _key in _rows(stored_files.c.object_key.is_(None)):
        key = store.new_key()
        reader = HashingReader(storage.chunks(file_id, size, db.engine))  # no transaction held meanwhile
        store.put(key, reader, content_type, sha256)
        if reader.count != size or reader.digest.hexdigest() != sha256:
            store.delete([key])
            result.problems.append(f"file {file_id}: its bytes do not match its size and SHA-256; left in the database")
            continue
        try:
            changed = db.session.execute(stored_files.update().where(
                stored_files.c.id == file_id, stored_files.c.object_key.is_(None)).values(
                object_key=key, data=b"")).rowcount
            if changed:
                record("stored_file.moved", actor, object_type="StoredFile", object_id=file_id,
                       after={"to": "object_store", "object_key": key})
            db.session.commit()
        except BaseException:
            db.session.rollback()
            store.delete([key])
            raise
        if changed:
            result.moved += 1
        else:  # deleted or moved by someone else meanwhile
            store.delete([key])
    return result


def move_to_database(store: ObjectStore, actor: Actor) -> MoveResult:
    """Copy every object back into its row's `data` and delete it from the bucket."""
    result = MoveResult()
    for file_id, size, sha256, _type, key in _rows(stored_files.c.object_key.is_not(None)):
        try:
            body = store.open(key)
        except MissingObject:
            result.problems.append(f"file {file_id}: object {key} is missing; the row is left as it is")
            continue
        try:
            data = body.read()  # one file (at most a few MB) in memory, once
        finally:
            body.close()
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
            result.problems.append(f"file {file_id}: object {key} does not match its size and SHA-256; left there")
            continue
        changed = db.session.execute(stored_files.update().where(
            stored_files.c.id == file_id, stored_files.c.object_key == key).values(
            object_key=None, data=data)).rowcount
        if changed:
            record("stored_file.moved", actor, object_type="StoredFile", object_id=file_id,
                   after={"to": "database", "object_key": key})
        db.session.commit()
        del data
        if changed:
            result.moved += 1
            _delete_quietly(store, key, result)
    return result


def _delete_quietly(store: ObjectStore, key: str, result: MoveResult) -> None:
    if not store.owns(key):
        result.problems.append(f"object {key} is outside {store.location.files_prefix}; not deleted")
        return
    try:
        store.delete([key])
    except StorageError as error:
        result.problems.append(f"object {key} could not be deleted ({error}); flask sweep-storage will")


@dataclass
class SweepResult:
    listed: int = 0
    orphans: list[str] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)  # ids of rows whose object is not in the bucket


def sweep(store: ObjectStore, grace: timedelta = timedelta(hours=1), *, delete: bool = True) -> SweepResult:
    """Delete the app's objects that no row names and that are older than `grace`.

    The grace period covers uploads whose transaction has not committed yet: their rows are not
    visible to this connection, but their objects are already in the bucket.
    """
    result = SweepResult()
    cutoff = utcnow() - grace
    seen: set[str] = set()
    batch = []
    for item in store.list():
        result.listed += 1
        seen.add(item.key)
        if store.owns(item.key) and item.last_modified < cutoff:
            batch.append(item.key)
        if len(batch) >= 500:
            result.orphans += _unnamed(batch)
            batch = []
    result.orphans += _unnamed(batch)
    if delete and result.orphans:
        store.delete(result.orphans)
    for file_id, _size, _sha, _type, key in _rows(stored_files.c.object_key.is_not(None)):
        if key not in seen and key.startswith(store.location.files_prefix):
            result.missing.append(file_id)
    return result


def _unnamed(keys: list[str]) -> list[str]:
    if not keys:
        return []
    with db.engine.connect() as connection:
        named = set(connection.scalars(sa.select(stored_files.c.object_key)
                                       .where(stored_files.c.object_key.in_(keys))))
    return [key for key in keys if key not in named]


def files_archive(database_copy: Path) -> Path:
    """Where the files of a backup at `database_copy` are kept: DEST.files.tar beside it."""
    return database_copy.with_name(database_copy.name + FILES_SUFFIX)


def back_up_files(dest: Path) -> str | None:
    """Copy the objects named by the backup at `dest` into DEST.files.tar; a line for the output.

    The rows are read from the backup itself, so the archive matches the database copy. None when
    no file of the backup lives in an object store (they are all inside the copy).
    """
    archive = files_archive(dest)
    rows = _object_rows_in_backup(dest, db.engine.dialect.name)
    if not rows:
        archive.unlink(missing_ok=True)
        return None
    store = storage.object_store()
    if store is None:
        raise click.ClickException(f"{len(rows)} stored files of the backup live in an object store, "
                                   "but STORAGE_URL is not set")
    partial = archive.with_name(archive.name + ".partial")
    problems = []
    with tarfile.open(partial, "w") as tar:
        for key, size, sha256 in rows:
            try:
                reader = HashingReader(storage._body_chunks(store.open(key)))
            except MissingObject:
                problems.append(f"{key}: not in the bucket")
                continue
            member = tarfile.TarInfo(key)
            member.size, member.mode, member.mtime = size, 0o600, int(utcnow().timestamp())
            try:
                tar.addfile(member, reader)
            except OSError as error:  # the object is shorter than its row says
                problems.append(f"{key}: {error}")
                break
            if reader.digest.hexdigest() != sha256:
                problems.append(f"{key}: SHA-256 differs from its row")
    if problems:
        partial.unlink(missing_ok=True)
        raise click.ClickException(
            f"the database copy {dest} is written, but {len(problems)} of its {len(rows)} files could not be "
            "copied (deleted while the backup ran, or damaged); run the backup again. " + "; ".join(problems[:5]))
    partial.replace(archive)
    return f"Copied {len(rows)} files from {store.location.describe()} to {archive}."


def _object_rows_in_backup(dest: Path, dialect: str) -> list[tuple[str, int, str]]:
    """(object_key, size, sha256) of the backup's rows whose bytes live in the object store."""
    if dialect == "sqlite":
        copy = sqlite3.connect(f"file:{quote(str(dest.resolve()))}?mode=ro", uri=True)
        try:
            columns = {row[1] for row in copy.execute("PRAGMA table_info(stored_files)")}
            if "object_key" not in columns:  # a database from before object storage: all files inside
                return []
            return copy.execute("SELECT object_key, size, sha256 FROM stored_files "
                                "WHERE object_key IS NOT NULL ORDER BY id").fetchall()
        finally:
            copy.close()
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        raise click.ClickException("pg_restore is not installed; install postgresql-client")
    # The table's COPY block, streamed line by line (a database-kept file is one long line).
    process = subprocess.Popen([pg_restore, "--data-only", "--table", "stored_files", "--file", "-", str(dest)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rows, columns = [], None
    for line in process.stdout:
        if columns is None:
            match = re.match(rb"COPY [\w.\"]*stored_files \((.*)\) FROM stdin;", line)
            if match:
                columns = [name.strip().strip('"') for name in match.group(1).decode().split(",")]
            continue
        if line.startswith(b"\\."):
            break
        values = dict(zip(columns, line.rstrip(b"\n").split(b"\t"), strict=True))
        if values.get("object_key", b"\\N") != b"\\N":
            rows.append((values["object_key"].decode(), int(values["size"]), values["sha256"].decode()))
    process.stdout.read()
    if process.wait() != 0:
        raise click.ClickException("pg_restore could not read the backup: " + process.stderr.read().decode().strip())
    return rows


def restore_files(src: Path) -> str | None:
    """After a restore from SRC: put SRC.files.tar's objects back; a line for the output.

    With STORAGE_URL set they go to its bucket (an object already there with the same size is
    kept; a key outside this app's prefix gets a new key). Without it, each file's bytes go into
    its row, which then no longer names an object. None when SRC has no files archive.
    """
    archive = files_archive(src)
    if not archive.exists():
        return None
    store = storage.object_store()
    restored = 0
    with tarfile.open(archive, "r") as tar:
        for member in tar:
            if not member.isfile() or not MEMBER.fullmatch(member.name):
                raise click.ClickException(f"{archive}: unexpected entry {member.name!r}")
            row = db.session.execute(sa.select(stored_files.c.id, stored_files.c.size, stored_files.c.sha256,
                                               stored_files.c.content_type)
                                     .where(stored_files.c.object_key == member.name)).one_or_none()
            if row is None or row.size != member.size:
                continue  # not a file of this database
            content = tar.extractfile(member)
            if store is None:
                data = content.read()
                if hashlib.sha256(data).hexdigest() != row.sha256:
                    raise click.ClickException(f"{archive}: {member.name} does not match its row's SHA-256")
                db.session.execute(stored_files.update().where(stored_files.c.id == row.id)
                                   .values(data=data, object_key=None))
            else:
                key = member.name if store.owns(member.name) else store.new_key()
                if key != member.name or store.size(key) != member.size:
                    reader = HashingReader(content)
                    store.put(key, reader, row.content_type, row.sha256)
                    if reader.digest.hexdigest() != row.sha256:
                        store.delete([key])
                        raise click.ClickException(f"{archive}: {member.name} does not match its row's SHA-256")
                db.session.execute(stored_files.update().where(stored_files.c.id == row.id).values(object_key=key))
            db.session.commit()
            restored += 1
    where = store.location.describe() if store else "the database"
    return f"Restored {restored} files from {archive} into {where}."


def _store_or_fail() -> ObjectStore:
    store = storage.object_store()
    if store is None:
        raise click.ClickException("STORAGE_URL is not set: there is no object store to move files to or from")
    return store


def _report(result: MoveResult, where: str) -> None:
    for problem in result.problems:
        click.echo(problem, err=True)
    click.echo(f"Moved {result.moved} stored files to {where}.")
    if result.problems:
        raise click.ClickException(f"{len(result.problems)} files were not moved")


@click.command("move-files-to-storage")
@with_appcontext
def move_files_to_storage_command() -> None:
    """Move every stored file kept in the database into STORAGE_URL's bucket."""
    store = _store_or_fail()
    _report(move_to_object_store(store, Actor.cli()), store.location.describe())


@click.command("move-files-to-database")
@with_appcontext
def move_files_to_database_command() -> None:
    """Move every stored file from STORAGE_URL's bucket back into the database."""
    _report(move_to_database(_store_or_fail(), Actor.cli()), "the database")


@click.command("sweep-storage")
@click.option("--grace-minutes", default=60, show_default=True, type=click.IntRange(min=1),
              help="Objects younger than this are kept (their transaction may still commit).")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@with_appcontext
def sweep_storage_command(grace_minutes: int, dry_run: bool) -> None:
    """Delete objects no stored file names; list stored files whose object is missing."""
    store = _store_or_fail()
    result = sweep(store, timedelta(minutes=grace_minutes), delete=not dry_run)
    if not dry_run and result.orphans:
        record("stored_files.swept", Actor.cli(), object_type="StoredFile", after={"deleted": len(result.orphans)})
        db.session.commit()
    for key in result.orphans:
        click.echo(f"{'would delete' if dry_run else 'deleted'} {key}")
    click.echo(f"{result.listed} objects listed, {len(result.orphans)} without a row "
               f"{'found' if dry_run else 'deleted'}.")
    if result.missing:
        raise click.ClickException(f"{len(result.missing)} stored files have no object in the bucket: ids "
                                   + ", ".join(map(str, result.missing[:20])))


COMMANDS = (move_files_to_storage_command, move_files_to_database_command, sweep_storage_command)
