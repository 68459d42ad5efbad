"""Factories for sessions and proposals, used inside an app context; build_world, which makes its own."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


def make_business(user: User | None = None, *, nib: str = "1234567890123", name: str = "Usaha Uji",
                  **fields) -> Business:
    """A business, owned by `user` when given; `fields` (owner_name, kecamatan...) override the defaults."""
    business = Business(user=user, owner_name=user.name if user else "Pemilik Uji", nib=nib, scale=Scale.MIKRO,
                        kelurahan="Sukamaju", kecamatan="Sukamaju", phone="+6281234567890")
    business.set_name(name)
    for field, value in fields.items():
        setattr(business, field, value)
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
        from participation import storage

        proposal.attachment_file = storage.new_file(attachment, "application/pdf")
        proposal.attachment_name = "penawaran.pdf"
        proposal.attachment_type, proposal.attachment_size = "application/pdf", len(attachment)
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
    proposals = db.session.scalars(db.select(Proposal).where(Proposal.session_id == themed_session.id,
                                                             Proposal.status == ProposalStatus.SUBMITTED)).all()
    rate(proposals, planners, value)
    db.session.flush()


def rate(proposals, planners, value=4) -> None:
    """Every planner rates each proposal on every rating criterion: `value`, or value(proposal, criterion, planner)."""
    from participation.models import Rating
    from participation.review.services import rating_criteria

    for proposal in proposals:
        for planner in planners:
            for criterion in rating_criteria(proposal.themed_session):
                db.session.add(Rating(proposal=proposal, criterion=criterion, planner=planner,
                                      value=value(proposal, criterion, planner) if callable(value) else value))


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


@dataclass(frozen=True)
class World:
    """The ids of what build_world made, in the order it made them: ids, not ORM objects, to outlive the context."""

    session: int
    planner: int  # who made the session
    planners: tuple[int, ...]  # `planner` first, then the other planners on the team
    facilitator: int | None
    owner: int | None  # a business owner's account, with its business
    categories: tuple[int, ...]  # the session's, in order
    criteria: tuple[int, ...]
    businesses: tuple[int, ...]  # those of `businesses=`, then the proposals' (each once)
    proposals: tuple[int, ...]  # one per entry of `proposals=`
    receipts: tuple[str | None, ...]  # the proposals' receipt numbers


def build_world(app, make_user, *, planners: int | Sequence[Mapping | int] = 1, facilitator: bool | Mapping = False,
                owner: bool | Mapping = False, businesses: Sequence[Mapping] = (),
                proposals: int | Sequence[Mapping] = (), rated=None, invited: bool = False,
                status: SessionStatus = SessionStatus.OPEN, **session_fields) -> World:
    """Users (through make_user), then one session with its staff as members, in one app context and one commit.

    planners: how many planners to make, or one entry per planner: make_user keywords or an existing planner's id.
      The first makes the session; the others join its team, as does the facilitator.
    facilitator, owner: True, or make_user keywords, to make one (the owner is a proponent with a business).
    businesses: make_business keywords, one entry per business without a proposal.
    proposals: how many, or one entry per proposal: make_proposal keywords, and
      category: the index of its category (0 unless told), business: make_business keywords or "owner"
      (a new business unless told), rated: its own ratings instead of `rated`.
    rated: what every planner gives every submitted proposal on every rating criterion: None (no ratings), a value,
      a callable (proposal, criterion, planner) -> value, or a list of those, one per planner (None: not this one).
    invited: put every business of the world on the roster, invited by the facilitator (or else the planner).
    status: the session's status once everything is in place.
    session_fields: make_session overrides (title, budget_ceiling, venue...).
    """
    from participation.intake.services import invite

    def user(role, option):
        return make_user(role, **(option if isinstance(option, Mapping) else {})) if option is not False else None

    planner_ids = [spec if isinstance(spec, int) else user("planner", spec)
                   for spec in ([{}] * planners if isinstance(planners, int) else planners)]
    facilitator_id, owner_id = user("facilitator", facilitator), user("proponent", owner)
    specs = [{} for _ in range(proposals)] if isinstance(proposals, int) else [dict(spec) for spec in proposals]
    with app.app_context():
        staff = [db.session.get(User, user_id) for user_id in planner_ids]
        team = staff[1:] + ([db.session.get(User, facilitator_id)] if facilitator_id else [])
        themed_session = make_session(staff[0], members=team, **session_fields)
        made_businesses = [make_business(**fields) for fields in businesses]
        made_proposals = []
        for n, spec in enumerate(specs):
            business = spec.pop("business", {})
            if business == "owner":
                business = db.session.get(User, owner_id).business
            else:
                business = make_business(**{"nib": f"{3_201_000_000_000 + n}", "name": f"Usaha {n}", **business})
            made_businesses.append(business)
            category, value = themed_session.categories[spec.pop("category", 0)], spec.pop("rated", rated)
            made_proposals.append((make_proposal(themed_session, business, category_id=category.id,
                                                 **{"title": f"Usulan uji nomor {n}", **spec}), value))
        business_ids = tuple(dict.fromkeys(business.id for business in made_businesses))
        if invited:
            invite(themed_session, list(business_ids), as_actor(team[-1] if facilitator_id else staff[0]))
        for index, planner in enumerate(staff):
            for proposal, value in made_proposals:
                value = value[index] if isinstance(value, list) else value
                if value is not None and proposal.status is ProposalStatus.SUBMITTED:
                    rate([proposal], [planner], value)
        themed_session.status = status
        db.session.flush()
        world = World(session=themed_session.id, planner=planner_ids[0], planners=tuple(planner_ids),
                      facilitator=facilitator_id, owner=owner_id,
                      categories=tuple(c.id for c in themed_session.categories),
                      criteria=tuple(c.id for c in themed_session.criteria), businesses=business_ids,
                      proposals=tuple(p.id for p, _ in made_proposals),
                      receipts=tuple(p.receipt_number for p, _ in made_proposals))
        db.session.commit()
    return world
