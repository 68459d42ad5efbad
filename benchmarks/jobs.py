"""Benchmark: heavy work off the request path (issue 17, finding 4).

A planner uploads a 15,000-row proposal file and a facilitator asks for the invitation letters of
1,500 invited businesses, through gunicorn (2 workers) with one `flask run-jobs` worker beside it,
as `make run` serves. Both become background jobs; their pages are polled until done. Meanwhile
other users' requests run without pause: an anonymous visitor reading the public results, an
owner opening their proposal list, and another owner saving a draft in an open session (a write,
which on SQLite needs the one write lock). Their latencies are compared with the same requests
while the server is idle, measured in the same run.

Usage: .venv/bin/python benchmarks/jobs.py [--rows 15000] [--letters 1500] [--postgres URL]
"""
from __future__ import annotations

import argparse
import csv
import http.client
import io
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
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._machine import cpu_model  # noqa: E402
from benchmarks.load import Server  # noqa: E402

PASSWORD = "Ketan-Serundeng-4471"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the staff accounts' authenticator, enrolled by seed()
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
BUSINESSES = 5_000


def seed(letters: int) -> dict:
    """In a subprocess with the server's environment: a session in review, businesses, staff, an owner."""
    from datetime import timedelta

    from participation import create_app
    from participation.auth.services import create_user, register_owner
    from participation.events import Actor
    from participation.extensions import db
    from participation.intake.services import add_invitations
    from participation.models import Business, Role, SessionStatus, utcnow
    from participation.sessions import services as sessions

    app = create_app()
    with app.app_context():
        actor = Actor.cli()
        planner = create_user(actor, role=Role.PLANNER, email="perencana@contoh.id", name="Perencana", password=PASSWORD)
        facilitator = create_user(actor, role=Role.FACILITATOR, email="fasilitator@contoh.id", name="Fasilitator",
                                  password=PASSWORD)
        now = utcnow()
        themed_session = sessions.create_session(
            {"title": "Musrenbang Tematik IKM", "fiscal_year": 2027, "budget_ceiling": 5_000_000_000,
             "submission_opens_at": now - timedelta(days=3), "submission_closes_at": now + timedelta(days=3),
             "max_proposals_per_business": 10}, Actor.cli(planner))
        sessions.add_member(themed_session, facilitator, Actor.cli(planner))
        from participation.auth.two_factor import encrypt_secret
        from participation.models import StaffTotp

        # Staff sign in with a second factor: enrolled here as if each had scanned the QR code.
        db.session.add_all([StaffTotp(user_id=user.id, secret=encrypt_secret(TOTP_SECRET), confirmed_at=now)
                            for user in (planner, facilitator)])
        owner = register_owner(actor, email="pemilik@contoh.id", password=PASSWORD, name="Pemilik", profile={
            "nib": "3300000099999", "name": "Usaha Pemilik", "kbli": ["10794"], "scale": "mikro", "legal_form": None,
            "capital": None, "annual_turnover": None, "workforce_men": 1, "workforce_women": 1, "address": "",
            "kelurahan": "Sukamaju", "kecamatan": "Sukamaju", "phone": "+6281234567890", "cert_halal": False,
            "cert_pirt": False, "cert_sni": False})
        businesses = []
        for index in range(BUSINESSES):
            business = Business(owner_name=f"Pemilik {index}", nib=f"{3300000000000 + index:013d}", scale="mikro",
                                kelurahan="Sukamaju", kecamatan="Sukamaju", phone="+6281234567890")
            business.set_name(f"Usaha Uji {index}")
            business.kbli_list = ["10794"]
            businesses.append(business)
        db.session.add_all(businesses)
        db.session.flush()
        add_invitations(themed_session, [b.id for b in businesses[:letters]], Actor.cli(facilitator))
        themed_session.status = SessionStatus.REVIEW
        # A second, open session where another owner keeps editing a draft while the jobs run.
        open_session = sessions.create_session(
            {"title": "Musrenbang Tematik Kuliner", "fiscal_year": 2027, "budget_ceiling": 1_000_000_000,
             "submission_opens_at": now - timedelta(days=3), "submission_closes_at": now + timedelta(days=3),
             "max_proposals_per_business": 3}, Actor.cli(planner))
        open_session.status = SessionStatus.OPEN
        writer = register_owner(actor, email="penulis@contoh.id", password=PASSWORD, name="Penulis", profile={
            "nib": "3300000099998", "name": "Usaha Penulis", "kbli": ["10794"], "scale": "mikro", "legal_form": None,
            "capital": None, "annual_turnover": None, "workforce_men": 1, "workforce_women": 1, "address": "",
            "kelurahan": "Sukamaju", "kecamatan": "Sukamaju", "phone": "+6281234567891", "cert_halal": False,
            "cert_pirt": False, "cert_sni": False})
        from participation.proposals.services import create_proposal

        draft = create_proposal(open_session, writer.business, {"title": "Draf mesin pengemas"}, Actor.cli(writer),
                                submit=False)
        db.session.commit()
        return {"session": themed_session.id, "categories": [c.name for c in themed_session.categories],
                "owner": owner.id, "draft": draft.id,
                "draft_category": open_session.categories[0].id}


