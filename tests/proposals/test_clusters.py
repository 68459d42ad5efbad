"""Near-duplicate clusters of proposals across businesses (pure: no database)."""
from __future__ import annotations

import pytest
from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from participation.proposals.clusters import near_duplicate_clusters, similarity

TITLES = [
    "Pelatihan pemasaran digital untuk UMKM kuliner",  # 0
    "Pengadaan mesin jahit untuk penjahit rumahan",  # 1
    "Pelatihan Pemasaran Digital bagi UMKM Kuliner!",  # 2: 0 with other case, punctuation, one word
    "UMKM kuliner: pelatihan pemasaran digital",  # 3: 0's words in another order
    "Perbaikan saluran air pasar tradisional",  # 4
    "Pengadaan mesin jahit bagi penjahit rumahan",  # 5: like 1
    "Sertifikasi halal produk makanan ringan",  # 6
]
DESCRIPTIONS = [
    "Kelas tiga hari tentang foto produk, media sosial dan toko daring untuk warung makan.",
    "Sepuluh mesin jahit listrik untuk kelompok penjahit di kelurahan.",
    "Kelas tiga hari tentang foto produk, media sosial dan toko daring untuk warung makan",
    "",
    "Saluran di sisi timur pasar tersumbat dan meluap setiap hujan.",
    "Pembangunan gedung serbaguna dua lantai untuk kegiatan warga.",  # same title as 1, other content
    "",
]


def test_clusters_join_rewordings_across_businesses():
    assert near_duplicate_clusters(TITLES, DESCRIPTIONS) == [[0, 2, 3]]


def test_title_alone_when_descriptions_are_missing():
    # Without descriptions, 1 and 5 are alike by title; with them, their contents differ.
    assert near_duplicate_clusters(TITLES) == [[0, 2, 3], [1, 5]]
    assert similarity(TITLES[1], DESCRIPTIONS[1], TITLES[5], DESCRIPTIONS[5]) < 85


def test_similarity_is_the_weighted_mean_of_title_and_description():
    title = fuzz.token_sort_ratio(TITLES[1], TITLES[5], processor=default_process)
    description = fuzz.token_sort_ratio(DESCRIPTIONS[1], DESCRIPTIONS[5], processor=default_process)
    assert similarity(TITLES[1], DESCRIPTIONS[1], TITLES[5], DESCRIPTIONS[5]) == pytest.approx(
        0.5 * title + 0.5 * description)
    assert similarity("Jalan desa", "", "jalan DESA.", "apa saja") == 100.0


def test_linkage_is_transitive_and_the_threshold_decides():
    titles = ["pasar ikan segar", "pasar ikan segar baru", "pasar ikan baru", "gedung olahraga"]
    scores = [fuzz.token_sort_ratio(titles[a], titles[b], processor=default_process)
              for a, b in ((0, 1), (1, 2), (0, 2))]
    low = min(scores[:2])
    assert scores[2] < low  # 0 and 2 are less alike than either is to 1 ...
    assert near_duplicate_clusters(titles, threshold=low) == [[0, 1, 2]]  # ... but linked through it
    assert near_duplicate_clusters(titles, threshold=100) == []
    assert near_duplicate_clusters(["satu"]) == [] and near_duplicate_clusters([]) == []


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="descriptions has 1 entries but there are 2 titles"):
        near_duplicate_clusters(["a", "b"], ["x"])
    with pytest.raises(ValueError, match="threshold must be between 0 and 100"):
        near_duplicate_clusters(["a", "b"], threshold=120)
    with pytest.raises(ValueError, match=r"titles\[1\] \(row 1\) is None, not text"):
        near_duplicate_clusters(["a", None])
