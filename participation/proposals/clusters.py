"""Near-duplicate proposals across businesses ("joint proposals"): pure text matching, no models.

Two proposals are alike when the weighted mean of their title similarity and their description
similarity (RapidFuzz `token_sort_ratio`, 0–100, on text lower-cased and stripped of punctuation by
`rapidfuzz.utils.default_process`: word order does not matter, every word does) reaches the
threshold. A proposal without a description is compared on its title alone. Clusters are the
connected groups of alike pairs (single linkage: A like B and B like C put A, B and C together).

Speed: the titles of all proposals are compared at once (`rapidfuzz.process.cdist`, in C);
descriptions, which are longer, are compared only for the pairs whose titles are alike enough that
the weighted mean can still reach the threshold.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

THRESHOLD = 85.0
TITLE_WEIGHT = 0.5


def similarity(title_a: str, description_a: str, title_b: str, description_b: str) -> float:
    """How alike two proposals are, 0–100: the weighted mean of title and description similarity."""
    title = fuzz.token_sort_ratio(title_a, title_b, processor=default_process)
    if not _has_words(description_a) or not _has_words(description_b):
        return float(title)
    description = fuzz.token_sort_ratio(description_a, description_b, processor=default_process)
    return TITLE_WEIGHT * title + (1 - TITLE_WEIGHT) * description


def near_duplicate_clusters(titles: Sequence[str], descriptions: Sequence[str] | None = None,
                            threshold: float = THRESHOLD) -> list[list[int]]:
    """Groups of at least two indices whose proposals are alike (`similarity` ≥ `threshold`).

    Each cluster lists its indices ascending; clusters are ordered by their first index.
    """
    n = len(titles)
    if descriptions is None:
        descriptions = [""] * n
    if len(descriptions) != n:
        raise ValueError(f"descriptions has {len(descriptions)} entries but there are {n} titles")
    if not 0 <= threshold <= 100:
        raise ValueError(f"threshold must be between 0 and 100, not {threshold!r}")
    if n < 2:
        return []
    for name, texts in (("titles", titles), ("descriptions", descriptions)):
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"{name}[{index}] (row {index}) is {text!r}, not text")
    has_description = np.array([_has_words(text) for text in descriptions])
    # A pair with both descriptions reaches the threshold only if its title similarity is at least
    # (threshold − (1 − w)·100)/w; a pair without, only if the title alone reaches the threshold.
    title_floor = max(0.0, (threshold - (1 - TITLE_WEIGHT) * 100) / TITLE_WEIGHT)
    scores = process.cdist(titles, titles, scorer=fuzz.token_sort_ratio, processor=default_process,
                           score_cutoff=title_floor, dtype=np.float32, workers=1)
    first, second = np.nonzero(np.triu(scores >= title_floor, k=1))
    parent = list(range(n))
    for a, b in zip(first.tolist(), second.tolist()):
        if has_description[a] and has_description[b]:
            score = TITLE_WEIGHT * float(scores[a, b]) + (1 - TITLE_WEIGHT) * fuzz.token_sort_ratio(
                descriptions[a], descriptions[b], processor=default_process)
        else:
            score = float(scores[a, b])
        if score >= threshold:
            _union(parent, a, b)
    groups: dict[int, list[int]] = {}
    for index in range(n):
        groups.setdefault(_find(parent, index), []).append(index)
    return sorted((members for members in groups.values() if len(members) >= 2), key=lambda m: m[0])


def _has_words(text: str) -> bool:
    return bool(default_process(text or ""))


def _find(parent: list[int], index: int) -> int:
    while parent[index] != index:
        parent[index] = parent[parent[index]]
        index = parent[index]
    return index


def _union(parent: list[int], a: int, b: int) -> None:
    root_a, root_b = _find(parent, a), _find(parent, b)
    if root_a != root_b:
        parent[max(root_a, root_b)] = min(root_a, root_b)
