"""The planner's whole path through a decision they can defend (issue 14), in one browser session:
read whether the planners agree, declare a conflict of interest, cap a category and read what keeps
each proposal out, then merge two proposals of different businesses into one joint proposal."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from participation.models import SessionStatus, ThemedSession
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_decision_pages import fits_the_width
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD, app_db

pytestmark = pytest.mark.browser
DESK = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
TRAINING = "Kelas tiga hari tentang foto produk, media sosial dan toko daring untuk warung makan."


@pytest.fixture
def world(make_world):
    # Three planners; Agus rates about a point higher than the other two.
    return make_world(
        planners=[{"email": "perencana@contoh.id", "name": "Dedi Kurniawan"}, {"name": "Sri Wahyuni"},
                  {"name": "Agus Murah Hati"}], status=SessionStatus.REVIEW, budget_ceiling=300_000_000,
        proposals=[
            {"business": {"nib": "3201000000001", "name": "Batik Sekar Jagad"}, "category": 0,
             "title": "Sertifikasi halal untuk keripik singkong", "estimated_cost": 30_000_000, "rated": [5, 4, 5],
             "description": "Biaya audit dan pendampingan sertifikasi halal bagi sepuluh produsen keripik."},
            {"business": {"nib": "3201000000002", "name": "Keripik Renyah"}, "category": 0,
             "title": "Mesin penggoreng vakum rempeyek", "estimated_cost": 30_000_000, "rated": [4, 3, 5],
             "description": "Satu mesin penggoreng vakum yang dipakai bergantian oleh kelompok usaha."},
            {"business": {"nib": "3201000000003", "name": "Dapur Bu Tini"}, "category": 1,
             "title": "Pelatihan pemasaran digital untuk UMKM kuliner", "estimated_cost": 30_000_000,
             "rated": [3, 3, 4], "description": TRAINING},
            {"business": {"nib": "3201000000004", "name": "Warung Sari Rasa"}, "category": 1,
             "title": "Pelatihan Pemasaran Digital bagi UMKM Kuliner", "estimated_cost": 45_000_000,
             "rated": [1, 3, 4], "description": TRAINING},
            {"business": {"nib": "3201000000005", "name": "Mebel Jati Makmur"}, "category": 2,
             "title": "Mesin serut kayu", "estimated_cost": 20_000_000, "rated": [2, 2, 3],
             "description": "Mesin serut untuk bengkel mebel di sentra kayu."}])


def looks_right(page, name: str) -> None:
    assert fits_the_width(page), name
    assert axe_violations(page) == [], name
    screenshot(page, name)


def test_a_planner_reads_agreement_declares_a_conflict_caps_a_category_and_merges_a_cluster(live_app, page, world):
    base, sid = live_app.config["LIVE_URL"], world.session
    with app_db(live_app) as session:
        category = session.get(ThemedSession, sid).categories[0].name
    page.set_viewport_size(PHONE)
    sign_in(page, base, "perencana@contoh.id", STAFF_PASSWORD)

    # 1. Do the planners agree? Agus is the lenient one; the training proposal spreads by three points.
    page.goto(base + f"/sesi/{sid}/penilaian")
    panel = page.locator(".agreement-panel")
    expect(panel.get_by_role("heading", name="Kesepakatan antarperencana")).to_be_visible()
    expect(panel.locator('tr[data-criterion="urgensi"] .reading')).not_to_be_empty()
    lenient = panel.locator(".agreement-leniency").locator("tr", has_text="Agus Murah Hati").locator(".overall")
    expect(lenient).to_have_text(re.compile(r"^\+\d,\d\d$"))
    expect(panel.locator(".agreement-spreads li", has_text="Pelatihan Pemasaran Digital bagi UMKM Kuliner")) \
        .to_be_visible()
    panel.scroll_into_view_if_needed()
    looks_right(page, "defensible-agreement-390")

    # 2. Dedi works for Batik Sekar Jagad on the side: he declares it, and may no longer rate its proposal.
    page.set_viewport_size(DESK)
    page.goto(base + f"/sesi/{sid}/konflik/usaha/{world.businesses[0]}")
    expect(page.get_by_role("heading", name="Nyatakan konflik kepentingan")).to_be_visible()
    page.get_by_label("Jenis konflik").select_option(label="Pekerjaan")
    page.get_by_label("Keterangan").fill("Konsultan paruh waktu untuk usaha ini.")
    looks_right(page, "defensible-declare-1366")
    page.get_by_role("button", name="Nyatakan konflik").click()
    expect(page.get_by_text("Konflik kepentingan Dedi Kurniawan dengan Batik Sekar Jagad telah dinyatakan.")) \
        .to_be_visible()
    page.goto(base + f"/sesi/{sid}/penilaian/{world.proposals[0]}")
    expect(page.locator("[data-conflict-refusal]")).to_contain_text("Anda telah menyatakan konflik kepentingan")
    assert page.locator("input[type=radio]").count() == 0

    # His earlier rating leaves the aggregate, and the proposal is still ranked on the others' ratings.
    page.goto(base + f"/sesi/{sid}/peringkat")
    expect(page.locator("[data-left-out]")).to_contain_text("1 penilaian dari perencana yang berkonflik tidak dihitung.")
    expect(page.locator("caption", has_text="usulan diperingkat")).to_have_text(re.compile("^5 usulan diperingkat"))
    expect(page.locator("tr", has_text="Sertifikasi halal untuk keripik singkong")).not_to_contain_text("Belum ada")

    # 3. A cap on the first category: the cheaper-ranked second proposal of it is kept out by the cap.
    page.get_by_role("link", name="Batasan seleksi").click()
    cap_form = page.get_by_role("form", name=category)
    cap_form.get_by_label("Batas anggaran (Rupiah)").fill("30.000.000")
    cap_form.get_by_role("button", name=f"Simpan batas {category}").click()
    expect(page.get_by_text(f"Batas anggaran kategori {category} disimpan.")).to_be_visible()
    looks_right(page, "defensible-constraints-1366")
    page.goto(base + f"/sesi/{sid}/peringkat")
    expect(page.locator("tr", has_text="Mesin penggoreng vakum rempeyek")).to_contain_text(
        f"Tertahan oleh batas anggaran kategorinya {category} (Rp30.000.000)")
    # The cap, not the ceiling, keeps it out, and the ceiling funds every other one: no budget line.
    expect(page.locator("tr.budget-line")).to_have_count(0)
    looks_right(page, "defensible-ranking-1366")
    page.set_viewport_size(PHONE)
    # On a phone the ranked list's many columns scroll inside their own box; the page itself does not.
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert axe_violations(page) == []
    screenshot(page, "defensible-ranking-390")

    # 4. The two training proposals of different businesses are one cluster: merged into a joint proposal.
    page.set_viewport_size(DESK)
    page.get_by_role("link", name="Usulan serupa").click()
    cluster = page.locator("[data-cluster]")
    expect(cluster).to_have_count(1)
    expect(cluster).to_contain_text("Dapur Bu Tini")
    expect(cluster).to_contain_text("Warung Sari Rasa")
    looks_right(page, "defensible-similar-1366")
    cluster.get_by_role("link", name="Gabungkan menjadi usulan gabungan").click()
    page.get_by_label("Judul usulan gabungan").fill("Pelatihan pemasaran digital bersama UMKM kuliner")
    page.get_by_label("Perkiraan biaya (Rupiah)").fill("60.000.000")
    looks_right(page, "defensible-merge-1366")
    page.get_by_role("button", name="Buat usulan gabungan").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pelatihan pemasaran digital bersama UMKM kuliner")
    expect(page.locator("[data-joint]")).to_contain_text("Warung Sari Rasa")
    page.goto(base + f"/sesi/{sid}/peringkat")
    expect(page.get_by_text(world.receipts[3], exact=True)).to_have_count(0)
    expect(page.locator("tr", has_text="Pelatihan pemasaran digital bersama UMKM kuliner")).to_be_visible()
    expect(page.locator("tr", has_text="Mesin penggoreng vakum rempeyek")).to_contain_text("Tertahan oleh batas")
