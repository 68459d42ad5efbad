"""Benchmark: `flask import-businesses` on a generated 60,000-row file with realistic duplicates.

The file mimics a messy city registry (one city had 59,000 records for 47,000 businesses): about
a fifth of the rows repeat a business with its name written differently (case, punctuation,
CV/UD/PT prefixes) and sometimes another KBLI code; some NIBs hold two distinct businesses.

Each run imports into a fresh database through the real command, in a subprocess, and the wall
time is measured from outside. Usage:

    .venv/bin/python benchmarks/imports.py [--rows 60000] [--runs 3] [--postgres URL]
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._machine import cpu_model  # noqa: E402

HEADER = ["nib", "nama_usaha", "nama_pemilik", "kbli", "skala", "kelurahan", "kecamatan", "telepon",
          "alamat", "sertifikat"]
WORDS = ["Sumber", "Rejeki", "Makmur", "Jaya", "Abadi", "Sentosa", "Barokah", "Lestari", "Mandiri",
         "Sejahtera", "Mulia", "Indah", "Berkah", "Tunas", "Harapan", "Karya", "Sari", "Mekar"]
KINDS = ["Keripik", "Batik", "Mebel", "Tenun", "Kopi", "Jamu", "Bengkel", "Roti", "Sepatu", "Anyaman"]
KBLI = ["10794", "10710", "13134", "31001", "11040", "20232", "25111", "10392", "15201", "16292"]
PLACES = [("Sukamaju", "Sukamaju"), ("Kauman", "Karanganyar"), ("Bener", "Tegalrejo"),
          ("Purwosari", "Sidomulyo"), ("Jatimulya", "Mekarsari")]


def variant(name: str, rng: random.Random) -> str:
    """The same business name as another clerk would type it."""
    choice = rng.randrange(4)
    if choice == 0:
        return name.upper()
    if choice == 1:
        return "CV. " + name
    if choice == 2:
        return name.replace(" ", "  ") + "."
    return "ud " + name.lower()


def generate(path: Path, rows: int, seed: int = 2027) -> dict:
    """Write the file; returns how many distinct businesses it holds."""
    rng = random.Random(seed)
    distinct = int(rows * 0.79)
    businesses = []
    for index in range(distinct):
        nib = f"{3200000000000 + (index if index % 50 else index - 1):013d}"  # every 50th shares a NIB
        name = f"{rng.choice(KINDS)} {rng.choice(WORDS)} {rng.choice(WORDS)} {index}"
        businesses.append((nib, name))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for index in range(rows):
            if index < distinct:
                nib, name = businesses[index]
            else:
                nib, name = rng.choice(businesses)
                name = variant(name, rng)
            kelurahan, kecamatan = rng.choice(PLACES)
            writer.writerow([nib, name, f"Pemilik {index}", rng.choice(KBLI), rng.choice(["mikro", "kecil"]),
                             kelurahan, kecamatan, f"0812{rng.randrange(10**7, 10**8)}",
                             f"Jl. Merdeka No. {index % 300}", rng.choice(["", "halal", "pirt"])])
    return {"rows": rows, "distinct": distinct}


def run_once(csv_path: Path, database_url: str, instance: Path) -> float:
    env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), "APP_ENV": "development"}
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run(flask + ["db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    start = time.perf_counter()
    result = subprocess.run(flask + ["import-businesses", str(csv_path)], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(result.stderr[-2000:])
    print("   ", result.stdout.strip())
    return elapsed


def fresh_postgres(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    from sqlalchemy.engine import make_url

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv_path = tmp / "usaha.csv"
        shape = generate(csv_path, args.rows)
        print(f"{shape['rows']} rows, {shape['distinct']} distinct businesses, "
              f"{csv_path.stat().st_size / 1e6:.1f} MB; machine: {cpu_model()}, "
              f"{os.cpu_count()} cores, Python {platform.python_version()}")
        backends = {"sqlite": lambda run: f"sqlite:///{tmp}/run{run}.db"}
        if args.postgres:
            try:
                fresh_postgres(args.postgres, "mt_bench_probe")
                backends["postgresql"] = lambda run: fresh_postgres(args.postgres, f"mt_bench_{run}")
            except Exception as error:  # no server: SQLite only
                print(f"PostgreSQL not available ({error.__class__.__name__}); SQLite only")
        for name, make_url in backends.items():
            times = [run_once(csv_path, make_url(run), tmp / f"instance-{name}-{run}") for run in range(args.runs)]
            print(f"{name}: median {statistics.median(times):.1f} s over {args.runs} runs "
                  f"({', '.join(f'{t:.1f}' for t in times)})")


if __name__ == "__main__":
    main()
