"""A planner rates, tries weights, runs AHP, decides, finalises and downloads the XLSX."""
from __future__ import annotations

from playwright.sync_api import expect
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from participation.models import RankingSnapshot, SessionStatus, ThemedSession
from tests.browser.conftest import axe_violations, pass_two_factor, screenshot
from tests.conftest import STAFF_PASSWORD, TEST_PASSWORD, app_db

pytestmark = pytest.mark.browser


@pytest.fixture
def world(make_world):
    """Three proposals the colleague has rated; the planner rates them in the browser."""
    return make_world(
        planners=[{"email": "perencana@contoh.id", "name": "Dedi Kurniawan"},
                  {"email": "rekan@contoh.id", "name": "Sri Wahyuni"}],
        owner={"email": "pemilik@contoh.id", "name": "Siti Aminah",
               "business": {"nib": "0000000000001", "name": "Usaha Contoh 0"}},
        status=SessionStatus.REVIEW, title="Musrenbang Tematik IKM", budget_ceiling=100_000_000,
        rated=[None, lambda p, c, u: 2 + (p.id + c.id) % 3],
        proposals=[{"business": "owner" if n == 0 else {"nib": f"{n + 1:013d}", "name": f"Usaha Contoh {n}"},
                    "title": f"Usulan contoh nomor {n}", "estimated_cost": cost, "beneficiaries": 10 * (n + 2)}
                   for n, cost in enumerate([45_000_000, 30_000_000, 60_000_000])])


def test_planner_review_journey(live_app, page, world):
    base = live_app.config["LIVE_URL"]
    sid = world.session
    page.goto(base + "/masuk")
    page.get_by_label("Email").fill("perencana@contoh.id")
    page.get_by_label("Kata sandi").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    pass_two_factor(page, "perencana@contoh.id")

    # Rate every proposal: the form moves on to the next unrated one.
    page.goto(base + f"/sesi/{sid}/penilaian")
    expect(page.get_by_text("0 dari 3 usulan sudah dinilai")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Usulan contoh nomor 0").click()
    for n in range(3):
        # Wait for this proposal's form: the previous click's navigation may not have landed yet,
        # and ticking the old page's radios would post an incomplete form for this one.
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"Usulan contoh nomor {n}")
        for group in page.locator("fieldset").all():
            group.get_by_label("4" if n != 1 else "5", exact=True).check()
        if n == 0:
            assert axe_violations(page) == []
            screenshot(page, "planner-rate")
        page.get_by_role("button", name="Simpan dan lanjut ke berikutnya").click()
    expect(page.get_by_text("3 dari 3 usulan sudah dinilai")).to_be_visible()

    # The ranked list, then what-if weights: cost only.
    page.goto(base + f"/sesi/{sid}/peringkat")
    assert page.locator("svg[role=img]").count() == 3
    assert axe_violations(page) == []
    screenshot(page, "planner-ranked-list")
    page.get_by_text("Bagaimana jika bobotnya berbeda?").click()
    for field in page.locator("form[method=get] input[inputmode=decimal]").all():
        field.fill("0")
    page.get_by_role("textbox", name="Perkiraan biaya").fill("1")
    page.get_by_role("button", name="Peringkat ulang").click()
    expect(page.get_by_text("Pratinjau dengan bobot yang belum disimpan.")).to_be_visible()
    first_row = page.locator("table.ranked-list tbody tr").first
    assert "Rp30.000.000" in first_row.inner_text()
    assert axe_violations(page) == []  # arrows and the save-these-weights form
    screenshot(page, "planner-what-if")
    page.get_by_role("link", name="Kembali ke bobot tersimpan").click()

    # AHP: first an inconsistent judgement (a circle of preferences), which is flagged.
    page.goto(base + f"/sesi/{sid}/ahp")
    comparisons = page.locator("select[id^=p]").all()
    comparisons[0].select_option("9")
    comparisons[1].select_option("1/9")
    comparisons[6].select_option("9")
    page.get_by_role("button", name="Hitung bobot").click()
    expect(page.get_by_text("Perbandingan tidak konsisten")).to_be_visible()
    assert axe_violations(page) == []
    # Then urgency moderately more important than everything else; apply.
    page.goto(base + f"/sesi/{sid}/ahp")
    for comparison in page.locator("select[id^=p]").all()[:6]:
        comparison.select_option("3")
    page.get_by_role("button", name="Hitung bobot").click()
    expect(page.get_by_text("Cukup konsisten")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "planner-ahp")
    page.get_by_role("button", name="Terapkan bobot ini").click()
    expect(page.get_by_text("Bobot AHP telah diterapkan.")).to_be_visible()

    # Decide on the first proposal.
    page.locator("table.ranked-list a", has_text="Putuskan").first.click()
    page.get_by_label("Diprioritaskan").check()
    page.get_by_label("Alasan", exact=True).fill("Mendesak dan siap dilaksanakan.")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Catat keputusan").click()
    expect(page.get_by_text("telah dicatat")).to_be_visible()

    # Finalise, then download the XLSX.
    page.get_by_role("link", name="Finalisasi").click()
    assert axe_violations(page) == []
    page.get_by_label("Ketik FINAL untuk mengonfirmasi").fill("FINAL")
    page.get_by_role("button", name="Finalisasi").click()
    expect(page.get_by_text("Musrenbang telah difinalkan.")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="XLSX", exact=True).click()
    download = download_info.value
    workbook = load_workbook(io.BytesIO(open(download.path(), "rb").read()))
    assert workbook.sheetnames == ["Peringkat", "Kriteria", "Sesi"]
    status = next(row for row in workbook["Sesi"].iter_rows() if row[0].value == "Status")
    assert (status[1].value, status[2].value) == ("Final", "finalized")  # in words, and the export's code
    assert page.console_errors == []

    page.goto(base + f"/hasil/{sid}")
    assert axe_violations(page) == []
    screenshot(page, "public-result")

    # The owner sees the decision and the score breakdown of their proposal.
    page.context.clear_cookies()
    page.goto(base + "/masuk")
    page.get_by_label("Email").fill("pemilik@contoh.id")
    page.get_by_label("Kata sandi").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    page.goto(base + "/usulan/")
    page.get_by_role("link", name="Usulan contoh nomor 0").click()
    expect(page.get_by_text("Keputusan").first).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "owner-final-result")
    with app_db(live_app) as session:
        themed_session = session.get(ThemedSession, sid)
        assert themed_session.status is SessionStatus.FINALIZED and themed_session.weights_origin == "ahp"
        snapshot = session.scalar(select(RankingSnapshot))
        assert snapshot.version == 1
        assert sum(p["decision"] == "prioritized" for p in snapshot.payload["export"]["proposals"]) == 1


def test_votes_page_has_no_accessibility_violations(live_app, page, world):
    base = live_app.config["LIVE_URL"]
    page.goto(base + "/masuk")
    page.get_by_label("Email").fill("perencana@contoh.id")
    page.get_by_label("Kata sandi").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    pass_two_factor(page, "perencana@contoh.id")
    page.goto(base + f"/sesi/{world.session}/suara")
    assert axe_violations(page) == []
    page.goto(base + "/hasil")
    assert axe_violations(page) == []
