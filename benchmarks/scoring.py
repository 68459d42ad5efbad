"""Benchmark the scoring library against pymcdm 1.4.0 and numpy baselines (issues 3 and 14).

Usage: OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/scoring.py [--runs 7] [--part all|engine|decisions]

`engine` is issue 3's (the 1,000,000 × 12 matrix); `decisions` is issue 14's (constrained
selection, rater agreement, standardized aggregation), which also prints CPU time and load.

Every comparison runs both sides in this process, alternating, and reports medians and the ratio.
Peak extra memory is measured with tracemalloc (numpy reports its allocations to it).
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._machine import cpu_model  # noqa: E402
from participation.scoring import (  # noqa: E402
    aggregate_ratings,
    contributions,
    rank,
    rank_stability,
    rating_agreement,
    saw,
    select_within_budget,
    topsis,
)

N, K = 1_000_000, 12


def median_time(function, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def alternating(ours, theirs, runs: int) -> tuple[float, float]:
    """Medians of both, measured turn about so that machine noise hits both alike."""
    mine, other = [], []
    for _ in range(runs):
        for bucket, function in ((mine, ours), (other, theirs)):
            start = time.perf_counter()
            function()
            bucket.append(time.perf_counter() - start)
    return statistics.median(mine), statistics.median(other)


def peak_extra_bytes(function) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    baseline = tracemalloc.get_traced_memory()[0]
    function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--part", choices=("all", "engine", "decisions"), default="all")
    args = parser.parse_args()
    if args.part in ("all", "engine"):
        engine(args.runs)
    if args.part in ("all", "decisions"):
        decisions(args.runs)


def engine(runs: int) -> None:
    """Issue 3: SAW, TOPSIS and rank on 1,000,000 × 12, selection and stability at 2,000."""
    from pymcdm.methods import TOPSIS, WSM
    from pymcdm.normalizations import minmax_normalization, vector_normalization

    rng = np.random.default_rng(2027)
    matrix = rng.uniform(1.0, 1000.0, size=(N, K))
    weights = rng.uniform(0.1, 1.0, K)
    weights /= weights.sum()
    directions = np.array([1, -1] * (K // 2))
    matrix_bytes = matrix.nbytes
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; numpy {np.__version__}, "
          f"Python {platform.python_version()}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"matrix {N:,} x {K} float64 = {matrix_bytes / 1e6:.0f} MB; medians of {runs} alternating runs\n")

    floor = median_time(lambda: matrix.sum(), runs)
    print(f"memory-bandwidth floor (one read pass, matrix.sum()): {floor * 1e3:.1f} ms\n")

    rows = []
    topsis_ref = TOPSIS(vector_normalization)
    ours, theirs = alternating(lambda: topsis(matrix, weights, directions),
                               lambda: topsis_ref(matrix, weights, directions, validation=False), runs)
    rows.append(("topsis", ours, "pymcdm TOPSIS(vector_normalization), validation=False", theirs, 0.25))
    wsm_ref = WSM(minmax_normalization)
    ours, theirs = alternating(lambda: saw(matrix, weights, directions),
                               lambda: wsm_ref(matrix, weights, directions, validation=False), runs)
    rows.append(("saw (minmax)", ours, "pymcdm WSM(minmax_normalization), validation=False", theirs, 0.10))
    scores = saw(matrix, weights, directions)
    ours, theirs = alternating(lambda: rank(scores), lambda: np.argsort(scores), runs)
    rows.append(("rank", ours, "bare np.argsort of the same scores", theirs, 2.0))

    print("| what | ours | reference | reference time | ratio | goal | passes of the floor |")
    print("|---|---|---|---|---|---|---|")
    for name, mine, reference, other, goal in rows:
        verdict = "met" if mine / other <= goal else "MISSED"
        print(f"| `{name}` | {mine * 1e3:.1f} ms | {reference} | {other * 1e3:.1f} ms | "
              f"{mine / other:.3f}× | ≤ {goal}× ({verdict}) | {mine / floor:.1f} |")
    extra = median_time(lambda: saw(matrix, weights, directions, "max"), runs)
    print(f"| `saw (max)` | {extra * 1e3:.1f} ms | – | – | – | – | {extra / floor:.1f} |")

    print("\n| peak extra memory | bytes | × matrix | goal |")
    print("|---|---|---|---|")
    for name, function, exempt in (
        ("saw (minmax)", lambda: saw(matrix, weights, directions), False),
        ("saw (max)", lambda: saw(matrix, weights, directions, "max"), False),
        ("topsis", lambda: topsis(matrix, weights, directions), False),
        ("rank", lambda: rank(scores), False),
        ("contributions (returns an n×k array)", lambda: contributions(matrix, weights, directions), True),
    ):
        peak = peak_extra_bytes(function)
        goal = "exempt (its output is n×k)" if exempt else ("≤ 1× (met)" if peak <= matrix_bytes else "≤ 1× (MISSED)")
        print(f"| `{name}` | {peak / 1e6:.1f} MB | {peak / matrix_bytes:.3f} | {goal} |")

    print("\n| what | size | median | goal |")
    print("|---|---|---|---|")
    small = np.random.default_rng(7)
    scores_2000 = small.random(2000)
    for label, costs in (
        ("round Rupiah costs (Rp5–500 million in whole millions)", small.integers(5, 501, 2000) * 1_000_000),
        ("arbitrary integer costs (gcd 1: no DP table)", small.integers(5_000_000, 500_000_001, 2000)),
    ):
        budget = int(costs.sum() // 3)
        elapsed = median_time(lambda c=costs, b=budget: select_within_budget(scores_2000, c, b, "optimal"), runs)
        print(f"| `select_within_budget(optimal)`, {label} | n = 2,000 | {elapsed * 1e3:.1f} ms | "
              f"≤ 2 s ({'met' if elapsed <= 2 else 'MISSED'}) |")
    stability_matrix = small.random((500, 8))
    stability_weights = small.random(8)
    stability_directions = [1, -1] * 4
    for method in ("saw", "topsis"):
        elapsed = median_time(lambda m=method: rank_stability(stability_matrix, stability_weights,
                                                              stability_directions, 50, method=m, draws=1000),
                              runs)
        print(f"| `rank_stability(method=\"{method}\")` | 500 × 8, 1,000 draws | {elapsed * 1e3:.1f} ms | "
              f"≤ 1 s ({'met' if elapsed <= 1 else 'MISSED'}) |")


def timed(function, runs: int) -> tuple[float, float]:
    """Median wall-clock and median CPU seconds (this process) of `runs` calls."""
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def planning_case(seed: int, caps: str, scores: str = "uniform"):
    """2,000 proposals, Rp5–500 million in whole millions, 8 categories, 50 exclusive pairs, 10 must-fund.

    `caps` "budget": each category capped at 20 % of the budget (a third of the total asked), so
    the budget binds and the strongest categories hit their caps; "category": each capped at a
    quarter of its own total, so the budget does not bind and all eight caps do (eight coupled
    knapsacks: the harder case for the solver).

    `scores` "uniform": uniform in [0, 1); "ratings": what a session gives, the SAW scores (min–max)
    of 7 criteria that are the mean of three planners' 1–5 ratings, random weights: thousands of
    near-equal scores, which make the exact program much harder to prove optimal.
    """
    rng = np.random.default_rng(seed)
    n = 2000
    if scores == "ratings":
        weights = rng.random(7)
        scores = saw(rng.integers(3, 16, size=(n, 7)) / 3.0, weights / weights.sum(), np.ones(7))
    else:
        scores = rng.random(n)
    costs = rng.integers(5, 501, n) * 1_000_000
    groups = rng.integers(0, 8, n)
    budget = int(costs.sum() // 3)
    if caps == "budget":
        group_caps = {label: budget // 5 for label in range(8)}
    else:
        group_caps = {label: int(costs[groups == label].sum() // 4) for label in range(8)}
    chosen = rng.permutation(n)
    exclusive = [chosen[2 * i: 2 * i + 2].tolist() for i in range(50)]
    must = np.zeros(n, dtype=bool)
    must[chosen[100:110]] = True
    return scores, costs, budget, dict(must=must, exclusive=exclusive, groups=groups, group_caps=group_caps)


def decisions(runs: int) -> None:
    """Issue 14: constrained selection, rating agreement and standardized aggregation."""
    import scipy

    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; numpy {np.__version__}, scipy {scipy.__version__}, "
          f"Python {platform.python_version()}; load average before: {os.getloadavg()[0]:.1f}")
    print(f"medians of {runs} runs; CPU = this process's CPU time (what a quiet machine's wall clock would be)\n")
    print("| what | size | wall median | CPU median | goal |")
    print("|---|---|---|---|---|")
    for kind in ("uniform", "ratings"):
        for caps, seeds in (("budget", (1, 2, 3)), ("category", (1, 2, 3))):
            for seed in seeds:
                scores, costs, budget, constraints = planning_case(seed, caps, kind)
                for method in ("optimal", "greedy"):
                    wall, cpu = timed(lambda m=method: select_within_budget(scores, costs, budget, m, **constraints),
                                      runs)
                    goal = f"≤ 1 s ({'met' if wall <= 1 else 'MISSED'})" if method == "optimal" else "–"
                    print(f"| `select_within_budget({method})`, {kind} scores, caps per {caps}, seed {seed} | 2,000; "
                          f"8 caps, 50 pairs, 10 must | {wall * 1e3:.0f} ms | {cpu * 1e3:.0f} ms | {goal} |")
    rng = np.random.default_rng(14)
    ratings = rng.integers(1, 6, size=(2000, 7, 3)).astype(float)
    ratings[rng.random(ratings.shape) < 0.1] = np.nan
    for level in ("ordinal", "interval", "nominal"):
        wall, cpu = timed(lambda lv=level: rating_agreement(ratings, lv), runs)
        print(f"| `rating_agreement(level=\"{level}\")` | 2,000 × 7 × 3, scale 1–5, 10 % not rated | "
              f"{wall * 1e3:.1f} ms | {cpu * 1e3:.1f} ms | ≤ 50 ms ({'met' if wall <= 0.05 else 'MISSED'}) |")
    wall, cpu = timed(lambda: aggregate_ratings(ratings, "standardized"), runs)
    print(f"| `aggregate_ratings(method=\"standardized\")` | 2,000 × 7 × 3 | {wall * 1e3:.1f} ms | "
          f"{cpu * 1e3:.1f} ms | – |")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
