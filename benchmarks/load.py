"""Benchmark: owners submitting proposals through gunicorn under load, workers and server SIGKILLed.

Usage: .venv/bin/python benchmarks/load.py [--seconds 60] [--users 32] [--workers 4]
                                           [--postgres URL | --postgres ''] [--skip-kill]

Per database (a SQLite file, then a scratch PostgreSQL database, dropped afterwards): a bare
Flask app under the same gunicorn and clients as the baseline, then the real app, each run on a
fresh migrated database: steady; one worker SIGKILLed every 5 s; the whole server SIGKILLed once
half-way and restarted. Each client signs in as its own owner (not timed), then loops: GET the
new-proposal form, POST it with action=submit; one POST in ten is sent again with the same
idempotency key. A POST that meets a connection error is retried with the same key, as a
browser would. Afterwards the database is checked: lost, duplicated, receipt gaps.
"""
from __future__ import annotations

import argparse
import http.client
import itertools
import os
import platform
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._machine import cpu_model  # noqa: E402

PASSWORD = "Ketan-Serundeng-4471"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KEY = re.compile(r'name="idempotency_key"[^>]*value="([0-9a-f]{32})"')
CATEGORY = re.compile(r'<option[^>]*value="(\d+)"')
ACKED = re.compile(r"/usulan/(\d+)$")
POSTS = itertools.count(1)  # all clients' POSTs, so that exactly one in ten is replayed
PROFILE = {"kbli": ["10794"], "legal_form": None, "capital": None, "annual_turnover": None,
           "workforce_men": 1, "workforce_women": 2, "address": "Jl. Merdeka No. 1", "kelurahan": "Sukamaju",
           "kecamatan": "Sukamaju", "phone": "+6281234567890", "cert_halal": False, "cert_pirt": False,
           "cert_sni": False}
GRACE = 30  # seconds a POST is still retried after the run's end, so that its outcome is known


def seed(users: int) -> None:
    """In a subprocess with the server's environment: one open session and `users` owners."""
    from datetime import timedelta

    from participation import create_app
    from participation.auth.services import register_owner
    from participation.events import Actor
    from participation.extensions import db
    from participation.models import Scale, utcnow
    from participation.sessions.services import create_session, transition

    with create_app().app_context():
        now = utcnow()
        themed_session = create_session({
            "title": "Musrenbang Tematik Beban", "fiscal_year": now.year + 1, "budget_ceiling": 10**9,
            "submission_opens_at": now - timedelta(days=1), "submission_closes_at": now + timedelta(days=7),
            "max_proposals_per_business": 1_000_000}, Actor.cli())  # the per-business limit out of the way
        transition(themed_session, "open", Actor.cli())
        for i in range(users):
            profile = {**PROFILE, "name": f"Keripik Beban {i:03d}", "nib": f"{3200000000000 + i}",
                       "scale": Scale.MIKRO}
            register_owner(Actor.cli(), email=f"pemilik{i:03d}@beban.example", name=f"Pemilik Beban {i:03d}",
                           password=PASSWORD, profile=profile)
        db.session.commit()
        print(themed_session.id, themed_session.fiscal_year)


