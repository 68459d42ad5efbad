"""Benchmark the ranked list and what-if re-ranking for 2,000 proposals × 7 criteria × 3 planners.

Usage: .venv/bin/python benchmarks/review.py [--runs 11] [--postgres URL]

Builds a generated session in a fresh database (SQLite, and PostgreSQL when one answers), signs a
planner in, and times whole requests through the Flask test client (server side: routing, queries,
scoring, stability, template rendering), reporting medians.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._machine import cpu_model  # noqa: E402

N_PROPOSALS, N_PLANNERS = 2_000, 3
PASSWORD = "Benchmark-Perencana-2027"


TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def sign_in(app, client) -> None:
    """The first planner signs in with password and second factor (enrolled here as if scanned)."""
    import pyotp

    from participation.auth.two_factor import encrypt_secret
    from participation.extensions import db
    from participation.models import StaffTotp, User, utcnow

    with app.app_context():
        planner = db.session.scalar(db.select(User).where(User.email == "planner0@pemkot.example"))
        db.session.add(StaffTotp(user_id=planner.id, secret=encrypt_secret(TOTP_SECRET), confirmed_at=utcnow()))
        db.session.commit()
    response = client.post("/masuk", data={"email": "planner0@pemkot.example", "password": PASSWORD})
    assert response.status_code == 303, response.status_code
    response = client.post("/masuk/verifikasi", data={"code": pyotp.TOTP(TOTP_SECRET).now()})
    assert response.status_code == 303, response.status_code


def build(database_url: str, instance: Path, n_proposals: int = N_PROPOSALS):
    """A migrated database holding the generated session; returns (app, session id, criterion ids)."""
    os.environ["INSTANCE_PATH"] = str(instance)
    from flask_migrate import upgrade

    from participation import create_app
    from participation.auth.passwords import hash_password
    from participation.extensions import db
    from participation.models import Business, Proposal, ProposalStatus, Rating, Role, Scale, SessionStatus, User
    from participation.events import Actor
    from participation.sessions.services import create_session

    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False})
    rng = random.Random(2027)
    with app.app_context():
        upgrade()
        planners = [User(email=f"planner{i}@pemkot.example", name=f"Planner {i}", role=Role.PLANNER,
                         password_hash=hash_password(PASSWORD)) for i in range(N_PLANNERS)]
        db.session.add_all(planners)
        db.session.flush()
        themed_session = create_session({"title": "Benchmark", "fiscal_year": 2027, "budget_ceiling": 1,
                                         "max_proposals_per_business": 5}, Actor.cli(planners[0]))
        themed_session.members = planners
        rating_criteria = [c for c in themed_session.criteria if c.source.value == "rating"]
        categories = themed_session.categories
        total = 0
        for n in range(n_proposals):
            business = Business(nib=f"{3200000000000 + n:013d}", owner_name=f"Pemilik {n}", scale=Scale.MIKRO,
                                kelurahan="Sukamaju", kecamatan=rng.choice(["Sukamaju", "Tegalrejo", "Kauman"]))
            business.set_name(f"Usaha {n}")
            business.kbli_list = ["10794"]
            cost = rng.randint(5, 500) * 1_000_000
            total += cost
            proposal = Proposal(themed_session=themed_session, business=business, title=f"Usulan nomor {n}",
                                problem="-", description="-", category_id=categories[n % 8].id,
                                estimated_cost=cost, beneficiaries=rng.randint(5, 300),
                                jobs_created=rng.randint(0, 20), votes=rng.randint(0, 50),
                                status=ProposalStatus.SUBMITTED, receipt_number=f"MT-2027-{n + 1:04d}")
            db.session.add_all([business, proposal])
            for planner in planners:
                for criterion in rating_criteria:
                    db.session.add(Rating(proposal=proposal, criterion=criterion, planner=planner,
                                          value=rng.randint(1, 5)))
        themed_session.budget_ceiling = total // 3
        themed_session.status = SessionStatus.REVIEW
        db.session.commit()
        return app, themed_session.id, [c.id for c in themed_session.criteria]


def time_requests(client, url: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; {N_PROPOSALS} proposals × 7 criteria × "
          f"{N_PLANNERS} planners; medians of {args.runs} requests after one warm-up")
    with tempfile.TemporaryDirectory() as tmp:
        targets = {"sqlite": f"sqlite:///{tmp}/review.db"}
        if args.postgres:
            try:
                from benchmarks.imports import fresh_postgres

                targets["postgresql"] = fresh_postgres(args.postgres, "mt_bench_review").replace(
                    "postgresql://", "postgresql+psycopg://", 1)
            except Exception as error:  # no server: SQLite only
                print(f"PostgreSQL not available ({error.__class__.__name__}); SQLite only")
        for name, url in targets.items():
            app, session_id, criteria = build(url, Path(tmp) / f"instance-{name}")
            client = app.test_client()
            sign_in(app, client)
            ranked = f"/sesi/{session_id}/peringkat"
            whatif = ranked + "?" + "&".join(f"w{cid}={1 + i % 3}" for i, cid in enumerate(criteria))
            for label, target in (("ranked list page (first page of 50, stability with 200 draws)", ranked),
                                  ("what-if re-rank page", whatif)):
                client.get(target)
                times = time_requests(client, target, args.runs)
                print(f"{name}: {label}: median {statistics.median(times) * 1e3:.0f} ms "
                      f"(min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f})")
            with app.app_context():
                from participation.extensions import db
                from participation.models import ThemedSession
                from participation.review.ranking import build_matrix, build_ranking, load_proposals

                themed_session = db.session.get(ThemedSession, session_id)
                proposals = load_proposals(themed_session)
                matrix = build_matrix(themed_session, proposals, list(themed_session.criteria))
                service = []
                for _ in range(args.runs):
                    start = time.perf_counter()
                    build_ranking(themed_session, weights=[1, 2, 3, 1, 2, 3, 1], stability=False,
                                  proposals=proposals, matrix=matrix)
                    service.append(time.perf_counter() - start)
                print(f"{name}: what-if re-rank in the service (values loaded): median "
                      f"{statistics.median(service) * 1e3:.1f} ms")
                db.session.remove()
                db.engine.dispose()


if __name__ == "__main__":
    main()
