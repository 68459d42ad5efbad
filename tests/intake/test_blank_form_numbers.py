"""Blank paper forms printed at the same moment never share a number, on both databases."""
from __future__ import annotations

import multiprocessing

from participation.events import Actor
from participation.models import Role, ThemedSession, User
from tests.conftest import app_db
from tests.factories import make_session

WORKERS = 4
BATCHES = 15


def print_batches(database_url: str, instance: str, session_id: int, sizes: list[int], barrier) -> list[str]:
    """Run in a separate process: reserve each batch in its own transaction, as a request would.

    Each batch loads the session first, as the blank-forms view does, so that a read-then-write
    counter would see a stale value whenever another process committed in between.
    """
    import os

    os.environ["INSTANCE_PATH"] = instance
    from participation import create_app
    from participation.extensions import db
    from participation.intake.services import allocate_paper_forms
    from participation.models import ThemedSession

    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": database_url})
    numbers = []
    barrier.wait()
    with app.app_context():
        for size in sizes:
            themed_session = db.session.get(ThemedSession, session_id)
            numbers += allocate_paper_forms(themed_session, size, Actor.cli())
            db.session.commit()
        db.engine.dispose()
    return numbers


def test_concurrent_printing_reserves_separate_ranges(app, database_url, tmp_path):
    with app_db(app) as session:
        planner = User(email="p@contoh.id", name="P", role=Role.PLANNER, password_hash="x")
        session.add(planner)
        sid = make_session(planner).id
        session.commit()
    sizes = [[1 + (worker + batch) % 3 for batch in range(BATCHES)] for worker in range(WORKERS)]

    context = multiprocessing.get_context("spawn")
    barrier = context.Manager().Barrier(WORKERS)
    with context.Pool(WORKERS) as pool:
        results = pool.starmap(print_batches, [(database_url, str(tmp_path), sid, batch, barrier) for batch in sizes])

    printed = [number for numbers in results for number in numbers]
    total = sum(map(sum, sizes))
    assert len(printed) == len(set(printed)), "a form number was printed twice"
    assert sorted(printed) == [f"F{sid}-{n:04d}" for n in range(1, total + 1)]  # and none skipped
    with app_db(app) as session:
        assert session.get(ThemedSession, sid).paper_forms_printed == total


def test_the_session_object_shows_the_new_count(app):
    from participation.extensions import db
    from participation.intake.services import allocate_paper_forms

    with app_db(app) as session:
        planner = User(email="p@contoh.id", name="P", role=Role.PLANNER, password_hash="x")
        session.add(planner)
        themed_session = make_session(planner)
        assert allocate_paper_forms(themed_session, 2, Actor.cli(planner)) == [f"F{themed_session.id}-0001", f"F{themed_session.id}-0002"]
        assert themed_session.paper_forms_printed == 2
        assert allocate_paper_forms(themed_session, 1, Actor.cli(planner)) == [f"F{themed_session.id}-0003"]
        db.session.commit()
        db.session.expire_all()
        assert session.get(ThemedSession, themed_session.id).paper_forms_printed == 3
