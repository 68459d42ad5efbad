"""Aggregation as a session setting, the minimum of raters, and the agreement panel and minutes figures."""
from __future__ import annotations

import io
import json
import re

import krippendorff
import numpy as np
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from participation.events import Actor
from participation.models import RatingAggregation, SessionStatus, ThemedSession, User
from participation.sessions import services as session_services
from tests.conftest import app_db, post_form
from tests.documents.conftest import pdf_reader, pdf_text
from tests.hostile import HOSTILE, is_server_error
from tests.sessions.test_sessions import NEW_SESSION

# Ratings of four proposals by three planners (the same on every rating criterion; None: not rated).
# The third planner is lenient and has not rated the first proposal; the second has not rated the second.
RATINGS = [(3, 3, None), (3, None, 4), (2, 1, 3), (4, 3, 5)]
MEAN_ORDER = [3, 1, 0, 2]  # proposal indices: 4.0, 3.5, 3.0, 2.0
STANDARDIZED_ORDER = [3, 0, 1, 2]  # the lenient 4 of the second proposal no longer outweighs the others' 3


@pytest.fixture
def world(make_world, login_as):
    """A session in review whose proposals differ only in their ratings; the first planner signed in."""
    world = make_world(
        planners=[{"name": "Ani Perencana"}, {"name": "Budi Perencana"}, {"name": "Citra Murah Hati"}],
        status=SessionStatus.REVIEW, budget_ceiling=25_000_000,
        proposals=[{"title": f"Usulan nilai {n}", "estimated_cost": 10_000_000, "beneficiaries": 10, "jobs_created": 1,
                    "rated": list(values)} for n, values in enumerate(RATINGS)])
    login_as(world.planner)
    return world


def set_aggregation(client, world, method: str, min_raters: str = ""):
    return post_form(client, f"/sesi/{world.session}/ubah",
                     {**NEW_SESSION, "rating_aggregation": method, "min_raters": min_raters})


def ranked_receipts(client, world) -> list[str | None]:
    payload = json.loads(client.get(f"/sesi/{world.session}/peringkat.json").data)
    return [line["receipt_number"] for line in payload["proposals"] if line["rank"] is not None]


def test_standardized_aggregation_ranks_differently_from_the_mean(app, client, world):
    assert set_aggregation(client, world, "mean", "2").status_code == 303
    assert ranked_receipts(client, world) == [world.receipts[i] for i in MEAN_ORDER]
    assert set_aggregation(client, world, "standardized", "2").status_code == 303
    assert ranked_receipts(client, world) == [world.receipts[i] for i in STANDARDIZED_ORDER]
    page = client.get(f"/sesi/{world.session}/peringkat").get_data(as_text=True)
    assert "penilaian: Terstandar: mengoreksi perencana yang murah atau pelit nilai" in page
    with app_db(app) as session:
        assert session.get(ThemedSession, world.session).rating_aggregation is RatingAggregation.STANDARDIZED


def test_median_takes_the_middle_rating(app, client, world):
    assert set_aggregation(client, world, "median", "2").status_code == 303
    payload = json.loads(client.get(f"/sesi/{world.session}/peringkat.json").data)
    values = {line["receipt_number"]: line["values"]["urgensi"] for line in payload["proposals"]}
    assert values[world.receipts[2]] == 2 and values[world.receipts[3]] == 4


