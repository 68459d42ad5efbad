"""The demo city's data: staff, business sectors, names, places and proposal ideas (domain words in
Indonesian), and the 45 business profiles drawn from them."""
from __future__ import annotations

import random

from participation.models import LegalForm, Role, Scale, derive_scale

SEED = 20270212
DOMAIN_STAFF = "pemkot.example"
DOMAIN_OWNERS = "ikm.example"

STAFF = [
    (Role.ADMIN, "Rina Kartikasari", "admin"),
    (Role.PLANNER, "Dedi Kurniawan", "dedi.kurniawan"),
    (Role.PLANNER, "Sri Wahyuni", "sri.wahyuni"),
    (Role.PLANNER, "Andi Saputra", "andi.saputra"),
    (Role.FACILITATOR, "Maya Lestari", "maya.lestari"),
]

# Sector → (KBLI codes, business-name patterns). Names are typical of IKM in Java and beyond.
SECTORS = {
    "makanan olahan": (["10794", "10710", "10799", "10391", "10392"],
                       ["Keripik {x}", "Roti {x}", "Tempe {x}", "Kue Kering {x}", "Sambal {x}"]),
    "minuman": (["11040", "10761", "10763"], ["Kopi {x}", "Wedang {x}", "Teh {x}"]),
    "wastra dan batik": (["13134", "13121", "14111"], ["Batik {x}", "Tenun {x}", "Konveksi {x}"]),
    "kerajinan": (["16292", "23931", "32120", "16291"], ["Anyaman {x}", "Gerabah {x}", "Aksesori {x}"]),
    "logam dan mesin": (["25111", "28250", "25930"], ["Bengkel Las {x}", "Teknik {x}", "Pande Besi {x}"]),
    "furnitur": (["31001", "31002"], ["Mebel {x}", "Furnitur {x}", "Rotan {x}"]),
    "kulit dan alas kaki": (["15121", "15201"], ["Tas Kulit {x}", "Sepatu {x}", "Sandal {x}"]),
    "kosmetik dan jamu": (["20232", "21022"], ["Jamu {x}", "Sabun {x}", "Herbal {x}"]),
}
NAME_WORDS = ["Sumber Rejeki", "Sekar Jagad", "Mekar Sari", "Sido Makmur", "Barokah", "Lestari",
              "Berkah Jaya", "Cahaya Abadi", "Maju Bersama", "Tunas Harapan", "Karya Mandiri",
              "Sri Rejeki", "Bu Tini", "Pak Darto", "Nusantara", "Mbok Sum", "Putra Jaya", "Arum Sari",
              "Gemilang", "Sentosa", "Rukun Makmur", "Mitra Usaha", "Wijaya", "Kencana"]
FIRST_NAMES = ["Siti", "Budi", "Agus", "Dewi", "Eko", "Fitri", "Hendra", "Indah", "Joko", "Kartini",
               "Lukman", "Nur", "Putri", "Rahmat", "Sari", "Teguh", "Umi", "Wahyu", "Yanti", "Bambang",
               "Ratna", "Slamet", "Endang", "Haryono", "Lilis", "Suparman", "Tuti", "Yusuf"]
LAST_NAMES = ["Aminah", "Santoso", "Prasetyo", "Rahayu", "Susanto", "Handayani", "Wibowo",
              "Lestari", "Hidayat", "Permata", "Nugroho", "Kusuma", "Setiawan", "Purnamasari",
              "Hartono", "Maulana", "Wulandari", "Firmansyah"]
PLACES = {
    "Sukamaju": ["Sukamaju", "Cibening", "Margasari"],
    "Tegalrejo": ["Tegalrejo", "Karangwaru", "Bener"],
    "Sidomulyo": ["Sidomulyo", "Purwosari", "Sumberejo", "Ngadirejo"],
    "Mekarsari": ["Mekarsari", "Jatimulya", "Cikarang Kidul"],
    "Karanganyar": ["Karanganyar", "Kauman", "Pandean"],
}


def demo_places() -> dict[str, list[str]]:
    """Kecamatan -> kelurahan names: the fictional city's, or with CITY_CODE that city's Kemendagri list."""
    from flask import has_app_context

    from participation.places import current_city

    city = current_city() if has_app_context() else None
    if city is None:
        return PLACES
    return {kecamatan.name: [kelurahan.name for kelurahan in kecamatan.kelurahan] for kecamatan in city.kecamatan}


def demo_place_code(kelurahan: str, kecamatan: str) -> str | None:
    """The kelurahan's code when CITY_CODE is set (the names come from `demo_places`), else None."""
    from flask import has_app_context

    from participation.places import current_city

    city = current_city() if has_app_context() else None
    return city.find_kecamatan(kecamatan).find(kelurahan).code if city is not None else None
STREETS = ["Jl. Merdeka", "Jl. Pahlawan", "Jl. Kenanga", "Jl. Melati", "Jl. Diponegoro",
           "Jl. Sudirman", "Gg. Mawar", "Jl. Kartini", "Jl. Gajah Mada", "Jl. Veteran"]
PASSWORD_WORDS = ["mangga", "rambutan", "pisang", "durian", "salak", "kelapa", "jambu", "nangka",
                  "pepaya", "sawo", "duku", "manggis", "belimbing", "sirsak", "markisa", "kedondong",
                  "merapi", "rinjani", "bromo", "semeru", "toba", "kerinci", "lawu", "sindoro"]

