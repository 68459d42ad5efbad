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
    from participation.events import Actor, record

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == app.config["SQLITE_BUSY_TIMEOUT_MS"]
        record("test.event", Actor.cli(), after={"n": 1})
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
    from participation.events import Actor, record

    with app.app_context():
        event = record("test.event", Actor.cli())
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


# 0006: SQLite AUTOINCREMENT, so that an id is never handed out twice (DESIGN §3).
BEFORE_AUTOINCREMENT = "5b1d0c2e9f47"
AUTOINCREMENT = "d9fcba8c9c09"  # 0006


def _integer_keyed_tables(metadata) -> list[str]:
    """Tables keyed by one integer id: those whose ids audit events may name."""
    import sqlalchemy as sa

    return sorted(table.name for table in metadata.sorted_tables
                  if len(table.primary_key.columns) == 1
                  and isinstance(next(iter(table.primary_key.columns)).type, sa.Integer))


def test_a_deleted_proposals_id_is_not_given_to_the_next_one(app, make_user):
    """On both databases: the newest draft is deleted; the next proposal gets a new id, so the
    deleted draft's audit trail still names no live proposal."""
    from sqlalchemy import select

    from participation.extensions import db
    from participation.models import AuditEvent, Proposal, User
    from tests.factories import make_proposal, make_session

    planner_id, owner_id = make_user("planner"), make_user("proponent")
    with app.app_context():
        owner = db.session.get(User, owner_id)
        themed_session = make_session(db.session.get(User, planner_id))
        older = make_proposal(themed_session, owner.business, submit=False, title="Usulan pertama")
        newest = make_proposal(themed_session, owner.business, submit=False, title="Usulan kedua")
        db.session.commit()
        deleted_id = newest.id
        assert deleted_id > older.id
        db.session.delete(newest)
        db.session.add(AuditEvent(actor_id=owner_id, action="proposal.draft_deleted", object_type="Proposal",
                                  object_id=str(deleted_id)))
        db.session.commit()

        again = make_proposal(themed_session, owner.business, submit=False, title="Usulan ketiga")
        db.session.commit()
        assert again.id > deleted_id
        trail = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "Proposal",
                                                            AuditEvent.object_id == str(deleted_id))).all()
        assert "proposal.draft_deleted" in [event.action for event in trail]
        assert db.session.get(Proposal, deleted_id) is None


