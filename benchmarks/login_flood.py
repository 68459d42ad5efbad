"""Benchmark: a login flood through gunicorn; the owner's way in, the spray, public page latency.

Usage: .venv/bin/python benchmarks/login_flood.py [--runs 3] [--idle 15] [--flood 30] [--workers 2]
                                                  [--attackers 2] [--rate 10] [--postgres URL]
                                                  [--app-dir DIR]

One database (a SQLite file, or with --postgres a scratch PostgreSQL database dropped afterwards)
is migrated and seeded once: a planner (the victim) and 30 owners, all with production-cost
argon2id hashes. The app runs as `make run` runs it (gunicorn, 2 sync workers, development
settings: the default limits and hashing slots). Each run starts with the throttle's table
emptied, then:

1. idle: one client GETs the public pages (/ and /hasil, alternately) for --idle seconds;
2. flood: --attackers clients POST wrong passwords to /masuk, each from its own address in its
   own /24 (127.0.1x.1; sources bound on the loopback), each --rate times a second (0: as fast as
   answers come): the even ones at the victim's account (the lockout attack), the odd ones
   spraying the 30 owners' accounts. The victim's account starts the flood locked (ten failures
   from the first attacker's address are written just before). The page client keeps measuring.
   A quarter into the flood the victim signs in with the right password from another network
   (127.1.0.5), following each 429/503 Retry-After (at most 5 s apart), until a 303 (or 60 s),
   and then types the code from the authenticator app (staff sign in with a second factor);
3. spray: afterwards, a fresh address (127.2.0.9) tries each of the 30 accounts once with a wrong
   password: how many are checked (401) before the refusals (429) begin.

The goal: the victim gets in, the spray is slowed after a handful of tries, and the public
pages' median during the flood stays within 2x of the idle median measured just before.
"""
from __future__ import annotations

import argparse
import http.client
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._machine import cpu_model  # noqa: E402
from benchmarks.load import Server  # noqa: E402

PASSWORD = "Ketan-Serundeng-4471-Lodeh"
WRONG = "Tebakan-Salah-0000"
VICTIM = "perencana@banjir.example"
OWNERS = [f"pemilik{i:02d}@banjir.example" for i in range(30)]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PAGES = ("/", "/hasil")
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the victim's authenticator app


def seed() -> None:
    """In a subprocess with the server's environment: the victim and 30 owners."""
    from participation import create_app
    from participation.auth.services import create_user
    from participation.events import Actor
    from participation.extensions import db
    from participation.models import Role, User

    with create_app().app_context():
        victim = create_user(Actor.cli(), email=VICTIM, name="Perencana Sasaran", role=Role.PLANNER,
                             password=PASSWORD)
        from participation.auth.two_factor import encrypt_secret
        from participation.models import StaffTotp, utcnow

        # The planner signs in with a second factor: enrolled as if the QR code had been scanned.
        db.session.add(StaffTotp(user_id=victim.id, secret=encrypt_secret(TOTP_SECRET), confirmed_at=utcnow()))
        for number, email in enumerate(OWNERS):
            # Every account the same production-cost hash, computed once (30 more would take a minute).
            db.session.add(User(email=email, name=f"Pemilik {number}", role=Role.PROPONENT,
                                password_hash=victim.password_hash))
        db.session.commit()


