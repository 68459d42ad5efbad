"""Receipt numbers stay unique and gapless when many owners submit at once, on both databases."""
from __future__ import annotations

import multiprocessing

from sqlalchemy import select

from participation.models import Proposal, ProposalStatus, Role, User
from tests.conftest import app_db
from tests.factories import make_business, make_proposal, make_session

WORKERS = 4
PER_WORKER = 12


def submit_drafts(database_url: str, instance: str, draft_ids: list[int], barrier) -> list[str]:
    """Run in a separate process: submit each draft in its own transaction, as a request would.

    Every third attempt fails after its number was allocated and rolls back, as a request that
    crashes halfway would; the number must go back with it.
    """
    import os

    os.environ["INSTANCE_PATH"] = instance
    from participation import create_app
    from participation.extensions import db
    from participation.models import Proposal
    from participation.events import Actor
    from participation.proposals.services import submit_proposal

    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": database_url})
    receipts = []
    barrier.wait()
    with app.app_context():
        for attempt, draft_id in enumerate(draft_ids):
            if attempt % 3 == 2:
                proposal = db.session.get(Proposal, draft_id)
                submit_proposal(proposal, Actor.cli(), check_window=False)
                db.session.rollback()  # the request failed after taking a number
            proposal = db.session.get(Proposal, draft_id)
            submit_proposal(proposal, Actor.cli(), check_window=False)
            receipts.append(proposal.receipt_number)
            db.session.commit()
        db.engine.dispose()
    return receipts


def test_concurrent_submissions_get_unique_gapless_receipts(app, database_url, tmp_path):
    with app_db(app) as session:
        planner = User(email="p@contoh.id", name="P", role=Role.PLANNER, password_hash="x")
        session.add(planner)
        themed_session = make_session(planner, max_proposals_per_business=PER_WORKER * WORKERS)
        drafts = []
        for worker in range(WORKERS):
            business = make_business(nib=f"{worker + 1:013d}", name=f"Usaha {worker}")
            drafts.append([make_proposal(themed_session, business, submit=False, title=f"Usulan {worker}-{n}").id
                           for n in range(PER_WORKER)])
        session.commit()

    context = multiprocessing.get_context("spawn")
    barrier = context.Manager().Barrier(WORKERS)
    with context.Pool(WORKERS) as pool:
        results = pool.starmap(submit_drafts, [(database_url, str(tmp_path), ids, barrier) for ids in drafts])

    handed_out = [receipt for receipts in results for receipt in receipts]
    expected = [f"MT-2027-{n:04d}" for n in range(1, WORKERS * PER_WORKER + 1)]
    assert sorted(handed_out) == expected  # no duplicates, no gaps, none lost to rollbacks
    with app_db(app) as session:
        stored = session.scalars(select(Proposal.receipt_number).order_by(Proposal.receipt_number)).all()
        assert stored == expected
        assert all(p.status is ProposalStatus.SUBMITTED for p in session.scalars(select(Proposal)))