def test_every_integer_keyed_table_never_reuses_ids(app):
    """The models ask for AUTOINCREMENT, and the migrated schema has it: on SQLite the CREATE TABLE
    in sqlite_master says AUTOINCREMENT (proposals and audit_events above all), and the rebuild
    kept the append-only triggers; on PostgreSQL every id is backed by a sequence."""
    from participation.extensions import db

    with app.app_context():
        tables = _integer_keyed_tables(db.metadata)
        assert {"proposals", "audit_events", "users", "ranking_snapshots"} <= set(tables)
        assert [name for name in tables if not db.metadata.tables[name].dialect_options["sqlite"]["autoincrement"]] == []
        with db.engine.connect() as connection:
            if db.engine.dialect.name == "sqlite":
                schema = dict(connection.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'table'").all())
                for name in ("proposals", "audit_events"):
                    assert "PRIMARY KEY AUTOINCREMENT" in schema[name], schema[name]
                assert [name for name in tables if "AUTOINCREMENT" not in schema[name]] == []
                triggers = set(connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars())
                assert {"audit_events_no_update", "audit_events_no_delete", "ranking_snapshots_no_update",
                        "ranking_snapshots_no_delete"} <= triggers
            else:
                for name in tables:
                    assert connection.execute(text("SELECT pg_get_serial_sequence(:table, 'id')"),
                                              {"table": name}).scalar(), name


# Rows written at revision 0005, in plain SQL as that schema had them. The draft proposal 3 is then
# deleted; only its audit event still names it.
OLD_ROWS = [
    ("INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES "
     "(1, 'perencana@contoh.id', 'Perencana', 'planner', 'x', '2026-11-01 08:00:00'), "
     "(2, 'pemilik@contoh.id', 'Pemilik', 'proponent', 'x', '2026-11-01 08:00:00')"),
    "INSERT INTO login_failures (account_key, created_at) VALUES ('pemilik@contoh.id', '2026-11-01 08:00:00')",
    ("INSERT INTO businesses (id, user_id, nib, name, name_key, owner_name, kbli_codes, scale, kelurahan, "
     "kecamatan, created_at, updated_at) VALUES (1, 2, '3201010100001', 'CV Maju Jaya', 'maju jaya', 'Pemilik', "
     "'10794', 'mikro', 'Kauman', 'Karanganyar', '2026-11-01 08:00:00', '2026-11-01 08:00:00')"),
    ("INSERT INTO themed_sessions (id, title, fiscal_year, created_by_id, created_at, updated_at) VALUES "
     "(1, 'Musrenbang Tematik', 2027, 1, '2026-11-01 08:00:00', '2026-11-01 08:00:00')"),
    "INSERT INTO session_members (session_id, user_id) VALUES (1, 1)",
    "INSERT INTO categories (id, session_id, name, position) VALUES (1, 1, 'Sertifikasi halal', 0)",
    ("INSERT INTO criteria (id, session_id, key, name, weight, direction, source, position) VALUES "
     "(1, 1, 'urgensi', 'Urgensi', 1.0, 1, 'rating', 0)"),
    "INSERT INTO invitations (session_id, business_id, invited_at) VALUES (1, 1, '2026-11-01 08:00:00')",
    ("INSERT INTO proposals (id, session_id, business_id, submitted_by_id, title, category_id, status, created_at, "
     "updated_at) VALUES (1, 1, 1, 2, 'Usulan 1', 1, 'submitted', '2026-11-02 08:00:00', '2026-11-02 08:00:00'), "
     "(2, 1, 1, 2, 'Usulan 2', 1, 'draft', '2026-11-02 08:00:00', '2026-11-02 08:00:00'), "
     "(3, 1, 1, 2, 'Usulan 3', 1, 'draft', '2026-11-02 08:00:00', '2026-11-02 08:00:00')"),
    "UPDATE proposals SET near_duplicate_of_id = 1 WHERE id = 2",
    # Children whose foreign keys cascade from proposals: a careless rebuild would delete them.
    ("INSERT INTO proposal_status_changes (proposal_id, from_status, to_status, created_at) VALUES "
     "(1, NULL, 'draft', '2026-11-02 08:00:00'), (1, 'draft', 'submitted', '2026-11-02 08:00:00'), "
     "(2, NULL, 'draft', '2026-11-02 08:00:00')"),
    ("INSERT INTO ratings (proposal_id, criterion_id, planner_id, value, created_at, updated_at) VALUES "
     "(1, 1, 1, 4, '2026-11-03 08:00:00', '2026-11-03 08:00:00')"),
    ("INSERT INTO decisions (proposal_id, outcome, reason, decided_by_id, decided_at) VALUES "
     "(1, 'prioritized', 'Mendesak', 1, '2026-11-03 08:00:00')"),
    ("INSERT INTO ranking_snapshots (session_id, version, method, normalization, selection, payload, created_at) "
     "VALUES (1, 1, 'saw', 'minmax', 'greedy', '{}', '2026-11-03 08:00:00')"),
    "INSERT INTO letterheads (institution_name, updated_at) VALUES ('Dinas Koperasi', '2026-11-01 08:00:00')",
    ("INSERT INTO agenda_items (session_id, position, kind, title, duration_minutes, category_id) VALUES "
     "(1, 0, 'opening', 'Pembukaan', 10, 1)"),
    ("INSERT INTO audit_events (created_at, actor_id, action, object_type, object_id) VALUES "
     "('2026-11-02 08:00:00', 2, 'proposal.draft_saved', 'Proposal', '3'), "
     "('2026-11-02 09:00:00', 2, 'proposal.draft_deleted', 'Proposal', '3')"),
    "DELETE FROM proposals WHERE id = 3",
]

NEW_DRAFT = ("INSERT INTO proposals (session_id, business_id, title, created_at, updated_at) "
             "VALUES (1, 1, 'Usulan baru', '2026-12-01 08:00:00', '2026-12-01 08:00:00')")


def test_0006_rebuilds_sqlite_tables_keeping_every_row_and_no_deleted_id_comes_back(tmp_path, monkeypatch):
    from flask_migrate import upgrade

    from participation import create_app
    from participation.extensions import db

    def contents(connection) -> dict:
        names = connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name <> 'alembic_version' ORDER BY name").scalars().all()
        return {name: connection.exec_driver_sql(f'SELECT * FROM "{name}" ORDER BY 1, 2').all() for name in names}

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}"})
    with app.app_context():
        upgrade(revision=BEFORE_AUTOINCREMENT)
        with db.engine.begin() as connection:
            for statement in OLD_ROWS:
                connection.execute(text(statement))
        with db.engine.connect() as connection:
            # The bug: without AUTOINCREMENT the deleted draft's id goes to the next proposal.
            with connection.begin() as transaction:
                assert connection.execute(text(NEW_DRAFT)).lastrowid == 3
                transaction.rollback()
            before = contents(connection)
        assert sum(len(rows) for rows in before.values()) >= 20

        upgrade(revision=AUTOINCREMENT)  # 0006 itself: later migrations may add columns

        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # switched back on
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert contents(connection) == before
            assert connection.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'proposals'").scalar() == 3

        def run(statement, **params):
            with db.engine.begin() as connection:
                return connection.execute(text(statement), params)

        new_id = run(NEW_DRAFT).lastrowid
        assert new_id == 4  # above both the live rows and the id the audit log names
        run("DELETE FROM proposals WHERE id = :id", id=new_id)
        assert run(NEW_DRAFT).lastrowid == 5
        # The rebuilt tables keep their foreign keys, cascades and append-only triggers.
        run("DELETE FROM proposals WHERE id = 1")
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM ratings").scalar() == 0
            assert connection.exec_driver_sql("SELECT count(*) FROM decisions").scalar() == 0
            assert connection.exec_driver_sql("SELECT near_duplicate_of_id FROM proposals WHERE id = 2").scalar() is None
        for statement in ("UPDATE audit_events SET action = 'forged'", "DELETE FROM ranking_snapshots",
                          ("INSERT INTO proposals (session_id, business_id, title, created_at, updated_at) "
                           "VALUES (99, 1, 'Tanpa sesi', '2026-12-01', '2026-12-01')")):
            with pytest.raises(Exception, match="append-only|immutable|FOREIGN KEY"):
                run(statement)
        db.engine.dispose()