def test_a_proposal_with_fewer_raters_than_required_is_not_ranked(app, client, world):
    # By default every planner of the session must rate: the first two proposals miss one rating each.
    payload = json.loads(client.get(f"/sesi/{world.session}/peringkat.json").data)
    unranked = [line["receipt_number"] for line in payload["proposals"] if line["rank"] is None]
    assert unranked == [world.receipts[0], world.receipts[1]]
    assert payload["aggregation"] == {"method": "mean", "min_raters": None}
    page = client.get(f"/sesi/{world.session}/peringkat").get_data(as_text=True)
    assert page.count("Belum ada: Urgensi, Kesesuaian dengan prioritas daerah (RPJMD), Kesiapan pelaksanaan") == 2
    assert "(nilai dihitung setelah 3 perencana menilai)" in page
    assert set_aggregation(client, world, "mean", "2").status_code == 303
    assert len(ranked_receipts(client, world)) == 4
    assert set_aggregation(client, world, "mean", "3").status_code == 303
    assert ranked_receipts(client, world) == [world.receipts[3], world.receipts[2]]


@pytest.mark.parametrize("typed, message", [
    ("4", "Isi 1 sampai 3: tim sesi memiliki 3 perencana."),
    ("0", "Isi 1 sampai 3: tim sesi memiliki 3 perencana."),
    ("dua", "Isi jumlah perencana dengan bilangan bulat, atau kosongkan."),
])
def test_the_minimum_of_raters_is_checked_against_the_team(app, client, world, typed, message):
    response = set_aggregation(client, world, "standardized", typed)
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and message in body
    assert f'value="{typed}"' in body  # the typed data is kept
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        assert themed_session.min_raters is None and themed_session.rating_aggregation is RatingAggregation.MEAN


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_aggregation_settings_are_refused_without_a_server_error(app, client, world, name):
    for field in ("rating_aggregation", "min_raters"):
        response = post_form(client, f"/sesi/{world.session}/ubah",
                             {**NEW_SESSION, "rating_aggregation": "mean", field: HOSTILE[name]})
        assert not is_server_error(response) and response.status_code in (303, 400)
    with app_db(app) as session:
        assert session.get(ThemedSession, world.session).rating_aggregation is RatingAggregation.MEAN


def test_the_service_refuses_a_minimum_above_the_team_and_a_planner_leaving_below_it(app, world):
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        actor = Actor.demo(session.get(User, world.planner))
        with pytest.raises(session_services.SessionError, match="min_raters"):
            session_services.update_session(themed_session, {"min_raters": 4}, actor)
        session_services.update_session(themed_session, {"min_raters": 3}, actor)
        with pytest.raises(session_services.SessionError, match="min_raters_member"):
            session_services.remove_member(themed_session, session.get(User, world.planners[2]), actor)


def test_the_snapshot_and_the_exports_carry_the_setting(app, client, world):
    from participation.review.services import write_snapshot

    assert set_aggregation(client, world, "standardized", "2").status_code == 303
    payload = json.loads(client.get(f"/sesi/{world.session}/peringkat.json").data)
    assert payload["aggregation"] == {"method": "standardized", "min_raters": 2}
    assert payload["selection"] == "greedy" and "criteria" in payload  # the other keys stay
    workbook = load_workbook(io.BytesIO(client.get(f"/sesi/{world.session}/peringkat.xlsx").data))
    facts = {row[0]: row[1:] for row in workbook.worksheets[2].iter_rows(values_only=True)}
    assert facts["Penggabungan nilai para perencana"][:2] == (
        "Terstandar: mengoreksi perencana yang murah atau pelit nilai", "standardized")
    assert facts["Jumlah perencana yang wajib menilai usulan"][0] == 2
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        snapshot = write_snapshot(themed_session, session.get(User, world.planner))
        assert snapshot.payload["export"]["aggregation"] == {"method": "standardized", "min_raters": 2}


def independent_leniency(planner: int) -> float:
    """Mean of (this planner's rating − the mean of the others' ratings) over the proposals shared."""
    offsets = []
    for ratings in RATINGS:
        others = [value for other, value in enumerate(ratings) if other != planner and value is not None]
        if ratings[planner] is not None and others:
            offsets.append(ratings[planner] - sum(others) / len(others))
    return sum(offsets) / len(offsets)


def panel(client, world) -> str:
    page = client.get(f"/sesi/{world.session}/penilaian")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    return body[body.index('class="card mt-4 agreement-panel"'):]


