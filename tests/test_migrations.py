"""The migrations in git build the schema the models describe, on both databases."""
from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from tests.conftest import BACKENDS, ROOT, postgres_database


def flask(*args, database_url: str, instance: str) -> subprocess.CompletedProcess:
    """Run `flask --app app ...` the way an operator would."""
    env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": instance,
           "APP_ENV": "development"}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


@contextmanager
def empty_database(backend, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        with postgres_database("mt_migrate") as url:
            yield url


@pytest.mark.parametrize("engine_name", BACKENDS)
def test_upgrade_on_an_empty_database_then_check_is_clean(engine_name, tmp_path):
    with empty_database(engine_name, tmp_path) as url:
        upgrade = flask("db", "upgrade", database_url=url, instance=str(tmp_path))
        assert upgrade.returncode == 0, upgrade.stderr
        check = flask("db", "check", database_url=url, instance=str(tmp_path))
        assert check.returncode == 0, check.stdout + check.stderr
        assert "No new upgrade operations detected" in check.stdout + check.stderr
        downgrade = flask("db", "downgrade", "base", database_url=url, instance=str(tmp_path))
        assert downgrade.returncode == 0, downgrade.stderr


def test_sqlite_pragmas_and_audit_triggers(app):
    """WAL, foreign keys and busy timeout on SQLite; the audit log refuses changes on both."""
    from participation.extensions import db
    from participation.models import AuditEvent
    from participation.security import record_audit

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == app.config["SQLITE_BUSY_TIMEOUT_MS"]
        record_audit("test.event", after={"n": 1})
        db.session.commit()
        event_id = db.session.scalar(db.select(AuditEvent.id))
        db.session.rollback()  # end the read transaction (on SQLite it holds the write lock)
        for statement in ("UPDATE audit_events SET action = 'forged' WHERE id = :id",
                          "DELETE FROM audit_events WHERE id = :id"):
            with pytest.raises(Exception, match="append-only"):
                with db.engine.begin() as connection:
                    connection.execute(text(statement), {"id": event_id})
        assert db.session.get(AuditEvent, event_id).action == "test.event"


def test_orm_refuses_to_change_audit_events(app):
    from participation.extensions import db
    from participation.models import AppendOnlyError, AuditEvent
    from participation.security import record_audit

    with app.app_context():
        event = record_audit("test.event")
        db.session.commit()
        event.action = "forged"
        with pytest.raises(AppendOnlyError):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEvent, event.id))
        with pytest.raises(AppendOnlyError):
            db.session.commit()


@pytest.mark.parametrize("engine_name", BACKENDS)
def test_business_name_keys_are_recomputed_for_dotted_prefixes(engine_name, tmp_path):
    """0005: keys stored under the old rule ("c v maju jaya") match new entries again, and back."""
    from sqlalchemy import create_engine

    from participation.config import normalize_database_url

    with empty_database(engine_name, tmp_path) as url:
        assert flask("db", "upgrade", "68e0720c5b5c", database_url=url, instance=str(tmp_path)).returncode == 0
        engine = create_engine(normalize_database_url(url))
        insert = text("INSERT INTO businesses (nib, name, name_key, owner_name, kbli_codes, scale, kelurahan, "
                      "kecamatan, created_at, updated_at) VALUES (:nib, :name, :key, 'Pemilik', '10794', "
                      "'mikro', 'Kauman', 'Karanganyar', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
        rows = [("3201010100001", "C.V. Maju Jaya", "c v maju jaya"), ("3201010100002", "U.D. Sumber Rejeki",
                                                                       "u d sumber rejeki"),
                ("3201010100003", "CV Batik Sekar", "batik sekar"), ("3201010100004", "P Tarigan Kopi", "p tarigan kopi")]
        with engine.begin() as connection:
            for nib, name, key in rows:
                connection.execute(insert, {"nib": nib, "name": name, "key": key})

        def keys():
            with engine.connect() as connection:
                return dict(connection.execute(text("SELECT nib, name_key FROM businesses")).all())

        assert flask("db", "upgrade", database_url=url, instance=str(tmp_path)).returncode == 0
        assert keys() == {"3201010100001": "maju jaya", "3201010100002": "sumber rejeki",
                          "3201010100003": "batik sekar", "3201010100004": "p tarigan kopi"}
        from participation.models import normalize_business_name

        assert all(normalize_business_name(name) == keys()[nib] for nib, name, _key in rows)
        assert flask("db", "downgrade", "68e0720c5b5c", database_url=url, instance=str(tmp_path)).returncode == 0
        assert keys() == {nib: key for nib, _name, key in rows}
        engine.dispose()
