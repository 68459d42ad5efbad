"""Benchmark the planner's near-duplicate clusters of a session of 2,000 proposals ("Usulan serupa", issue 14).

Usage: .venv/bin/python benchmarks/joint.py [--runs 7] [--n 2000] [--postgres URL]

Builds the generated session of benchmarks/review.py in a fresh database (SQLite, and PostgreSQL
when one answers) and gives its proposals the synthetic titles and descriptions of
benchmarks/clusters.py (one in twenty a rewording of an earlier one). Times, as medians after one
warm-up: `review.joint.clusters_of` (the query for the session's mergeable proposals, RapidFuzz
over titles and descriptions, each member's similarity, the dismissed clusters left out), and the
whole "Usulan serupa" page through the Flask test client (routing, that, template rendering).
Goal: clustering 2,000 proposals ≤ 2 s.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._machine import cpu_model  # noqa: E402
from benchmarks.clusters import proposals as synthetic_texts  # noqa: E402
from benchmarks.review import build, sign_in  # noqa: E402

GOAL_SECONDS = 2.0


def give_texts(app, session_id: int, n: int) -> None:
    """Replace the generated titles ("Usulan nomor n", all alike) with the synthetic planning texts."""
    from sqlalchemy import update

    from participation.extensions import db
    from participation.models import Proposal

    titles, descriptions = synthetic_texts(n)
    with app.app_context():
        ids = db.session.scalars(db.select(Proposal.id).where(Proposal.session_id == session_id)
                                 .order_by(Proposal.id)).all()
        for proposal_id, title, description in zip(ids, titles, descriptions, strict=True):
            db.session.execute(update(Proposal).where(Proposal.id == proposal_id)
                               .values(title=title[:200], description=description))
        db.session.commit()


def time_clusters(app, session_id: int, runs: int) -> tuple[list[float], list[float], int]:
    from participation.extensions import db
    from participation.models import ThemedSession
    from participation.review.joint import clusters_of

    wall, cpu = [], []
    with app.app_context():
        themed_session = db.session.get(ThemedSession, session_id)
        found = len(clusters_of(themed_session))  # warm-up
        for _ in range(runs):
            db.session.expire_all()
            start, start_cpu = time.perf_counter(), time.process_time()
            found = len(clusters_of(themed_session))
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        db.session.remove()
    return wall, cpu, found


def time_page(app, session_id: int, runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU time of whole requests (the test client runs the app in this process)."""
    client = app.test_client()
    sign_in(app, client)
    url = f"/sesi/{session_id}/usulan-serupa"
    assert client.get(url).status_code == 200
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        assert response.status_code == 200, response.status_code
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}; "
          f"{args.n:,} proposals; medians of {args.runs} runs after one warm-up; "
          f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        targets = {"sqlite": f"sqlite:///{tmp}/joint.db"}
        if args.postgres:
            try:
                from benchmarks.imports import fresh_postgres

                targets["postgresql"] = fresh_postgres(args.postgres, "mt_bench_joint").replace(
                    "postgresql://", "postgresql+psycopg://", 1)
            except Exception as error:  # no server: SQLite only
                print(f"PostgreSQL not available ({error.__class__.__name__}); SQLite only")
        for name, url in targets.items():
            app, session_id, _ = build(url, Path(tmp) / f"instance-{name}", n_proposals=args.n)
            give_texts(app, session_id, args.n)
            wall, cpu, found = time_clusters(app, session_id, args.runs)
            median = statistics.median(wall)
            print(f"| {name}: `clusters_of` (load + cluster + similarity) | {args.n:,} proposals, {found} clusters | "
                  f"{median * 1e3:.0f} ms | {statistics.median(cpu) * 1e3:.0f} ms | "
                  f"≤ 2 s ({'met' if median <= GOAL_SECONDS else 'MISSED'}) |")
            page, page_cpu = time_page(app, session_id, args.runs)
            print(f"| {name}: \"Usulan serupa\" page, whole request | {args.n:,} proposals, {found} clusters | "
                  f"{statistics.median(page) * 1e3:.0f} ms | {statistics.median(page_cpu) * 1e3:.0f} ms | ≤ 2 s "
                  f"({'met' if statistics.median(page) <= GOAL_SECONDS else 'MISSED'}) |")
            with app.app_context():
                from participation.extensions import db

                db.session.remove()
                db.engine.dispose()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
