"""Migration 0019 (a draft's unset numbers are NULL) keeps every proposal, on both databases."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import BACKENDS
from tests.test_migrations import empty_database, flask

BEFORE = "e7a3c5b9d218"


def numbers(url: str) -> dict:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT id, status, estimated_cost, beneficiaries, jobs_created "
                                              "FROM proposals ORDER BY id")).all()
            return {row[0]: tuple(row[1:]) for row in rows}
    finally:
        engine.dispose()


@pytest.mark.parametrize("engine_name", BACKENDS)
def test_0019_keeps_the_proposals_and_holds_a_submitted_one_to_its_numbers(engine_name, tmp_path, monkeypatch):
    from participation import create_app
    from participation.extensions import db
    from participation.models import Role, User
    from tests.factories import make_business, make_proposal, make_session

    with empty_database(engine_name, tmp_path) as url:
        run = dict(database_url=url, instance=str(tmp_path))
        assert flask("db", "upgrade", **run).returncode == 0
        monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
        app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            planner = User(email="perencana@contoh.id", name="Perencana", role=Role.PLANNER, password_hash="x")
            db.session.add(planner)
            themed_session = make_session(planner)
            submitted = make_proposal(themed_session, make_business(nib="1111111111111", name="Usaha Satu"))
            draft = make_proposal(themed_session, make_business(nib="2222222222222", name="Usaha Dua"),
                                  submit=False, estimated_cost=None, beneficiaries=None, jobs_created=None)
            db.session.commit()
            ids = submitted.id, draft.id
            db.session.remove()
            db.engine.dispose()
        assert numbers(url) == {ids[0]: ("submitted", 25_000_000, 20, 2), ids[1]: ("draft", None, None, None)}
        # A submitted proposal cannot lose a number, even by hand.
        engine = sa.create_engine(url)
        with pytest.raises(sa.exc.IntegrityError):
            with engine.begin() as connection:
                connection.execute(sa.text("UPDATE proposals SET beneficiaries = NULL WHERE id = :id"), {"id": ids[0]})
        engine.dispose()
        # Down: the unset numbers become 0 again (NOT NULL); up: every row as it was, the 0 kept.
        assert flask("db", "downgrade", BEFORE, **run).returncode == 0
        assert numbers(url) == {ids[0]: ("submitted", 25_000_000, 20, 2), ids[1]: ("draft", 0, 0, 0)}
        upgrade = flask("db", "upgrade", **run)
        assert upgrade.returncode == 0, upgrade.stderr
        assert numbers(url) == {ids[0]: ("submitted", 25_000_000, 20, 2), ids[1]: ("draft", 0, 0, 0)}
        check = flask("db", "check", **run)
        assert "No new upgrade operations detected" in check.stdout + check.stderr
        if engine_name == "sqlite":  # the rebuild kept AUTOINCREMENT and the sequence
            engine = sa.create_engine(url)
            with engine.connect() as connection:
                ddl = connection.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'proposals'")).scalar()
                seq = connection.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'proposals'")).scalar()
            engine.dispose()
            assert "AUTOINCREMENT" in ddl and seq == max(ids)