OWNER_COUNT = 45
DEMO_SESSION = {
    "title": "Musrenbang Tematik IKM",
    "theme": "Peningkatan Kualitas SDM IKM untuk Mendorong Pemulihan Ekonomi",
    "description": ("Forum tematik bagi pelaku industri kecil dan menengah untuk mengusulkan dukungan "
                    "yang perlu didanai kota pada tahun anggaran berikutnya."),
    "venue": "Aula Bappeda, Jl. Pahlawan No. 1",
    "max_proposals_per_business": 3,
    "invitation_only": True,
}
# Per category: (title pattern, cost range in millions, beneficiaries range, jobs range).
PROPOSAL_IDEAS = {
    "Bantuan peralatan": [("Bantuan mesin {x} untuk produksi", (25, 350), (5, 40), (1, 8)),
                          ("Pengadaan alat {x} bersama", (40, 300), (10, 60), (2, 10))],
    "Fasilitasi merek": [("Pendaftaran merek kolektif {x}", (10, 60), (10, 80), (0, 3)),
                         ("Desain kemasan dan merek {x}", (15, 80), (5, 40), (0, 4))],
    "Sertifikasi halal": [("Sertifikasi halal gratis untuk pelaku {x}", (15, 90), (15, 120), (0, 2)),
                          ("Pendampingan proses produk halal {x}", (10, 70), (10, 60), (0, 2))],
    "Pelatihan dan pendampingan": [("Pelatihan produksi {x} yang higienis", (20, 120), (20, 150), (1, 6)),
                                   ("Pendampingan manajemen usaha {x}", (15, 100), (15, 80), (0, 4))],
    "Promosi produk unggulan daerah": [("Pameran produk unggulan {x}", (30, 200), (20, 100), (2, 8)),
                                       ("Katalog digital produk {x}", (10, 60), (20, 90), (0, 3))],
    "Modal kerja usaha mikro": [("Modal kerja bergulir untuk {x}", (50, 400), (10, 70), (3, 15)),
                                ("Dana penguatan bahan baku {x}", (30, 250), (8, 50), (2, 10))],
    "Fasilitasi pemasaran": [("Pemasaran daring {x} lewat lokapasar", (10, 80), (15, 90), (1, 5)),
                             ("Kemitraan pemasaran {x} dengan ritel modern", (20, 120), (10, 60), (1, 6))],
    "Peningkatan kapasitas SDM": [("Pelatihan keterampilan tenaga kerja {x}", (20, 150), (20, 120), (2, 10)),
                                  ("Magang industri bagi pekerja {x}", (25, 180), (10, 50), (2, 12))],
}
SECTOR_WORDS = {
    "makanan olahan": "keripik dan makanan ringan", "minuman": "kopi dan minuman herbal",
    "wastra dan batik": "batik dan tenun", "kerajinan": "anyaman dan gerabah",
    "logam dan mesin": "logam dan bengkel las", "furnitur": "mebel kayu dan rotan",
    "kulit dan alas kaki": "tas dan sepatu kulit", "kosmetik dan jamu": "jamu dan kosmetik herbal",
}
PROBLEMS = [
    "Kapasitas produksi terbatas karena peralatan masih manual, sehingga pesanan besar sering ditolak.",
    "Produk belum memiliki izin dan sertifikat yang diminta toko modern dan pembeli luar daerah.",
    "Pemasaran masih dari mulut ke mulut; penjualan turun sejak pandemi dan belum pulih.",
    "Tenaga kerja belum terlatih sehingga mutu produk tidak seragam dan banyak produk cacat.",
    "Harga bahan baku naik dan modal kerja tidak cukup untuk membeli dalam jumlah besar.",
]


def demo_businesses(rng: random.Random) -> list[dict]:
    """45 business profiles, the same every time for the same seed."""
    profiles = []
    sectors = list(SECTORS.items())
    used_names = set()
    for index in range(OWNER_COUNT):
        sector, (kbli_codes, patterns) = sectors[index % len(sectors)]
        while True:
            name = rng.choice(patterns).format(x=rng.choice(NAME_WORDS))
            if name not in used_names:
                used_names.add(name)
                break
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        places = demo_places()
        kecamatan = rng.choice(sorted(places))
        capital = rng.choice([25, 40, 75, 120, 250, 400, 600, 900, 1500, 2500, 4000]) * 1_000_000
        legal = rng.choice([LegalForm.PERORANGAN, LegalForm.PERORANGAN, LegalForm.UD, LegalForm.CV])
        prefix = {LegalForm.UD: "UD ", LegalForm.CV: "CV "}.get(legal, "")
        codes = rng.sample(kbli_codes, k=1 if rng.random() < 0.7 else 2)
        profiles.append({
            "owner": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower()}{index + 1:02d}@{DOMAIN_OWNERS}",
            "name": prefix + name,
            "sector": sector,
            "nib": f"{rng.randrange(10**12, 10**13)}",
            "kbli": codes,
            "legal_form": legal,
            "capital": capital,
            "scale": derive_scale(capital, None) or Scale.MENENGAH,
            "workforce_men": rng.randint(0, 12),
            "workforce_women": rng.randint(1, 15),
            "address": f"{rng.choice(STREETS)} No. {rng.randint(1, 180)}",
            "kecamatan": kecamatan,
            "kelurahan": (kelurahan := rng.choice(places[kecamatan])),
            "kelurahan_code": demo_place_code(kelurahan, kecamatan),
            "phone": f"+628{rng.randint(11, 59)}{rng.randrange(10**7, 10**8)}",
            "cert_halal": sector in {"makanan olahan", "minuman", "kosmetik dan jamu"} and rng.random() < 0.6,
            "cert_pirt": sector in {"makanan olahan", "minuman"} and rng.random() < 0.7,
            "cert_sni": sector in {"logam dan mesin", "furnitur"} and rng.random() < 0.3,
        })
    return profiles