class Server:
    """gunicorn in a process group of its own, so that master and workers die in one SIGKILL."""

    def __init__(self, module: str, env: dict, workers: int, log: Path):
        self.module, self.env, self.workers, self.log = module, env, workers, log
        with socket.socket() as probe:  # a free port, kept across restarts
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [str(ROOT / ".venv/bin/gunicorn"), "--workers", str(self.workers),
                 "--bind", f"127.0.0.1:{self.port}", self.module],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(300):
            try:  # a worker answered: the app is loaded, not just the socket bound
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        raise SystemExit(f"gunicorn did not start:\n{self.log.read_text()[-3000:]}")

    def worker_pids(self) -> list[int]:
        """The master's children now (it replaces killed ones, so ask every time)."""
        pid = self.process.pid
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def kill_all(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        time.sleep(0.2)  # the workers die of the same signal; let them go before rebinding

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


class Browser:
    """One owner's browser: a cookie jar and one connection per request (sync workers close it)."""

    def __init__(self, port: int, tally: dict):
        self.port, self.tally, self.cookies = port, tally, {}

    def send(self, method: str, path: str, form: dict | None = None, until: float = 0.0):
        """(status, Location, body); a connection error is retried with the same form until `until`."""
        while True:
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                       "Content-Type": "application/x-www-form-urlencoded"}
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                start = time.perf_counter()
                connection.request(method, path, form and urlencode(form), headers)
                response = connection.getresponse()
                body = response.read().decode("utf-8", "replace")
                seconds = time.perf_counter() - start
                break
            except (OSError, http.client.HTTPException):
                if time.monotonic() > until:
                    return None
                self.tally["retries"] += 1
                time.sleep(0.25)
            finally:
                connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.update((name, morsel.value) for name, morsel in SimpleCookie(header).items())
        self.cookies = {k: v for k, v in self.cookies.items() if v}  # an empty value deletes the cookie
        self.tally["statuses"][response.status] += 1
        if method == "POST" and path != "/masuk":
            self.tally["latencies"].append(seconds)
        return response.status, response.headers.get("Location", ""), body


def client(index: int, server: Server, session_id: int, clock: dict, barrier, tally: dict) -> None:
    """Sign in; then GET the form and POST it until the deadline, one POST in ten twice."""
    browser, path = Browser(server.port, tally), f"/usulan/baru/{session_id}"

    def sign_in(until: float) -> bool:
        while time.monotonic() < until:
            page = browser.send("GET", "/masuk", until=until)
            token = page and CSRF.search(page[2])
            answer = token and browser.send("POST", "/masuk", {
                "email": f"pemilik{index:03d}@beban.example", "password": PASSWORD,
                "csrf_token": token.group(1)}, until=until)
            if answer and answer[0] == 303:
                return True
            time.sleep(1)
        return False

    signed_in = sign_in(time.monotonic() + 600)  # 32 argon2 checks take seconds: not in the timed window
    barrier.wait()
    deadline = clock["deadline"]
    while signed_in and time.monotonic() < deadline:
        page = browser.send("GET", path, until=deadline)
        if page is None:
            break
        if "/masuk" in page[1]:  # signed out (should not happen): counted, then signed in again
            tally["signed_out"] += 1
            sign_in(deadline)
            continue
        token, key, category = (pattern.search(page[2]) for pattern in (CSRF, KEY, CATEGORY))
        if page[0] != 200 or not (token and key and category):
            continue
        form = {"csrf_token": token.group(1), "idempotency_key": key.group(1), "action": "submit",
                "title": f"Pelatihan pengemasan keripik {index}-{len(tally['acked'])}",
                "problem": "Kemasan mudah rusak.", "category_id": category.group(1),
                "description": "Pelatihan dan alat pengemas vakum untuk 20 pelaku usaha.",
                "estimated_cost": "25.000.000", "beneficiaries": "20", "jobs_created": "2",
                "kelurahan": "Sukamaju", "kecamatan": "Sukamaju"}
        ids = tally["acked"].setdefault(key.group(1), set())  # proposal ids the server answered with
        for _ in range(2 if next(POSTS) % 10 == 0 else 1):  # the second send is the replay
            answer = browser.send("POST", path, form, until=deadline + GRACE)
            match = answer and answer[0] == 303 and ACKED.search(answer[1])
            if match:
                ids.add(int(match.group(1)))


def chaos(server: Server, mode: str, clock: dict, events: list) -> None:
    """Kill a worker every 5 s, or the whole server once half-way and start it again."""
    if mode == "workers":
        while time.monotonic() + 5 < clock["deadline"]:
            time.sleep(5)
            if pids := server.worker_pids():
                os.kill(random.choice(pids), signal.SIGKILL)
                events.append("worker")
    else:
        time.sleep(max(0.0, (clock["start"] + clock["deadline"]) / 2 - time.monotonic()))
        server.kill_all()
        down = time.monotonic()
        server.start()
        events.append(f"server, down {time.monotonic() - down:.1f} s")


