"""A public world for the API: one session of each status, the finalised one decided with reasons."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from participation.models import Outcome, SessionStatus


@dataclass(frozen=True)
class PublicWorld:
    finalized: int
    open: int
    review: int
    draft: int
    archived: int
    planner: int
    receipts: tuple[str, ...]
    reasons: dict
    nib: str
    phone: str


def finalize_with_decisions(app, world) -> dict:
    """Decide the finalised world's proposals with reasons, then finalise it (the last one unrated, excluded)."""
    from participation.extensions import db
    from participation.models import Proposal, ThemedSession, User
    from participation.review.services import decide, finalize
    from tests.factories import as_actor

    reasons = {world.receipts[0]: "Dampak besar bagi 40 pelaku IKM",
               world.receipts[1]: "=1+1 anggaran habis, ditunda"}
    with app.app_context():
        planner = db.session.get(User, world.planner)
        actor = as_actor(planner)
        proposals = [db.session.get(Proposal, proposal_id) for proposal_id in world.proposals]
        decide(proposals[0], Outcome.PRIORITIZED, reasons[world.receipts[0]], actor)
        decide(proposals[1], Outcome.DEFERRED, reasons[world.receipts[1]], actor)
        finalize(db.session.get(ThemedSession, world.session), {proposals[-1].id: "Belum dinilai, lengkapi dulu"},
                 actor)
        db.session.commit()
    return reasons


@pytest.fixture
def public_world(app, make_world) -> PublicWorld:
    """A finalised session (three rated proposals, two decided with reasons, one unrated and excluded),
    and an open, an in-review, a draft and an archived session, each made by its own planner."""
    finalized = make_world(status=SessionStatus.REVIEW, budget_ceiling=60_000_000, title="Musrenbang IKM Final",
                           theme="Pemulihan ekonomi", venue="Aula Bappeda", proposals=[
        {"title": "Pelatihan kemasan", "estimated_cost": 35_000_000, "kecamatan": "Cibeunying",
         "rated": 4, "business": {"nib": "1234567890123", "name": "Keripik Bu Sari", "phone": "+6281298765432"}},
        {"title": "Sertifikasi halal", "estimated_cost": 30_000_000, "kecamatan": "Coblong", "rated": 3},
        {"title": "Belum dinilai", "estimated_cost": 10_000_000, "kecamatan": "Sukajadi"},
    ], rated=None)
    reasons = finalize_with_decisions(app, finalized)
    others = {status: make_world(status=status, title=f"Sesi {status.value}", proposals=1)
              for status in (SessionStatus.OPEN, SessionStatus.REVIEW, SessionStatus.DRAFT, SessionStatus.ARCHIVED)}
    return PublicWorld(finalized=finalized.session, open=others[SessionStatus.OPEN].session,
                       review=others[SessionStatus.REVIEW].session, draft=others[SessionStatus.DRAFT].session,
                       archived=others[SessionStatus.ARCHIVED].session, planner=finalized.planner,
                       receipts=finalized.receipts, reasons=reasons, nib="1234567890123", phone="+6281298765432")
