"""Seeding the demo through the same services as the web, and the `flask seed-demo` command."""
from __future__ import annotations

import random
import secrets
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from participation.auth.passwords import password_problems
from participation.demo.data import (
    DEMO_SESSION,
    DOMAIN_STAFF,
    PASSWORD_WORDS,
    PROBLEMS,
    PROPOSAL_IDEAS,
    SECTOR_WORDS,
    SECTORS,
    SEED,
    STAFF,
    demo_businesses,
    demo_place_code,
    demo_places,
)
from participation.events import Actor
from participation.extensions import db
from participation.models import Proposal, ProposalStatus, Role, Scale, ThemedSession, User, utcnow

class DemoRefused(click.ClickException):
    """seed-demo will not run here."""


def fresh_password(email: str, name: str, role: Role) -> str:
    """A readable random password that meets the policy for `role`."""
    while True:
        words = [secrets.choice(PASSWORD_WORDS) for _ in range(4)]
        candidate = "-".join(words) + "-" + str(secrets.randbelow(90) + 10)
        if not password_problems(candidate, role=role, email=email, name=name):
            return candidate


def seed_demo() -> list[tuple[str, str, str, str]]:
    """Fill an empty database with the demo city; returns (role, name, email, password) rows.

    Everything goes through the same services as the web pages, so the seeded demo carries the
    audit history (channel `demo`) that clicking it together would have left.
    """
    from participation.auth import services as auth_services

    rng = random.Random(SEED)
    accounts, staff, owners = [], [], []
    for role, name, local in STAFF:
        email = f"{local}@{DOMAIN_STAFF}"
        password = fresh_password(email, name, role)
        staff.append(auth_services.create_user(Actor.demo(), email=email, name=name, role=role, password=password))
        accounts.append((role.value, name, email, password))
    for profile in demo_businesses(rng):
        password = fresh_password(profile["email"], profile["owner"], Role.PROPONENT)
        owners.append(auth_services.register_owner(
            Actor.demo(), email=profile["email"], name=profile["owner"], password=password,
            profile={"name": profile["name"], "kbli": profile["kbli"], "nib": profile["nib"],
                     "legal_form": profile["legal_form"], "scale": profile["scale"],
                     "capital": profile["capital"], "annual_turnover": None,
                     **{key: profile[key] for key in ("workforce_men", "workforce_women", "address", "kelurahan",
                                                      "kecamatan", "kelurahan_code", "phone", "cert_halal", "cert_pirt", "cert_sni")}},
            verified=True))
        accounts.append((Role.PROPONENT.value, profile["owner"], profile["email"], password))
    seed_demo_session(rng, staff, owners)
    return accounts


def seed_demo_session(rng: random.Random, staff: list[User], owners: list[User]) -> ThemedSession:
    """The demo session: opened, invitation-only, proposals from the 45 businesses, now in review."""
    from participation.intake import services as intake_services
    from participation.proposals import services as proposal_services
    from participation.sessions import services as session_services

    now = utcnow().replace(minute=0, second=0, microsecond=0)
    planners = [user for user in staff if user.role is Role.PLANNER]
    facilitator = next(user for user in staff if user.role is Role.FACILITATOR)
    as_planner, as_facilitator = Actor.demo(planners[0]), Actor.demo(facilitator)
    themed_session = session_services.create_session(
        {**DEMO_SESSION, "fiscal_year": now.year + 1, "budget_ceiling": 1,
         "submission_opens_at": now - timedelta(days=14), "submission_closes_at": now + timedelta(days=30),
         "meeting_start": (now + timedelta(days=37)).replace(hour=2)},  # 09.00 WIB
        as_planner)
    for member in planners[1:] + [facilitator]:
        session_services.add_member(themed_session, member, as_planner)
    session_services.transition(themed_session, "open", as_planner)
    intake_services.invite(themed_session, [owner.business.id for owner in owners], as_facilitator)
    categories = list(themed_session.categories)

    proposals = []
    for index, owner in enumerate(owners):
        count = 1 if index % 3 == 0 else 2
        for number in range(count):
            category = categories[(index * 2 + number) % len(categories)]
            pattern, cost, people, jobs = rng.choice(PROPOSAL_IDEAS[category.name])
            sector = next(p for p in SECTORS if owner.business.kbli_list[0] in SECTORS[p][0])
            data = {
                "title": pattern.format(x=SECTOR_WORDS[sector]), "category_id": category.id,
                "problem": rng.choice(PROBLEMS),
                "description": (f"{owner.business.name} mengusulkan kegiatan ini bersama pelaku usaha "
                                f"sejenis di Kecamatan {owner.business.kecamatan}. Hasilnya dipantau "
                                f"oleh dinas dan dilaporkan dalam forum berikutnya."),
                "estimated_cost": rng.randint(*cost) * 1_000_000,
                "beneficiaries": rng.randint(*people), "jobs_created": rng.randint(*jobs),
            }
            draft = index % 15 == 14 and number == 1
            proposal = proposal_services.create_proposal(themed_session, owner.business, data, Actor.demo(owner),
                                                         submit=not draft)
            proposals.append(proposal)
    for proposal in proposals[5::16]:  # a few owners changed their minds
        if proposal.status is ProposalStatus.SUBMITTED:
            proposal_services.withdraw_proposal(proposal, Actor.demo(proposal.submitted_by),
                                                "Digabung dengan usulan kelompok usaha lain.")
    seed_paper_proposals(rng, themed_session, as_facilitator, categories)
    live = db.session.scalars(select(Proposal.estimated_cost).where(
        Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED)).all()
    # Funds roughly a third of what was asked, rounded to ten million Rupiah. The meeting has
    # taken place: submissions are closed and the planners are reviewing.
    session_services.update_session(themed_session, {
        "budget_ceiling": round(sum(live) / 3 / 10_000_000) * 10_000_000,
        "submission_opens_at": now - timedelta(days=30), "submission_closes_at": now - timedelta(days=3),
        "meeting_start": (now - timedelta(days=1)).replace(hour=2),  # 09.00 WIB
    }, as_planner)
    session_services.transition(themed_session, "close", as_planner)
    seed_review(rng, themed_session, planners, as_facilitator)
    seed_meeting(rng, themed_session, owners, as_facilitator)
    db.session.flush()
    return themed_session


