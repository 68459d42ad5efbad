"""Benchmark the ranked list under a planner's constraints: 2,000 proposals × 7 criteria × 3 planners.

Usage: .venv/bin/python benchmarks/constraints.py [--runs 11] [--postgres URL]

Builds benchmarks/review.py's generated session (SQLite, and PostgreSQL when one answers), times the
ranked list page through the Flask test client without constraints (the baseline, in the same run),
then with 8 category caps (each 20 % of the ceiling), 50 exclusive pairs and 10 must-fund proposals
set through the services; then the same page with the session set to `optimal` selection (its
stability left to the worker) and what the worker's stability job spends; and the constrained
`optimal` selection of the session's 2,000 scores against the unconstrained one. Reports medians, CPU time beside wall time (the machine is shared),
and the ratios.
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
from benchmarks.review import N_PLANNERS, N_PROPOSALS, build, sign_in  # noqa: E402

CAP_SHARE, PAIRS, MUST = 0.2, 50, 10
def timed(call, runs: int, warm_up: bool = True) -> tuple[float, float]:
    """Median wall and CPU seconds of `call` over `runs`, after one warm-up unless told."""
    if warm_up:
        call()
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def add_constraints(session_id: int, seed: int = 14) -> None:
    """8 caps, 50 disjoint exclusive pairs and 10 must-fund that fit, through the services."""
    from participation.events import Actor
    from participation.extensions import db
    from participation.models import Proposal, ProposalStatus, ThemedSession, User
    from participation.review import constraints as services

    rng = random.Random(seed)
    themed_session = db.session.get(ThemedSession, session_id)
    actor = Actor.cli(db.session.scalar(db.select(User).order_by(User.id)))
    proposals = db.session.scalars(db.select(Proposal).where(Proposal.session_id == session_id,
                                                             Proposal.status == ProposalStatus.SUBMITTED)
                                   .order_by(Proposal.id)).all()
    cap = int(themed_session.budget_ceiling * CAP_SHARE)
    for category in themed_session.categories[:8]:
        services.set_category_cap(category, cap, actor)
    chosen = rng.sample(proposals, 2 * PAIRS + MUST)
    for n in range(PAIRS):
        services.create_exclusive_group(themed_session, f"Pasangan {n}", chosen[2 * n:2 * n + 2], actor)
    spent = {}
    for proposal in chosen[2 * PAIRS:]:
        if spent.get(proposal.category_id, 0) + proposal.estimated_cost <= cap:
            spent[proposal.category_id] = spent.get(proposal.category_id, 0) + proposal.estimated_cost
            services.set_must_fund(proposal, "Program prioritas", actor)
    db.session.commit()


def selection_times(session_id: int, runs: int) -> dict:
    """The library's optimal selection of the session's scores, without and with the constraints."""
    import numpy as np

    from participation import scoring
    from participation.extensions import db
    from participation.models import ThemedSession
    from participation.review.constraints import load_constraints
    from participation.review.ranking import build_ranking, selection_limits

    themed_session = db.session.get(ThemedSession, session_id)
    ranking = build_ranking(themed_session, stability=False)
    items = ranking.ranked
    scores = np.array([item.score for item in items])
    costs = np.array([item.proposal.estimated_cost for item in items], dtype=np.int64)
    limits = selection_limits(items, load_constraints(themed_session))
    budget = themed_session.budget_ceiling
    return {
        "optimal, no constraints": timed(lambda: scoring.select_within_budget(scores, costs, budget, "optimal"), runs),
        "optimal, constrained": timed(lambda: scoring.select_within_budget(scores, costs, budget, "optimal",
                                                                           **limits), runs),
        "greedy, constrained": timed(lambda: scoring.select_within_budget(scores, costs, budget, "greedy",
                                                                          **limits), runs),
    }


def set_selection(session_id: int, method: str) -> None:
    """The session's selection method, set directly (a benchmark's setting, not a planner's edit)."""
    from participation.extensions import db
    from participation.models import SelectionMethod, ThemedSession

    db.session.get(ThemedSession, session_id).selection_method = SelectionMethod(method)
    db.session.commit()


def stability_job(session_id: int, runs: int) -> tuple[float, float]:
    """What the worker's selection_stability job spends: a ranking with stability, computed."""
    from participation.extensions import db
    from participation.models import ThemedSession
    from participation.review.ranking import build_ranking

    def compute():
        with db.session.no_autoflush:
            ranking = build_ranking(db.session.get(ThemedSession, session_id), stability=True)
        assert all(item.stability is not None for item in ranking.ranked)

    return timed(compute, runs, warm_up=False)  # each run is the same seconds of solving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, load average {load:.1f}; {N_PROPOSALS} proposals × "
          f"7 criteria × {N_PLANNERS} planners; medians of {args.runs} after one warm-up")
    with tempfile.TemporaryDirectory() as tmp:
        targets = {"sqlite": f"sqlite:///{tmp}/constraints.db"}
        if args.postgres:
            try:
                from benchmarks.imports import fresh_postgres

                targets["postgresql"] = fresh_postgres(args.postgres, "mt_bench_constraints").replace(
                    "postgresql://", "postgresql+psycopg://", 1)
            except Exception as error:  # no server: SQLite only
                print(f"PostgreSQL not available ({error.__class__.__name__}); SQLite only")
        for name, url in targets.items():
            app, session_id, _ = build(url, Path(tmp) / f"instance-{name}")
            client = app.test_client()
            sign_in(app, client)
            ranked = f"/sesi/{session_id}/peringkat"

            def page():
                assert client.get(ranked).status_code == 200

            base = timed(page, args.runs)
            with app.app_context():
                add_constraints(session_id)
            constrained = timed(page, args.runs)
            print(f"{name}: ranked list page (greedy, stability 200 draws), no constraints: "
                  f"median {base[0] * 1e3:.0f} ms wall, {base[1] * 1e3:.0f} ms CPU")
            print(f"{name}: ranked list page, 8 caps + {PAIRS} pairs + {MUST} must-fund: median "
                  f"{constrained[0] * 1e3:.0f} ms wall, {constrained[1] * 1e3:.0f} ms CPU; ratio "
                  f"{constrained[0] / base[0]:.2f} (wall), {constrained[1] / base[1]:.2f} (CPU)")
            with app.app_context():
                set_selection(session_id, "optimal")
            from participation.review import stability as stability_jobs

            def cold_page():
                stability_jobs.SELECTIONS = stability_jobs.SelectionMemo()  # as after any change of the figures
                page()

            for label, call in (("first view after a change", cold_page), ("views while nothing changes", page)):
                optimal_page = timed(call, args.runs)
                print(f"{name}: ranked list page, the same constraints, optimal selection (stability left to the "
                      f"worker), {label}: median {optimal_page[0] * 1e3:.0f} ms wall, "
                      f"{optimal_page[1] * 1e3:.0f} ms CPU; ratio {optimal_page[0] / base[0]:.2f} (wall) against "
                      f"the unconstrained greedy page")
            with app.app_context():
                job = stability_job(session_id, min(args.runs, 3))
            print(f"{name}: the worker's stability job (20 exact programs): median {job[0]:.1f} s wall, "
                  f"{job[1]:.1f} s CPU")
            with app.app_context():
                set_selection(session_id, "greedy")
                for label, (wall, cpu) in selection_times(session_id, args.runs).items():
                    print(f"{name}: select_within_budget {label}: median {wall * 1e3:.1f} ms wall, "
                          f"{cpu * 1e3:.1f} ms CPU")
                from participation.extensions import db

                db.session.remove()
                db.engine.dispose()
            print(f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