def load(server: Server, users: int, seconds: float, session_id: int, mode: str | None) -> dict:
    """Run the clients (and the chaos) against `server`; what they saw, merged."""
    clock, events = {}, []
    tallies = [{"statuses": Counter(), "latencies": [], "acked": {}, "retries": 0, "signed_out": 0}
               for _ in range(users)]
    # The clock starts once every client has signed in (the action runs before anyone goes on).
    barrier = threading.Barrier(users + 1, action=lambda: clock.update(
        start=time.monotonic(), deadline=time.monotonic() + seconds))
    threads = [threading.Thread(target=client, args=(i, server, session_id, clock, barrier, tallies[i]))
               for i in range(users)]
    for thread in threads:
        thread.start()
    barrier.wait()
    if mode:
        threads.append(threading.Thread(target=chaos, args=(server, mode, clock, events)))
        threads[-1].start()
    for thread in threads:
        thread.join()
    statuses, acked = sum((t["statuses"] for t in tallies), Counter()), {}
    for tally in tallies:
        acked.update(tally["acked"])  # keys are unique
    latencies = sorted(x * 1000 for t in tallies for x in t["latencies"]) or [float("nan")]
    acknowledged = sum(1 for ids in acked.values() if ids)
    return {"acked": acked, "events": events, "statuses": statuses, "acknowledged": acknowledged,
            "not_acknowledged": len(acked) - acknowledged, "throughput": acknowledged / seconds,
            "p50": statistics.median(latencies), "p95": latencies[int(0.95 * (len(latencies) - 1))],
            "5xx": sum(n for status, n in statuses.items() if status >= 500),
            "retries": sum(t["retries"] for t in tallies), "signed_out": sum(t["signed_out"] for t in tallies)}


def verify(database_url: str, acked: dict, fiscal_year: int) -> dict:
    """What the clients were told against what the database holds."""
    import sqlalchemy as sa

    from participation.config import normalize_database_url

    engine = sa.create_engine(normalize_database_url(database_url))
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT id, idempotency_key, status, receipt_number FROM proposals")).all()
    engine.dispose()
    by_id, per_key = {row.id: row for row in rows}, Counter(row.idempotency_key for row in rows)
    prefix = f"MT-{fiscal_year}-"
    numbers = [int(row.receipt_number[len(prefix):]) for row in rows
               if (row.receipt_number or "").startswith(prefix)]
    return {"stored": len(rows),
            # acknowledged but absent, or not the proposal of that key, or not submitted
            "lost": sum(1 for key, ids in acked.items() for i in ids if i not in by_id
                        or (by_id[i].idempotency_key, by_id[i].status) != (key, "submitted")),
            # one key answered with two proposals (a replay or retry made a second), or stored twice
            "duplicated": sum(len(ids) - 1 for ids in acked.values() if len(ids) > 1)
            + sum(n - 1 for n in per_key.values() if n > 1),
            # receipts must be exactly 1..N: holes plus repeated numbers
            "gaps": (max(numbers, default=0) - len(set(numbers))) + (len(numbers) - len(set(numbers))),
            "stored_unacknowledged": sum(1 for row in rows if not acked.get(row.idempotency_key))}