def seed_meeting(rng: random.Random, themed_session: ThemedSession, owners: list[User], actor: Actor) -> None:
    """The meeting's paperwork: letterhead, signatories, the agenda, and who came."""
    from participation.documents import services as document_services
    from participation.models import Invitation
    from participation.review.ranking import build_ranking

    document_services.save_letterhead(
        {"institution_name": current_app.config["INSTITUTION_NAME"],
         "address": f"Jl. Pahlawan No. 1, {current_app.config['CITY_NAME']} 57111",
         "contact": "Telepon (0271) 642020 · bappeda@pemkot.example"}, (demo_logo(), "image/png"), False, actor)
    # The invitation went out as an official letter a week before the meeting.
    letter_date = (themed_session.meeting_start - timedelta(days=7)).date()
    document_services.update_settings(themed_session, {
        "chair_name": "Ir. Bambang Sutrisno, M.T.", "secretary_name": "Maya Lestari, S.Sos.",
        "participant_representative": owners[0].name,
        "letter_number": f"005/217/Bappeda/{letter_date.year}", "letter_nature": "penting",
        "letter_attachments": 1, "letter_subject": f"Undangan {themed_session.title}", "letter_date": letter_date,
        "signatory_name": "Dr. Ir. Hendro Wicaksono, M.Si.",
        "signatory_title": f"Kepala Badan Perencanaan Pembangunan Daerah {current_app.config['CITY_NAME']}",
        "signatory_nip": "197203151998031004"}, actor)
    document_services.build_agenda(themed_session, build_ranking(themed_session, stability=False), actor)
    invitations = db.session.scalars(select(Invitation).where(Invitation.session_id == themed_session.id)
                                     .order_by(Invitation.id)).all()
    for invitation in invitations:
        # Most invitees came; walk-ins came by definition. Entered afterwards from the signed list.
        if invitation.walk_in or rng.random() < 0.85:
            document_services.check_in(invitation, True, actor,
                                       at=themed_session.meeting_start - timedelta(minutes=rng.randint(0, 40)))