def test_the_panel_shows_alpha_with_its_reading_and_each_planners_leniency(app, client, world):
    body = panel(client, world)
    reliability = np.array([[np.nan if value is None else value for value in ratings] for ratings in RATINGS]).T
    alpha = krippendorff.alpha(reliability_data=reliability, level_of_measurement="ordinal")
    assert alpha < 0.67  # this case reads as "discuss before deciding"
    row = re.search(r'data-criterion="urgensi">(.*?)</tr>', body, re.S).group(1)
    assert f"{alpha:.3f}".replace(".", ",") in row and "Bahas sebelum memutuskan" in row
    for index, name in enumerate(("Ani Perencana", "Budi Perencana", "Citra Murah Hati")):
        line = re.search(rf"{name}</th>(.*?)</tr>", body, re.S).group(1)
        expected = f"{independent_leniency(index):+.2f}".replace(".", ",")
        overall = re.search(r'class="text-end text-nowrap overall">([^<]+)<', line).group(1)
        assert overall == expected, (name, overall, expected)
        assert f"Urgensi: <span class=\"text-nowrap\">{expected}</span>" in line
    assert "Nilai digabungkan dengan: Rata-rata nilai para perencana; setiap perencana sesi menilai" in body


def test_the_panel_lists_proposals_whose_ratings_lie_two_points_apart(app, client, world):
    body = panel(client, world)
    spreads = body[body.index("Untuk dibahas dalam rapat"):]
    with app_db(app) as session:
        from participation.models import Proposal

        ids = [session.scalar(select(Proposal.id).where(Proposal.receipt_number == receipt))
               for receipt in world.receipts]
    # Only the third (1 to 3) and the fourth (3 to 5) spread by two points.
    for index in (2, 3):
        assert f'href="/usulan/{ids[index]}">{world.receipts[index]} · Usulan nilai {index}</a>' in spreads
    assert "Urgensi dinilai 1 sampai 3" in spreads and "Urgensi dinilai 3 sampai 5" in spreads
    for index in (0, 1):
        assert world.receipts[index] not in spreads


def test_the_reading_of_alpha_follows_the_thresholds(app):
    from participation.review.agreement import AgreementReading

    assert [AgreementReading.of_alpha(value) for value in (0.8, 0.79, 0.67, 0.66, float("nan"), None)] == [
        AgreementReading.GOOD, AgreementReading.TENTATIVE, AgreementReading.TENTATIVE, AgreementReading.DISCUSS,
        AgreementReading.NOT_ENOUGH, AgreementReading.NOT_ENOUGH]


def test_without_ratings_the_panel_says_so(app, client, make_world, login_as):
    world = make_world(status=SessionStatus.REVIEW, proposals=2)
    login_as(world.planner)
    body = panel(client, world)
    assert body.count("Penilaian belum cukup") == 3 and "Belum ada perencana yang menilai." in body
    assert "Tidak ada: tidak ada nilai yang berselisih sejauh itu." in body


def test_the_minutes_carry_the_agreement_figures(app, client, world):
    assert set_aggregation(client, world, "standardized", "2").status_code == 303
    text = pdf_text(pdf_reader(client.get(f"/sesi/{world.session}/dokumen/berita-acara.pdf")))
    reliability = np.array([[np.nan if value is None else value for value in ratings] for ratings in RATINGS]).T
    alpha = krippendorff.alpha(reliability_data=reliability, level_of_measurement="ordinal")
    assert "Kesepakatan antarperencana" in text
    assert "Nilai digabungkan dengan: Terstandar: mengoreksi perencana yang murah atau pelit nilai; " \
           "sekurang-kurangnya 2 perencana menilai usulan sebelum usulan itu diperingkat." in text
    assert f"Urgensi {alpha:.3f} Bahas sebelum memutuskan".replace(".", ",", 1) in text
