"""Factories for sessions and proposals, used inside an app context."""
from __future__ import annotations

from datetime import timedelta

from participation.events import Actor
from participation.extensions import db
from participation.models import (
    Business,
    Proposal,
    ProposalStatus,
    Scale,
    SessionStatus,
    ThemedSession,
    User,
    utcnow,
)

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def as_actor(user: User | None) -> Actor:
    """The actor of a test's direct service call: `user`, acting from a script."""
    return Actor.cli(user)


def make_session(planner: User, *, status: SessionStatus = SessionStatus.OPEN, members=(), **overrides) -> ThemedSession:
    """A session from the default template, open with its window running unless told otherwise."""
    from participation.sessions import services

    now = utcnow()
    data = {"title": "Musrenbang Tematik Uji", "fiscal_year": 2027, "budget_ceiling": 500_000_000,
            "submission_opens_at": now - timedelta(days=1), "submission_closes_at": now + timedelta(days=7),
            "max_proposals_per_business": 3}
    data.update({key: value for key, value in overrides.items() if key in services.SESSION_FIELDS})
    themed_session = services.create_session(data, as_actor(planner))
    themed_session.status = status
    for member in members:
        services.add_member(themed_session, member, as_actor(planner))
    db.session.flush()
    return themed_session


def make_business(user: User | None = None, *, nib: str = "1234567890123", name: str = "Usaha Uji") -> Business:
    """A business, owned by `user` when given."""
    business = Business(user=user, owner_name=user.name if user else "Pemilik Uji", nib=nib, scale=Scale.MIKRO,
                        kelurahan="Sukamaju", kecamatan="Sukamaju", phone="+6281234567890")
    business.set_name(name)
    business.kbli_list = ["10794"]
    db.session.add(business)
    db.session.flush()
    return business


PROPOSAL_DATA = {
    "title": "Sertifikasi halal untuk pelaku keripik",
    "problem": "Produk belum bersertifikat halal.",
    "description": "Pendampingan dan biaya sertifikasi untuk 20 pelaku.",
    "estimated_cost": 25_000_000,
    "beneficiaries": 20,
    "jobs_created": 2,
}


def make_proposal(themed_session: ThemedSession, business: Business, *, submit: bool = True,
                  attachment: bytes | None = None, **overrides) -> Proposal:
    """A proposal of `business`, submitted (with a receipt number) unless `submit=False`."""
    from participation.proposals import services

    data = {**PROPOSAL_DATA, "category_id": themed_session.categories[0].id, **overrides}
    proposal = services.new_proposal(themed_session, business, data, as_actor(business.user), submit=submit,
                                     check_window=False)
    if attachment is not None:
        from flask import current_app

        from participation.proposals import attachments

        key = "ab" * 16
        path = attachments.upload_dir() / key
        path.write_bytes(attachment)
        proposal.attachment_key, proposal.attachment_name = key, "penawaran.pdf"
        proposal.attachment_type, proposal.attachment_size = "application/pdf", len(attachment)
        assert current_app.static_folder not in str(path)
    db.session.flush()
    return proposal


def proposal_count(status: ProposalStatus | None = None) -> int:
    """How many proposals exist (with `status`, when given)."""
    query = db.select(db.func.count(Proposal.id))
    if status is not None:
        query = query.where(Proposal.status == status)
    return db.session.scalar(query)


def rate_all(themed_session: ThemedSession, planners, value=4) -> None:
    """Every planner rates every submitted proposal of the session on every rating criterion."""
    from participation.models import Rating
    from participation.review.services import rating_criteria

    proposals = db.session.scalars(db.select(Proposal).where(Proposal.session_id == themed_session.id,
                                                             Proposal.status == ProposalStatus.SUBMITTED)).all()
    for proposal in proposals:
        for planner in planners:
            for criterion in rating_criteria(themed_session):
                db.session.add(Rating(proposal=proposal, criterion=criterion, planner=planner,
                                      value=value if callable(value) is False else value(proposal, criterion, planner)))
    db.session.flush()


def make_finalized_session(planner: User, business: Business) -> ThemedSession:
    """A finalised session with one rated proposal and its snapshot."""
    from participation.review.services import write_snapshot

    themed_session = make_session(planner, title="Musrenbang Tematik Final")
    make_proposal(themed_session, business)
    rate_all(themed_session, [planner])
    write_snapshot(themed_session, planner)
    themed_session.status = SessionStatus.FINALIZED
    db.session.flush()
    return themed_session