def demo_logo() -> bytes:
    """A plain emblem for the demo city's letterhead (a shield with a star), as PNG."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (160, 180), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.polygon([(10, 10), (150, 10), (150, 100), (80, 172), (10, 100)], fill="#0b5394", outline="#f1c232")
    draw.polygon([(80, 36), (91, 68), (124, 68), (97, 88), (107, 120), (80, 101), (53, 120), (63, 88),
                  (36, 68), (69, 68)], fill="#f1c232")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def seed_review(rng: random.Random, themed_session: ThemedSession, planners: list[User], facilitator: Actor) -> None:
    """Every planner rates every proposal; votes from the meeting; a few decisions."""
    from participation.models import Outcome
    from participation.review import services as review_services

    submitted = db.session.scalars(select(Proposal).where(
        Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED)
        .order_by(Proposal.receipt_number)).all()
    rated = review_services.rating_criteria(themed_session)
    # The last planner is lenient: about one point above the others, so that the standardized
    # aggregation ranks differently from the mean and the agreement panel has a leniency to show.
    lenience = {planner.id: 1 if planner is planners[-1] else 0 for planner in planners}
    votes = {}
    for proposal in submitted:
        merit = rng.uniform(1.5, 4.8)  # planners broadly agree on a proposal's merit
        for planner in planners:
            values = {criterion.id: min(5, max(1, round(merit + rng.uniform(-1.0, 1.0)) + lenience[planner.id]))
                      for criterion in rated}
            review_services.save_ratings(proposal, values, {}, Actor.demo(planner))
        votes[proposal.id] = rng.randint(0, 45)
    review_services.record_votes(themed_session, votes, facilitator)
    reasons = {
        Outcome.PRIORITIZED: "Mendesak dan sesuai RPJMD; siap dilaksanakan tahun depan.",
        Outcome.DEFERRED: "Baik, tetapi menunggu hasil pendataan ulang penerima manfaat.",
        Outcome.REJECTED: "Sudah didanai program provinsi pada tahun berjalan.",
    }
    for proposal, outcome in zip(submitted[:5], [Outcome.PRIORITIZED, Outcome.PRIORITIZED, Outcome.DEFERRED,
                                                 Outcome.REJECTED, Outcome.PRIORITIZED], strict=True):
        review_services.decide(proposal, outcome, reasons[outcome], Actor.demo(planners[0]))


def seed_paper_proposals(rng, themed_session, actor: Actor, categories) -> None:
    """Walk-ins without a phone: paper forms typed in by the facilitator (two bring a second form)."""
    from participation.intake import services as intake_services

    walk_ins = []
    for name, owner in (("Kerupuk Ikan Bu Darmi", "Darmi Lestari"), ("UD Tahu Sumedang Pak Ujang", "Ujang Suganda"),
                        ("Sandal Anyaman Mekar", "Wartini Hartono"), ("Kopi Gunung Lawu", "Sarno Wibowo")):
        places = demo_places()
        kecamatan = rng.choice(sorted(places))
        kelurahan = rng.choice(places[kecamatan])
        walk_ins.append({"nib": f"{rng.randrange(10**12, 10**13)}", "name": name, "owner_name": owner,
                         "phone": None, "kbli": [], "scale": Scale.MIKRO, "kelurahan": kelurahan,
                         "kecamatan": kecamatan, "kelurahan_code": demo_place_code(kelurahan, kecamatan)})
    forms = walk_ins + walk_ins[:2]
    numbers = intake_services.allocate_paper_forms(themed_session, len(forms), actor)
    for business_data, number in zip(forms, numbers, strict=True):
        category = rng.choice(categories)
        pattern, cost, people, jobs = rng.choice(PROPOSAL_IDEAS[category.name])
        intake_services.record_paper_proposal(
            themed_session, business_data,
            {"title": pattern.format(x="usaha mikro " + business_data["kecamatan"]),
             "category_id": category.id, "problem": rng.choice(PROBLEMS),
             "description": "Diisi pada formulir kertas saat forum.",
             "estimated_cost": rng.randint(*cost) * 1_000_000, "beneficiaries": rng.randint(*people),
             "jobs_created": rng.randint(*jobs), "kelurahan": business_data["kelurahan"],
             "kecamatan": business_data["kecamatan"], "kelurahan_code": business_data["kelurahan_code"]},
            number, actor)


def write_accounts_file(accounts, path: Path) -> None:
    """Keep the demo logins in instance/ (mode 600) so `make run` can show them again."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(format_accounts(accounts))


def format_accounts(accounts) -> str:
    """The accounts as an aligned plain-text table."""
    lines = [f"{'role':<12} {'email':<42} password", "-" * 80]
    lines += [f"{role:<12} {email:<42} {password}" for role, _name, email, password in accounts]
    return "\n".join(lines) + "\n"


@click.command("seed-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when data exists.")
def seed_demo_command(if_empty: bool) -> None:
    """Create the demo accounts and businesses in an empty database and print the logins."""
    if not current_app.config.get("SEED_DEMO_ALLOWED"):
        raise DemoRefused("seed-demo is disabled in the production configuration")
    if db.session.scalar(select(func.count(User.id))):
        if if_empty:
            click.echo("The database already has data; the demo was not seeded again.")
            return
        raise DemoRefused("the database already has data; seed-demo only fills an empty database")
    accounts = seed_demo()
    db.session.commit()
    accounts_file = Path(current_app.instance_path) / "demo-accounts.txt"
    write_accounts_file(accounts, accounts_file)
    click.echo("Demo data created. Sign in with any of these accounts:\n")
    click.echo(format_accounts(accounts))
    click.echo("Staff accounts (admin, planner, facilitator) then set up two-step verification with an "
               "authenticator app at their first sign-in.")
    click.echo(f"(Also saved to {accounts_file}, readable only by you.)")