class Browser:
    """A cookie jar whose connections leave from one source address."""

    def __init__(self, port: int, source: str):
        self.port, self.source, self.cookies = port, source, {}

    def send(self, method: str, path: str, form: dict | None = None):
        """(status, headers, body, seconds)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120,
                                                source_address=(self.source, 0))
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                   "Content-Type": "application/x-www-form-urlencoded"}
        try:
            start = time.perf_counter()
            connection.request(method, path, form and urlencode(form), headers)
            response = connection.getresponse()
            body = response.read().decode("utf-8", "replace")
            seconds = time.perf_counter() - start
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.update((name, morsel.value) for name, morsel in SimpleCookie(header).items())
        self.cookies = {k: v for k, v in self.cookies.items() if v}
        return response.status, response.headers, body, seconds

    def sign_in(self, email: str, password: str, token: str | None = None):
        """POST the login form (with a token from GET /masuk unless given); the response."""
        token = token or CSRF.search(self.send("GET", "/masuk")[2]).group(1)
        return self.send("POST", "/masuk", {"email": email, "password": password, "csrf_token": token})


def probe(port: int, stop: threading.Event, latencies: list) -> None:
    """GET the public pages one after another until `stop`; milliseconds per answer."""
    browser = Browser(port, "127.0.0.1")
    for number in range(10**9):
        if stop.is_set():
            return
        status, _, _, seconds = browser.send("GET", PAGES[number % len(PAGES)])
        if status == 200:
            latencies.append(seconds * 1000)


def attack(port: int, index: int, rate: float, stop: threading.Event, tally: Counter) -> None:
    """Wrong passwords from one address: at the victim (even index) or spraying the owners (odd)."""
    browser = Browser(port, f"127.0.{10 + index}.1")
    token = CSRF.search(browser.send("GET", "/masuk")[2]).group(1)
    for number in range(10**9):
        if stop.is_set():
            return
        started = time.monotonic()
        email = VICTIM if index % 2 == 0 else OWNERS[number % len(OWNERS)]
        tally[browser.sign_in(email, WRONG, token)[0]] += 1
        if rate:
            time.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))


def victim_signs_in(port: int, result: dict) -> None:
    """The owner from another network, following Retry-After until signed in (or 60 s)."""
    browser, start, statuses = Browser(port, "127.1.0.5"), time.monotonic(), []
    while time.monotonic() - start < 60:
        status, headers, _, _ = browser.sign_in(VICTIM, PASSWORD)
        statuses.append(status)
        if status == 303:  # the password step passed; then the code from the authenticator app
            import pyotp

            token = CSRF.search(browser.send("GET", "/masuk/verifikasi")[2]).group(1)
            statuses.append(browser.send("POST", "/masuk/verifikasi",
                                         {"code": pyotp.TOTP(TOTP_SECRET).now(), "csrf_token": token})[0])
            break
        time.sleep(min(5.0, float(headers.get("Retry-After") or 1)))
    result.update(statuses=statuses, seconds=time.monotonic() - start)


def spray(port: int) -> list[int]:
    """A fresh address tries each owner's account once with a wrong password."""
    browser = Browser(port, "127.2.0.9")
    token = CSRF.search(browser.send("GET", "/masuk")[2]).group(1)
    return [browser.sign_in(email, WRONG, token)[0] for email in OWNERS]


def compact(statuses: list[int]) -> str:
    """[503, 503, 303], or the first five and a count of the rest."""
    if len(statuses) <= 5:
        return str(statuses)
    return f"{statuses[:5]} + {dict(Counter(statuses[5:]))}"


