"""Benchmark near-duplicate clustering of proposals ("joint proposals", issue 14).

Usage: .venv/bin/python benchmarks/clusters.py [--runs 7] [--n 2000]

Synthetic Indonesian-like proposals: titles of 4–8 and descriptions of 20–40 words drawn from a
planning vocabulary, one in twenty a rewording (words shuffled, one dropped) of an earlier one.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._machine import cpu_model  # noqa: E402
from participation.proposals.clusters import near_duplicate_clusters  # noqa: E402

WORDS = ("pelatihan pemasaran digital umkm kuliner pengadaan mesin jahit penjahit rumahan perbaikan saluran air "
         "pasar tradisional sertifikasi halal produk makanan ringan gerobak etalase kemasan label izin edar "
         "kelompok usaha bersama koperasi modal kerja peralatan dapur oven freezer kulkas toko daring foto "
         "media sosial kelurahan kecamatan warga ibu rumah tangga pemuda karang taruna bengkel motor las "
         "sablon kaos batik tenun kerajinan bambu rotan anyaman pupuk organik kompos hidroponik sayur ikan "
         "lele kolam terpal pakan ternak ayam kambing susu kedelai tahu tempe keripik singkong pisang").split()


def proposals(n: int, seed: int = 14) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    titles, descriptions = [], []
    for index in range(n):
        if index >= 20 and rng.random() < 0.05:
            source = rng.randrange(index)
            title_words = titles[source].split()
            description_words = descriptions[source].split()
            rng.shuffle(title_words)
            del description_words[rng.randrange(len(description_words))]
            titles.append(" ".join(title_words))
            descriptions.append(" ".join(description_words))
        else:
            titles.append(" ".join(rng.choices(WORDS, k=rng.randint(4, 8))).capitalize())
            descriptions.append(" ".join(rng.choices(WORDS, k=rng.randint(20, 40))) + ".")
    return titles, descriptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    titles, descriptions = proposals(args.n)
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}; "
          f"load average before: {os.getloadavg()[0]:.1f}")
    wall, cpu = [], []
    for _ in range(args.runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        clusters = near_duplicate_clusters(titles, descriptions)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    median = statistics.median(wall)
    print(f"| `near_duplicate_clusters` | {args.n:,} proposals, {len(clusters)} clusters found | "
          f"{median * 1e3:.0f} ms | {statistics.median(cpu) * 1e3:.0f} ms | "
          f"≤ 2 s ({'met' if median <= 2 else 'MISSED'}) |")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
