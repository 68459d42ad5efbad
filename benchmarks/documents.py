"""Benchmark the facilitator's PDFs: the four documents of the demo session, and minutes for 500 proposals.

Usage: .venv/bin/python benchmarks/documents.py [--runs 5]

Times whole requests through the Flask test client (routing, queries, ranking or snapshot, template,
WeasyPrint layout and PDF writing with embedded fonts), as medians. A one-page PDF rendered in the
same process is the baseline, so that runs on a noisy machine can be compared as ratios.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._machine import cpu_model  # noqa: E402
from benchmarks.review import PASSWORD, build  # noqa: E402

SLUGS = ("undangan", "acara", "daftar-hadir", "berita-acara")
LARGE = 500


def demo_app(tmp: Path):
    """The demo city (`flask seed-demo`) in a fresh SQLite file; the facilitator can sign in."""
    os.environ["INSTANCE_PATH"] = str(tmp / "instance-demo")
    from flask_migrate import upgrade

    from participation import create_app
    from participation.auth.passwords import hash_password
    from participation.demo import seed_demo
    from participation.extensions import db
    from participation.models import Role, User

    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/demo.db",
                      "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
        seed_demo()
        facilitator = db.session.scalar(db.select(User).where(User.role == Role.FACILITATOR))
        facilitator.password_hash = hash_password(PASSWORD)
        email = facilitator.email
        db.session.commit()
    return app, email


def signed_in(app, email: str):
    client = app.test_client()
    assert client.post("/masuk", data={"email": email, "password": PASSWORD}).status_code == 303
    return client


def timed(client, url: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200 and response.mimetype == "application/pdf", response.status_code
    return elapsed, response.data


def baseline(app) -> float:
    """One A4 page of text with the embedded font: WeasyPrint's fixed cost."""
    from participation.pdf import html_to_pdf

    with app.test_request_context():
        start = time.perf_counter()
        html_to_pdf('<link rel="stylesheet" href="/static/css/print.css"><p>Halaman uji</p>')
        return time.perf_counter() - start


def pages(body: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(body)).pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; medians of {args.runs} runs after one warm-up")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        app, email = demo_app(tmp)
        client = signed_in(app, email)
        urls = {slug: f"/sesi/1/dokumen/{slug}.pdf" for slug in SLUGS}
        for url in urls.values():
            timed(client, url)  # warm-up: fonts, templates, the ranking's imports
        per_document = {slug: [] for slug in SLUGS}
        totals, base = [], []
        sizes = {}
        for _ in range(args.runs):
            base.append(baseline(app))
            total = 0.0
            for slug, url in urls.items():
                elapsed, body = timed(client, url)
                per_document[slug].append(elapsed)
                sizes[slug] = pages(body)
                total += elapsed
            totals.append(total)
        one_page = statistics.median(base)
        print(f"baseline: one-page PDF median {one_page * 1e3:.0f} ms")
        for slug in SLUGS:
            median = statistics.median(per_document[slug])
            print(f"demo {slug}.pdf ({sizes[slug]} pages): median {median * 1e3:.0f} ms "
                  f"({median / one_page:.1f}x baseline)")
        total = statistics.median(totals)
        print(f"demo: all four documents: median {total:.2f} s (min {min(totals):.2f}, max {max(totals):.2f}; "
              f"{total / one_page:.1f}x baseline); goal <= 3 s")

        large_app, session_id, _criteria = build(f"sqlite:///{tmp}/large.db", tmp / "instance-large", LARGE)
        large = signed_in(large_app, "planner0@pemkot.example")
        url = f"/sesi/{session_id}/dokumen/berita-acara.pdf"
        timed(large, url)
        runs, base = [], []
        for _ in range(args.runs):
            base.append(baseline(large_app))
            elapsed, body = timed(large, url)
            runs.append(elapsed)
        median, one_page = statistics.median(runs), statistics.median(base)
        print(f"minutes for {LARGE} proposals ({pages(body)} pages): median {median:.2f} s "
              f"(min {min(runs):.2f}, max {max(runs):.2f}; {median / one_page:.1f}x baseline); goal <= 5 s")


if __name__ == "__main__":
    main()