def one_run(port: int, args, database_url: str) -> dict:
    """Idle, flood (with the victim), spray; on an emptied throttle table."""
    import sqlalchemy as sa

    from participation.config import normalize_database_url

    engine = sa.create_engine(normalize_database_url(database_url))
    table = "rate_limit_hits" if "rate_limit_hits" in sa.inspect(engine).get_table_names() else "login_failures"
    with engine.begin() as connection:  # login_failures: the code before the abuse limits (--app-dir)
        connection.execute(sa.text(f"DELETE FROM {table}"))
        # The flood starts with the victim's account locked: the first attacker's ten failures.
        columns = ("scope, key, ip, created_at", "'login.account', :key, :ip, :at") if table == "rate_limit_hits" \
            else ("account_key, ip, created_at", ":key, :ip, :at")
        for _ in range(10):
            connection.execute(sa.text(f"INSERT INTO {table} ({columns[0]}) VALUES ({columns[1]})"),
                               {"key": VICTIM, "ip": "127.0.10.1",
                                "at": datetime.now(timezone.utc).replace(tzinfo=None)})
    engine.dispose()

    idle, flood = [], []
    stop = threading.Event()
    prober = threading.Thread(target=probe, args=(port, stop, idle))
    prober.start()
    time.sleep(args.idle)
    stop.set()
    prober.join()

    stop, tally, victim = threading.Event(), Counter(), {}
    attackers = [threading.Thread(target=attack, args=(port, i, args.rate, stop, tally))
                 for i in range(args.attackers)]
    prober = threading.Thread(target=probe, args=(port, stop, flood))
    for thread in attackers + [prober]:
        thread.start()
    time.sleep(args.flood / 4)
    owner = threading.Thread(target=victim_signs_in, args=(port, victim))
    owner.start()
    time.sleep(args.flood * 3 / 4)
    stop.set()
    for thread in attackers + [prober, owner]:
        thread.join()
    sprayed = spray(port)
    checked = next((n for n, status in enumerate(sprayed) if status != 401), len(sprayed))
    return {"idle": statistics.median(idle), "idle_n": len(idle), "flood": statistics.median(flood),
            "flood_n": len(flood), "idle_p95": sorted(idle)[int(0.95 * (len(idle) - 1))],
            "flood_p95": sorted(flood)[int(0.95 * (len(flood) - 1))], "attacks": dict(sorted(tally.items())),
            "victim": victim, "spray_checked": checked, "spray": Counter(sprayed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", type=float, default=15)
    parser.add_argument("--flood", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--attackers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=10, help="requests per second per attacker; 0: unpaced")
    parser.add_argument("--postgres", default="", help="a server for a scratch database instead of SQLite")
    parser.add_argument("--app-dir", type=Path, default=ROOT,
                        help="serve the app from another tree, e.g. `git archive HEAD` unpacked, to compare")
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed:
        sys.path.insert(0, os.environ["FLOOD_APP_DIR"])
        return seed()
    app_dir = args.app_dir.resolve()
    if app_dir != ROOT:
        import benchmarks.load

        benchmarks.load.ROOT = app_dir  # where Server runs gunicorn (app_dir/.venv may link to ours)
    print(f"app: {app_dir}; machine: {cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}; "
          f"gunicorn {args.workers} sync workers; {args.attackers} attackers at "
          f"{args.rate:g}/s each; idle {args.idle:g} s, flood {args.flood:g} s; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        name, drop = f"mt_flood_{secrets.token_hex(4)}", None
        database_url = f"sqlite:///{Path(tmp) / name}.db"
        if args.postgres:
            import psycopg
            from sqlalchemy.engine import make_url

            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            database_url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
            drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        try:
            env = {**os.environ, "APP_ENV": "development", "FLASK_SECRET_KEY": secrets.token_urlsafe(48),
                   "DATABASE_URL": database_url, "INSTANCE_PATH": str(Path(tmp) / "instance"),
                   "FLOOD_APP_DIR": str(app_dir)}
            subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=app_dir,
                           env=env, check=True, capture_output=True)
            subprocess.run([sys.executable, __file__, "--seed"], cwd=app_dir, env=env, check=True,
                           capture_output=True)
            server = Server("app:app", env, args.workers, Path(tmp) / "gunicorn.log")
            server.start()
            lines = []
            try:
                for run in range(1, args.runs + 1):
                    r = one_run(server.port, args, database_url)
                    victim = r["victim"]
                    line = (f"| {run} | {r['idle']:.1f} / {r['idle_p95']:.1f} ms ({r['idle_n']}) | "
                            f"{r['flood']:.1f} / {r['flood_p95']:.1f} ms ({r['flood_n']}) | "
                            f"{r['flood'] / r['idle']:.2f}x | {r['attacks']} | "
                            f"{'yes' if victim['statuses'][-1:] == [303] else 'NO'}, "
                            f"{victim['seconds']:.1f} s, {compact(victim['statuses'])} | "
                            f"{r['spray_checked']} checked, then {dict(r['spray'])} |")
                    lines.append(line)
                    print(line, f"load {os.getloadavg()[0]:.1f}", flush=True)
            finally:
                server.stop()
            log = server.log.read_text()
            print(f"tracebacks in gunicorn's log: {log.count('Traceback (most recent call last)')}; "
                  f"worker timeouts: {log.count('WORKER TIMEOUT')}")
        finally:
            if drop:
                with psycopg.connect(args.postgres, autocommit=True) as admin:
                    admin.execute(drop)
    print("\n| run | idle median / p95 (n) | flood median / p95 (n) | flood / idle median | attackers' answers "
          "| victim signed in, after, answers | spray from a fresh address |")
    print("|---" * 7 + "|\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
