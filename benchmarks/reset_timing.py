"""Benchmark: does the answer time of "Lupa kata sandi?" tell whether an address has an account?

Usage: .venv/bin/python benchmarks/reset_timing.py [--requests 400] [--owners 200] [--postgres URL]

One migrated database (a SQLite file, or with --postgres a scratch PostgreSQL database dropped
afterwards) holds --owners business owners. The app runs in process (Flask's test client: the
whole request, routing, form, limits, audit row, outbox row and commit, without a network in
between to add noise). --requests POSTs to /lupa-kata-sandi alternate, in a shuffled order, between
an address that has an account and one that has none (each address used once, so no limit is met;
the limits are raised only so that the run is not refused from its one IP). `--floor 0` measures
the work alone; by default the shipped minimum answer time applies. Each answer is checked
(303 to /lupa-kata-sandi/terkirim). Reported per path: median, 10th and 90th percentile, and the
difference of the medians with a bootstrap 95 % interval.

No mail is sent in the request on either path (the worker sends it later), and no password is
hashed: the known path adds one notification row to the same transaction.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._machine import cpu_model  # noqa: E402


def build(database_url: str, owners: int, floor: float | None):
    from flask_migrate import upgrade

    from participation import create_app
    from participation.extensions import db
    from participation.models import Role, User, utcnow

    from datetime import timedelta

    from participation.config import Config

    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False,
                      "RESET_REQUEST_LIMIT": 10**6, "RESET_REQUEST_IP_LIMIT": 10**6,
                      "PASSWORD_RESET_MIN_ANSWER_TIME": (timedelta(milliseconds=floor) if floor is not None
                                                         else Config.PASSWORD_RESET_MIN_ANSWER_TIME)})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.session.add_all(User(email=f"pemilik{n:04d}@contoh.id", name=f"Pemilik {n}", role=Role.PROPONENT,
                                password_hash="x", email_verified_at=utcnow()) for n in range(owners))
        db.session.commit()
    return app


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bootstrap_difference(known: list[float], unknown: list[float], rounds: int = 2000) -> tuple[float, float]:
    rng = random.Random(7)
    differences = sorted(statistics.median(rng.choices(known, k=len(known)))
                         - statistics.median(rng.choices(unknown, k=len(unknown))) for _ in range(rounds))
    return differences[int(0.025 * rounds)], differences[int(0.975 * rounds)]


def run(app, requests: int, owners: int) -> dict[str, list[float]]:
    client = app.test_client()
    plan = ["known", "unknown"] * (requests // 2)
    random.Random(42).shuffle(plan)
    counters = {"known": 0, "unknown": 0}
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for _ in range(20):  # warm up: templates compiled, connections open
        client.post("/lupa-kata-sandi", data={"email": f"pemanasan{_}@contoh.id"})
    for path in plan:
        number = counters[path]
        counters[path] += 1
        email = (f"pemilik{number % owners:04d}@contoh.id" if path == "known"
                 else f"tidak.ada{number:04d}@contoh.id")
        started = time.perf_counter()
        response = client.post("/lupa-kata-sandi", data={"email": email})
        elapsed = time.perf_counter() - started
        assert response.status_code == 303 and response.headers["Location"] == "/lupa-kata-sandi/terkirim"
        times[path].append(elapsed * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--owners", type=int, default=200)
    parser.add_argument("--floor", type=float, default=None,
                        help="PASSWORD_RESET_MIN_ANSWER_TIME in ms (default: the shipped value; 0: the work alone)")
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a scratch database is made and dropped")
    args = parser.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"database: {'PostgreSQL' if args.postgres else 'SQLite file'}")
    scratch = None
    if args.postgres:
        import psycopg

        scratch = f"mt_reset_bench_{random.randrange(10**6)}"
        with psycopg.connect(args.postgres, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{scratch}"')
        base = args.postgres.rsplit("/", 1)[0]
        database_url = f"{base}/{scratch}".replace("postgresql://", "postgresql+psycopg://", 1)
    else:
        directory = tempfile.mkdtemp(prefix="reset-bench-")
        database_url = f"sqlite:///{directory}/bench.db"
    try:
        app = build(database_url, args.owners, args.floor)
        floor_ms = app.config["PASSWORD_RESET_MIN_ANSWER_TIME"].total_seconds() * 1000
        print(f"PASSWORD_RESET_MIN_ANSWER_TIME: {floor_ms:.0f} ms")
        times = run(app, args.requests, args.owners)
        with app.app_context():
            from participation.extensions import db

            db.engine.dispose()
    finally:
        if scratch:
            with psycopg.connect(args.postgres, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    for path in ("known", "unknown"):
        values = times[path]
        print(f"{path:8} n={len(values)}  median {statistics.median(values):6.2f} ms  "
              f"p10 {percentile(values, 0.1):6.2f}  p90 {percentile(values, 0.9):6.2f}")
    low, high = bootstrap_difference(times["known"], times["unknown"])
    difference = statistics.median(times["known"]) - statistics.median(times["unknown"])
    print(f"known - unknown: median difference {difference:+.2f} ms "
          f"(95 % bootstrap interval {low:+.2f} .. {high:+.2f})")


if __name__ == "__main__":
    main()