def proposal_file(rows: int, categories: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["nib", "nama_usaha", "judul", "masalah", "deskripsi", "kategori", "perkiraan_biaya",
                     "penerima_manfaat", "tenaga_kerja_baru"])
    for row in range(rows):
        index = row % BUSINESSES
        writer.writerow([f"{3300000000000 + index:013d}", f"Usaha Uji {index}",
                         f"Usulan {['mesin', 'pelatihan', 'pemasaran', 'modal'][row % 4]} nomor {row}",
                         "Masalah produksi yang belum teratasi", "Deskripsi usulan dan rencana pelaksanaan",
                         categories[row % len(categories)], (row % 97 + 1) * 1_000_000, row % 50 + 1, row % 10])
    return out.getvalue().encode()


class Client:
    """A browser: a cookie jar, urlencoded and multipart forms, timed requests."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}

    def send(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if content_type:
            headers["Content-Type"] = content_type
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        start = time.perf_counter()
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        seconds = time.perf_counter() - start
        connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.update((name, morsel.value) for name, morsel in SimpleCookie(header).items())
        self.cookies = {k: v for k, v in self.cookies.items() if v}
        return response.status, response.headers.get("Location", ""), text, seconds

    def token(self, path: str) -> str:
        return CSRF.search(self.send("GET", path)[2]).group(1)

    def post(self, path: str, form: dict, token_from: str | None = None):
        form = {"csrf_token": self.token(token_from or path), **form}
        return self.send("POST", path, urlencode(form).encode(), "application/x-www-form-urlencoded")

    def upload(self, path: str, filename: str, data: bytes):
        boundary = secrets.token_hex(16)
        token = self.token(path)
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'.encode(),
                 f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f'Content-Type: text/csv\r\n\r\n'.encode() + data + b"\r\n", f"--{boundary}--\r\n".encode()]
        return self.send("POST", path, b"".join(parts), f"multipart/form-data; boundary={boundary}")

    def login(self, email: str, staff: bool = False) -> None:
        status, location, _t, _s = self.post("/masuk", {"email": email, "password": PASSWORD})
        assert status == 303, status
        if staff:  # the second step, with a code from the secret seed() enrolled
            import pyotp

            status = self.post("/masuk/verifikasi", {"code": pyotp.TOTP(TOTP_SECRET).now()})[0]
            assert status == 303, status


def follow(client: Client, location: str) -> dict:
    """Poll a job's page until it is finished; its duration and the progress figures seen."""
    path = location.replace(f"http://127.0.0.1:{client.port}", "")
    start, seen = time.perf_counter(), []
    while True:
        _status, _loc, text, _s = client.send("GET", path)
        match = re.search(r'<progress[^>]*max="(\d+)"[^>]*value="(\d*)"', text)
        if match:
            seen.append(match.group(2))
        if "data-job-status" not in text:
            done = "alert-success" in text
            return {"seconds": time.perf_counter() - start, "ok": done, "progress": seen, "path": path,
                    "text": re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))[-600:] if not done else ""}
        time.sleep(1)


def probe(port: int, owner: Client, session_id: int, stop: threading.Event, out: list) -> None:
    """Other users' requests, one after another: the public results and an owner's proposal list."""
    visitor = Client(port)
    while not stop.is_set():
        for client, path in ((visitor, "/hasil"), (visitor, "/"), (owner, "/usulan/")):
            status, _l, _t, seconds = client.send("GET", path)
            out.append((path, status, seconds))


def write_probe(writer: Client, world: dict, stop: threading.Event, out: list) -> None:
    """Another owner saving their draft again and again: the time of each POST (a database write)."""
    path, turn = f"/usulan/{world['draft']}/ubah", 0
    while not stop.is_set():
        turn += 1
        status, _l, _t, seconds = writer.post(path, {
            "title": f"Draf mesin pengemas {turn}", "problem": "Pengemasan manual lambat",
            "description": "Mesin pengemas untuk kelompok usaha", "category_id": world["draft_category"],
            "estimated_cost": "25000000", "beneficiaries": "12", "jobs_created": "2", "kelurahan": "Sukamaju",
            "kecamatan": "Sukamaju", "action": "save"})
        out.append((path, status, seconds))
        time.sleep(0.2)


def summarise(samples: list) -> dict:
    times = [s for _p, _st, s in samples]
    bad = sum(1 for _p, st, _s in samples if st >= 500)
    return {"n": len(times), "p50": statistics.median(times), "p95": sorted(times)[int(0.95 * (len(times) - 1))],
            "max": max(times), "over_1s": sum(t > 1 for t in times), "5xx": bad,
            "statuses": dict(Counter(st for _p, st, _s in samples))}