def app_run(kind: str, mode: str | None, args, tmp: Path) -> dict:
    """One run of the real app on a fresh database: migrate, seed, serve, load, verify, drop."""
    name = f"mt_load_{secrets.token_hex(4)}"
    database_url, drop = f"sqlite:///{tmp / name}.db", None
    if kind == "postgresql":
        import psycopg
        from sqlalchemy.engine import make_url

        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        database_url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    try:
        env = {**os.environ, "APP_ENV": "development", "FLASK_SECRET_KEY": secrets.token_urlsafe(48),
               "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp / f"instance-{name}"),
               # 32 owners behind one address submit far faster than the abuse limits allow.
               "SUBMISSION_LIMIT": "1000000000", "SUBMISSION_IP_LIMIT": "1000000000"}
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                       check=True, capture_output=True)
        seeded = subprocess.run([sys.executable, __file__, "--seed", str(args.users)], cwd=ROOT, env=env,
                                check=True, capture_output=True, text=True)
        session_id, fiscal_year = map(int, seeded.stdout.split()[-2:])
        server = Server("app:app", env, args.workers, tmp / f"{name}.log")
        server.start()
        try:
            result = load(server, args.users, args.seconds, session_id, mode)
        finally:
            server.stop()
        result.update(verify(database_url, result["acked"], fiscal_year))
        log = server.log.read_text()
        result["tracebacks"] = log.count("Traceback (most recent call last)")
        result["timeouts"] = log.count("WORKER TIMEOUT")  # a hung worker looks like a kill to the clients
        if result["tracebacks"] or result["timeouts"] or result["5xx"]:
            kept = ROOT / "test-artifacts" / f"load-{kind}-{mode or 'steady'}.log"
            kept.parent.mkdir(exist_ok=True)
            kept.write_text(log)
            print(f"    gunicorn's log, with {result['tracebacks']} tracebacks, kept in {kept}")
        return result
    finally:
        if drop:
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(drop)


def row(label: str, r: dict, base: dict) -> str:
    """One line of the Markdown table; ratios against the baseline measured just before."""
    checks = f"{r['lost']} | {r['duplicated']} | {r['gaps']}" if "lost" in r else "– | – | –"
    workers = r["events"].count("worker")
    kills = f"{workers} worker kills" if workers else ", ".join(r["events"]) or "–"
    return (f"| {label} | {r['acknowledged']} | {r['not_acknowledged']} | {checks} | {r['5xx']} | "
            f"{r['throughput']:.1f}/s | {r['p50']:.0f} / {r['p95']:.0f} ms | {r['p50'] / base['p50']:.1f}× / "
            f"{r['p95'] / base['p95']:.1f}× | {r['throughput'] / base['throughput']:.3f}× | "
            f"{r['retries']} | {kills} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="server for the scratch databases; '' for SQLite only")
    parser.add_argument("--skip-kill", action="store_true", help="only the steady runs")
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed:
        return seed(args.seed)
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}; "
          f"{args.users} clients, {args.workers} gunicorn sync workers, {args.seconds:g} s per run; "
          f"load average {os.getloadavg()[0]:.1f}")
    labels = {None: "steady", "workers": "worker SIGKILL every 5 s", "server": "server SIGKILL once"}
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ["sqlite"] + (["postgresql"] if args.postgres else []):
            bare = Server("benchmarks.bare_app:app", dict(os.environ), args.workers,
                          Path(tmp) / f"bare-{kind}.log")
            bare.start()
            try:
                base = load(bare, args.users, args.seconds, 1, None)
            finally:
                bare.stop()
            lines.append(row(f"{kind}: bare Flask (baseline)", base, base))
            print(lines[-1], flush=True)
            for mode in [None] + ([] if args.skip_kill else ["workers", "server"]):
                r = app_run(kind, mode, args, Path(tmp))
                lines.append(row(f"{kind}: app, {labels[mode]}", r, base))
                print(lines[-1], f"stored {r['stored']} (unacknowledged {r['stored_unacknowledged']}); "
                      f"statuses {dict(r['statuses'])}; signed out {r['signed_out']}; tracebacks "
                      f"{r['tracebacks']}; worker timeouts {r['timeouts']}; load {os.getloadavg()[0]:.1f}",
                      flush=True)
    print("\n| run | acknowledged | not acknowledged | lost | duplicated | receipt gaps | 5xx | throughput | "
          "p50 / p95 POST | × baseline p50 / p95 | × baseline throughput | connection retries | kills |")
    print("|---" * 13 + "|\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