@pytest.mark.parametrize("engine_name", BACKENDS)
def test_0018_takes_every_existing_account_as_verified(engine_name, tmp_path):
    """Accounts made before email verification existed are not asked to confirm their address."""
    from sqlalchemy import create_engine

    from participation.config import normalize_database_url

    with empty_database(engine_name, tmp_path) as url:
        assert flask("db", "upgrade", "c3e1a9d20f17", database_url=url, instance=str(tmp_path)).returncode == 0
        engine = create_engine(normalize_database_url(url))
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (email, name, role, password_hash, session_epoch, active, created_at) VALUES "
                "('lama@contoh.id', 'Pemilik Lama', 'proponent', 'x', 0, :yes, '2026-01-05 08:00:00'), "
                "('staf@contoh.id', 'Staf Lama', 'planner', 'x', 0, :yes, '2026-02-01 09:30:00')"), {"yes": True})
        assert flask("db", "upgrade", "e7a3c5b9d218", database_url=url, instance=str(tmp_path)).returncode == 0
        with engine.connect() as connection:
            verified = dict(connection.execute(text("SELECT email, email_verified_at FROM users")).all())
        assert {email: str(value)[:19] for email, value in verified.items()} == {
            "lama@contoh.id": "2026-01-05 08:00:00", "staf@contoh.id": "2026-02-01 09:30:00"}
        assert flask("db", "downgrade", "c3e1a9d20f17", database_url=url, instance=str(tmp_path)).returncode == 0
        engine.dispose()