def run(database_url: str, args, tmp: Path) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp / "instance"),
           "FLASK_SECRET_KEY": secrets.token_hex(32), "APP_ENV": "development"}
    flask = [str(ROOT / ".venv/bin/flask"), "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    seeded = subprocess.run([str(ROOT / ".venv/bin/python"), "-c",
                             f"import json, benchmarks.jobs as b; print(json.dumps(b.seed({args.letters})))"],
                            cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    import json

    world = json.loads(seeded.stdout.strip().splitlines()[-1])
    data = proposal_file(args.rows, world["categories"])
    server = Server("app:app", env, 2, tmp / "gunicorn.log")
    server.start()
    worker = subprocess.Popen([*flask, "run-jobs", "--poll", "0.5"], cwd=ROOT, env=env,
                              stdout=open(tmp / "worker.log", "w"), stderr=subprocess.STDOUT)
    try:
        owner, planner, facilitator = Client(server.port), Client(server.port), Client(server.port)
        writer = Client(server.port)
        writer.login("penulis@contoh.id")
        owner.login("pemilik@contoh.id")
        planner.login("perencana@contoh.id", staff=True)
        facilitator.login("fasilitator@contoh.id", staff=True)
        sid = world["session"]
        idle, busy, idle_writes, busy_writes = [], [], [], []
        stop = threading.Event()
        threads = [threading.Thread(target=probe, args=(server.port, owner, sid, stop, idle)),
                   threading.Thread(target=write_probe, args=(writer, world, stop, idle_writes))]
        for thread in threads:
            thread.start()
        time.sleep(args.idle_seconds)
        stop.set()
        for thread in threads:
            thread.join()

        stop = threading.Event()
        threads = [threading.Thread(target=probe, args=(server.port, owner, sid, stop, busy)),
                   threading.Thread(target=write_probe, args=(writer, world, stop, busy_writes))]
        for thread in threads:
            thread.start()
        status, location, _t, upload_seconds = planner.upload(f"/sesi/{sid}/impor-usulan", "usulan.csv", data)
        assert status == 303 and "/tugas/" in location, (status, location)
        imported = follow(planner, location)
        status, location, _t, queue_seconds = facilitator.post(f"/sesi/{sid}/dokumen/undangan.pdf", {},
                                                                token_from=f"/sesi/{sid}/dokumen/undangan.pdf")
        assert status == 303 and "/tugas/" in location, (status, location)
        printed = follow(facilitator, location)
        pdf = facilitator.send("GET", printed["path"] + "/unduh")
        stop.set()
        for thread in threads:
            thread.join()
        return {"import": imported, "upload_seconds": upload_seconds, "print": printed,
                "queue_seconds": queue_seconds, "pdf_bytes": len(pdf[2]), "idle": summarise(idle),
                "busy": summarise(busy), "idle_writes": summarise(idle_writes),
                "busy_writes": summarise(busy_writes)}
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=15_000)
    parser.add_argument("--letters", type=int, default=1_500)
    parser.add_argument("--idle-seconds", type=float, default=15)
    parser.add_argument("--postgres", default="", help="an empty PostgreSQL database to run on as well")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    targets = ([] if args.skip_sqlite else [("SQLite", None)]) + ([("PostgreSQL", args.postgres)] if args.postgres else [])
    for label, url in targets:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            database_url = url or f"sqlite:///{tmp / 'app.db'}"
            result = run(database_url, args, tmp)
        imp, prn, idle, busy = result["import"], result["print"], result["idle"], result["busy"]
        print(f"\n{label}")
        print(f"  import of {args.rows} rows: upload answered in {result['upload_seconds']:.2f} s, job done "
              f"in {imp['seconds']:.1f} s (ok={imp['ok']}), progress seen: {', '.join(imp['progress'][:12])}")
        print(f"  invitations for {args.letters}: queued in {result['queue_seconds']:.2f} s, job done in "
              f"{prn['seconds']:.1f} s (ok={prn['ok']}), PDF {result['pdf_bytes'] / 1e6:.1f} MB")
        for name, s in (("idle", idle), ("during the jobs", busy), ("idle, draft saves", result["idle_writes"]),
                        ("during the jobs, draft saves", result["busy_writes"])):
            print(f"  other users' requests {name}: n={s['n']}, median {s['p50'] * 1000:.0f} ms, "
                  f"p95 {s['p95'] * 1000:.0f} ms, max {s['max'] * 1000:.0f} ms, over 1 s: {s['over_1s']}, "
                  f"5xx: {s['5xx']}, statuses: {s['statuses']}")
        if not imp["ok"] or not prn["ok"]:
            print("  job page:", imp["text"] or prn["text"])


if __name__ == "__main__":
    main()
