"""`flask seed-demo`: a deterministic demo city, with fresh random passwords."""
from __future__ import annotations

import random
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from participation.auth.passwords import hash_password, password_problems
from participation.extensions import db
from participation.models import Business, LegalForm, Role, Scale, User, derive_scale

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
STREETS = ["Jl. Merdeka", "Jl. Pahlawan", "Jl. Kenanga", "Jl. Melati", "Jl. Diponegoro",
           "Jl. Sudirman", "Gg. Mawar", "Jl. Kartini", "Jl. Gajah Mada", "Jl. Veteran"]
PASSWORD_WORDS = ["mangga", "rambutan", "pisang", "durian", "salak", "kelapa", "jambu", "nangka",
                  "pepaya", "sawo", "duku", "manggis", "belimbing", "sirsak", "markisa", "kedondong",
                  "merapi", "rinjani", "bromo", "semeru", "toba", "kerinci", "lawu", "sindoro"]

OWNER_COUNT = 45


class DemoRefused(click.ClickException):
    """seed-demo will not run here."""


def fresh_password(email: str, name: str, role: Role) -> str:
    """A readable random password that meets the policy for `role`."""
    while True:
        words = [secrets.choice(PASSWORD_WORDS) for _ in range(4)]
        candidate = "-".join(words) + "-" + str(secrets.randbelow(90) + 10)
        if not password_problems(candidate, role=role, email=email, name=name):
            return candidate


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
        kecamatan = rng.choice(sorted(PLACES))
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
            "kelurahan": rng.choice(PLACES[kecamatan]),
            "phone": f"+628{rng.randint(11, 59)}{rng.randrange(10**7, 10**8)}",
            "cert_halal": sector in {"makanan olahan", "minuman", "kosmetik dan jamu"} and rng.random() < 0.6,
            "cert_pirt": sector in {"makanan olahan", "minuman"} and rng.random() < 0.7,
            "cert_sni": sector in {"logam dan mesin", "furnitur"} and rng.random() < 0.3,
        })
    return profiles


def seed_demo() -> list[tuple[str, str, str, str]]:
    """Fill an empty database with the demo city; returns (role, name, email, password) rows."""
    rng = random.Random(SEED)
    accounts = []
    for role, name, local in STAFF:
        email = f"{local}@{DOMAIN_STAFF}"
        password = fresh_password(email, name, role)
        db.session.add(User(email=email, name=name, role=role, password_hash=hash_password(password)))
        accounts.append((role.value, name, email, password))
    for profile in demo_businesses(rng):
        password = fresh_password(profile["email"], profile["owner"], Role.PROPONENT)
        user = User(email=profile["email"], name=profile["owner"], role=Role.PROPONENT,
                    password_hash=hash_password(password))
        business = Business(user=user, owner_name=profile["owner"], nib=profile["nib"],
                            legal_form=profile["legal_form"], scale=profile["scale"],
                            capital=profile["capital"], workforce_men=profile["workforce_men"],
                            workforce_women=profile["workforce_women"], address=profile["address"],
                            kelurahan=profile["kelurahan"], kecamatan=profile["kecamatan"],
                            phone=profile["phone"], cert_halal=profile["cert_halal"],
                            cert_pirt=profile["cert_pirt"], cert_sni=profile["cert_sni"])
        business.set_name(profile["name"])
        business.kbli_list = profile["kbli"]
        db.session.add_all([user, business])
        accounts.append((Role.PROPONENT.value, profile["owner"], profile["email"], password))
    db.session.flush()
    return accounts


def write_accounts_file(accounts, path: Path) -> None:
    """Keep the demo logins in instance/ (mode 600) so `make run` can show them again."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(format_accounts(accounts))


def format_accounts(accounts) -> str:
    """The accounts as an aligned plain-text table."""
    lines = [f"{'role':<12} {'email':<42} password", "-" * 80]
    lines += [f"{role:<12} {email:<42} {password}" for role, _name, email, password in accounts]
    return "\n".join(lines) + "\n"


@click.command("seed-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when data exists.")
def seed_demo_command(if_empty: bool) -> None:
    """Create the demo accounts and businesses in an empty database and print the logins."""
    if not current_app.config.get("SEED_DEMO_ALLOWED"):
        raise DemoRefused("seed-demo is disabled in the production configuration")
    if db.session.scalar(select(func.count(User.id))):
        if if_empty:
            click.echo("The database already has data; the demo was not seeded again.")
            return
        raise DemoRefused("the database already has data; seed-demo only fills an empty database")
    accounts = seed_demo()
    db.session.commit()
    accounts_file = Path(current_app.instance_path) / "demo-accounts.txt"
    write_accounts_file(accounts, accounts_file)
    click.echo("Demo data created. Sign in with any of these accounts:\n")
    click.echo(format_accounts(accounts))
    click.echo(f"(Also saved to {accounts_file}, readable only by you.)")
