"""Statuses read as translated badges, pages ask the models, and 'why not selected' comes from the ranking."""
from __future__ import annotations

import re

import pytest

from participation.models import (
    LIFE_CYCLE,
    LabelledEnum,
    Outcome,
    Proposal,
    ProposalStatus,
    SelectionMethod,
    SessionStatus,
    ThemedSession,
    User,
)
from participation.review.ranking import NotSelected, Selection, WhyNotSelected, build_ranking, export_payload
from tests.conftest import ROOT, app_db, login
from tests.factories import as_actor, make_business, make_proposal, make_session

TEMPLATES = ROOT / "templates"
BOOTSTRAP_CSS = ROOT / "static/vendor/bootstrap-5.3.9/css/bootstrap.min.css"
CEILING = 100_000_000


def labelled_enums() -> list[type[LabelledEnum]]:
    """Every LabelledEnum of the app (the models' and the ranking's)."""
    found, todo = [], list(LabelledEnum.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


# --- templates ask; they do not compare codes ----------------------------------------------------

JINJA = re.compile(r"\{[{%](.*?)[%}]\}", re.S)
QUOTED = r"""(['"])([A-Za-z_]+)\1"""
RAW_VALUE = re.compile(r"\.value\s*(?:==|!=|\bin\b|\bnot\s+in\b)|(?:==|!=)\s*[\w.]+\.value\b")
COMPARED = re.compile(r"""(?:==|!=)\s*(['"])([A-Za-z_]+)\1|(['"])([A-Za-z_]+)\3\s*(?:==|!=)""")
LISTED = re.compile(r"\bin\s*[(\[]([^)\]]*)[)\]]")
KEYED = re.compile(rf"\.get\(\s*{QUOTED}")


def code_comparisons(source: str, codes: set[str]) -> list[str]:
    """The Jinja expressions of `source` that compare a `.value` or look for an enum's code."""
    found = []
    for expression in JINJA.findall(source):
        compared = {m.group(2) or m.group(4) for m in COMPARED.finditer(expression)}
        listed = {word for group in LISTED.findall(expression) for _q, word in re.findall(QUOTED, group)}
        keyed = {m.group(2) for m in KEYED.finditer(expression)}
        if RAW_VALUE.search(expression) or (compared | listed | keyed) & codes:
            found.append(" ".join(expression.split()))
    return found


def test_the_scan_catches_what_it_is_for():
    codes = {"draft", "saw", "estimated_cost", "planner", "submitted"}
    caught = ("{% if status.value == x %}", "{% if 'saw' == method %}", "{{ a if criterion.source == 'estimated_cost' }}",
              "{% if current_user.role.value in ('planner', 'admin') %}", "{{ counts.get('submitted', 0) }}",
              "{% if status != \"draft\" %}")
    for line in caught:
        assert code_comparisons(line, codes), line
    fine = ("{% if request.endpoint == 'public.index' %}", "{{ post_button(url, label, 'btn', {'action': 'draft'}) }}",
            "<option value=\"draft\">", "{% if kind == 'usaha' %}", "{{ themed_session.status.label }}")
    for line in fine:
        assert not code_comparisons(line, codes), line


def test_no_template_compares_a_raw_enum_code():
    codes = {member.value for cls in labelled_enums() for member in cls}
    offences = {str(path.relative_to(ROOT)): found for path in sorted(TEMPLATES.rglob("*.html"))
                if (found := code_comparisons(path.read_text(encoding="utf-8"), codes))}
    assert not offences, f"ask the model (a property or method) instead of comparing codes: {offences}"


# --- badges ----------------------------------------------------------------------------------------

def _luminance(rgb) -> float:
    channels = [c / 255 for c in rgb]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_every_badge_style_exists_in_the_vendored_bootstrap_with_aa_contrast():
    css = BOOTSTRAP_CSS.read_text(encoding="utf-8")
    root = css[css.index(":root"):]
    for style in {member.badge for cls in labelled_enums() for member in cls}:
        rule = re.search(rf"\.text-bg-{style}\{{color:#(fff|000)!important", css)
        assert rule, f"text-bg-{style} is not in Bootstrap 5.3.9"
        background = re.search(rf"--bs-{style}-rgb:(\d+),(\d+),(\d+)", root).groups()
        text = (255, 255, 255) if rule.group(1) == "fff" else (0, 0, 0)
        lighter, darker = sorted((_luminance(text), _luminance([int(c) for c in background])), reverse=True)
        assert (lighter + 0.05) / (darker + 0.05) >= 4.5, style


def test_statuses_decisions_and_selection_carry_distinct_badges():
    assert [s.badge for s in SessionStatus] == ["secondary", "success", "warning", "primary", "dark"]
    assert [s.badge for s in ProposalStatus] == ["secondary", "success", "secondary"]
    assert [o.badge for o in Outcome] == ["success", "warning", "danger"]
    assert [s.badge for s in Selection] == ["success", "secondary"]
    assert Outcome.of(None) is None and Outcome.of("deferred") is Outcome.DEFERRED
    retired = Outcome.of("dropped")  # a snapshot keeps codes; an old one still prints
    assert (retired.label, retired.badge) == ("dropped", "secondary") and Outcome.label_of("dropped") == "dropped"


def test_the_badge_macro_renders_the_members_label_and_style(app):
    with app.test_request_context():
        macro = app.jinja_env.get_template("_macros/status.html").module.status_badge
        assert str(macro(SessionStatus.REVIEW)) == '<span class="badge text-bg-warning">Dalam penilaian</span>'
        assert str(macro(Outcome.REJECTED)) == '<span class="badge text-bg-danger">Ditolak</span>'
        assert str(macro(None)) == "–"


# --- the session page: badge and life-cycle buttons ---------------------------------------------

STATUS_FORM = re.compile(r'<form method="post" action="[^"]*/status"[^>]*>(.*?)</form>', re.S)


def status_buttons(page: str) -> list[tuple[str, str]]:
    """(action posted, button text) of each life-cycle button on the session page."""
    buttons = []
    for form in STATUS_FORM.findall(page):
        action = re.search(r'name="action" value="([^"]+)"', form).group(1)
        buttons.append((action, re.search(r"<button[^>]*>([^<]+)</button>", form).group(1).strip()))
    return buttons


@pytest.fixture
def planner(app, make_user, login_as):
    planner_id = make_user("planner")
    login_as(planner_id)
    return planner_id


@pytest.mark.parametrize(("status", "badge", "buttons"), [
    (SessionStatus.DRAFT, ("secondary", "Draf"), [("open", "Buka untuk usulan")]),
    (SessionStatus.OPEN, ("success", "Buka untuk usulan"), [("close", "Tutup dan mulai penilaian")]),
    (SessionStatus.REVIEW, ("warning", "Dalam penilaian"), [("reopen", "Buka kembali untuk usulan")]),
    (SessionStatus.FINALIZED, ("primary", "Final"), [("archive", "Arsipkan")]),
    (SessionStatus.ARCHIVED, ("dark", "Diarsipkan"), []),
])
def test_the_session_page_shows_its_status_and_offers_the_available_transitions(app, client, planner, status,
                                                                                 badge, buttons):
    with app_db(app) as session:
        themed_session = make_session(session.get(User, planner), status=status)
        session.commit()
        session_id = themed_session.id
        available = [(t.action, t.label) for t in themed_session.available_transitions()]
    page = client.get(f"/sesi/{session_id}").get_data(as_text=True)
    heading = re.search(r"<h1[^>]*>.*?</h1>", page, re.S).group(0)
    assert f'<span class="badge text-bg-{badge[0]}">{badge[1]}</span>' in heading
    assert status_buttons(page) == buttons
    with app.test_request_context():  # the page offers exactly what the model answers
        assert [(action, str(label)) for action, label in available] == buttons
    listing = client.get("/sesi/").get_data(as_text=True)
    assert f'<span class="badge text-bg-{badge[0]}">{badge[1]}</span>' in listing


def test_the_life_cycle_has_one_button_per_transition_and_each_status_at_most_one():
    assert {t.action for t in LIFE_CYCLE} == {"open", "close", "reopen", "archive"}
    for status in SessionStatus:
        assert len([t for t in LIFE_CYCLE if t.source is status]) <= 1


def test_a_facilitator_sees_the_status_but_no_buttons(app, client, make_user, login_as):
    planner_id, facilitator_id = make_user("planner"), make_user("facilitator")
    with app_db(app) as session:
        themed_session = make_session(session.get(User, planner_id), status=SessionStatus.REVIEW,
                                      members=[session.get(User, facilitator_id)])
        session.commit()
        session_id = themed_session.id
    login_as(facilitator_id)
    page = client.get(f"/sesi/{session_id}").get_data(as_text=True)
    assert '<span class="badge text-bg-warning">Dalam penilaian</span>' in page
    assert status_buttons(page) == []


def test_who_may_decide_matches_the_decision_page(app, client, make_user, login_as):
    planner_id, other_id, admin_id = make_user("planner"), make_user("planner"), make_user("admin")
    with app_db(app) as session:
        planner_user = session.get(User, planner_id)
        themed_session = make_session(planner_user, status=SessionStatus.OPEN)
        proposal = make_proposal(themed_session, make_business())
        draft = make_proposal(themed_session, make_business(nib="2222222222222", name="Usaha Draf"), submit=False)
        session.commit()
        ids = (themed_session.id, proposal.id, draft.id)
    for status, allowed in ((SessionStatus.OPEN, False), (SessionStatus.REVIEW, True),
                            (SessionStatus.FINALIZED, True), (SessionStatus.ARCHIVED, False)):
        with app_db(app) as session:
            themed_session = session.get(ThemedSession, ids[0])
            themed_session.status = status
            session.commit()
            proposal, draft = session.get(Proposal, ids[1]), session.get(Proposal, ids[2])
            assert themed_session.can_decide(session.get(User, planner_id)) is allowed
            assert themed_session.can_decide(session.get(User, admin_id)) is allowed  # admins manage every session
            assert themed_session.can_decide(session.get(User, other_id)) is False  # not on the team
            assert proposal.can_decide(session.get(User, planner_id)) is allowed
            assert draft.can_decide(session.get(User, planner_id)) is False  # only submitted proposals
    login_as(planner_id)
    for status in (SessionStatus.OPEN, SessionStatus.REVIEW):
        with app_db(app) as session:
            session.get(ThemedSession, ids[0]).status = status
            session.commit()
        page = client.get(f"/sesi/{ids[0]}/peringkat").get_data(as_text=True)
        assert (f"/sesi/{ids[0]}/keputusan/{ids[1]}" in page) is (status is SessionStatus.REVIEW)
        assert (f"/sesi/{ids[0]}/finalisasi" in page) is (status is SessionStatus.REVIEW)


def test_published_is_one_definition_for_the_model_and_the_query(app, make_user):
    planner_id = make_user("planner")
    with app_db(app) as session:
        planner_user = session.get(User, planner_id)
        by_status = {status: make_session(planner_user, status=status, title=f"Sesi {status.value}")
                     for status in SessionStatus}
        session.commit()
        published = set(session.scalars(
            ThemedSession.__table__.select().with_only_columns(ThemedSession.id).where(ThemedSession.is_published)))
        assert {status for status, s in by_status.items() if s.is_published} == {
            SessionStatus.FINALIZED, SessionStatus.ARCHIVED}
        assert published == {s.id for s in by_status.values() if s.is_published}


# --- why not selected ----------------------------------------------------------------------------

@pytest.fixture
def budget_world(make_world, login_as):
    """Three rated proposals for a ceiling of Rp100 million: 60 million ranked first, 50, then 120 million.

    The ratings are equal, so the proposal fields rank them: the 60-million one helps the most
    people and makes the most jobs.
    """
    world = make_world(owner=True, budget_ceiling=CEILING, rated=4, status=SessionStatus.REVIEW, proposals=[
        {"business": {"nib": "1111111111111", "name": "Usaha Pertama"}, "title": "Usulan pertama yang lengkap",
         "estimated_cost": 60_000_000, "beneficiaries": 100, "jobs_created": 10},
        {"business": "owner", "title": "Usulan kedua yang lengkap", "estimated_cost": 50_000_000,
         "beneficiaries": 10, "jobs_created": 1},
        {"business": {"nib": "3333333333333", "name": "Usaha Ketiga"}, "title": "Usulan ketiga yang lengkap",
         "estimated_cost": 120_000_000, "beneficiaries": 50, "jobs_created": 5},
    ])
    login_as(world.planner)
    first, short, over = world.proposals
    return {"session": world.session, "planner": world.planner, "owner": world.owner,
            "first": first, "short": short, "over": over}


def reasons(app, session_id) -> dict[str, NotSelected | None]:
    with app_db(app) as session:
        ranking = build_ranking(session.get(ThemedSession, session_id), stability=False)
        return {item.proposal.title: item.not_selected for item in ranking.items}


def test_greedy_names_the_remaining_amount_and_the_shortfall_in_rupiah(app, client, budget_world):
    why = reasons(app, budget_world["session"])
    assert why["Usulan pertama yang lengkap"] is None
    assert why["Usulan kedua yang lengkap"] == NotSelected(WhyNotSelected.DOES_NOT_FIT, 40_000_000, 10_000_000)
    assert why["Usulan ketiga yang lengkap"] == NotSelected(WhyNotSelected.OVER_CEILING, CEILING, 20_000_000)
    page = client.get(f"/sesi/{budget_world['session']}/peringkat").get_data(as_text=True)
    assert "Tidak muat dalam sisa pagu Rp40.000.000. Kekurangan Rp10.000.000." in page
    assert "Biayanya melebihi seluruh pagu. Kekurangan Rp20.000.000." in page
    assert page.count('<span class="badge text-bg-success">Terpilih</span>') == 1


def test_optimal_names_what_the_best_combination_leaves(app, client, budget_world):
    with app_db(app) as session:
        session.get(ThemedSession, budget_world["session"]).selection_method = SelectionMethod.OPTIMAL
        session.commit()
    why = reasons(app, budget_world["session"])
    assert why["Usulan kedua yang lengkap"] == NotSelected(WhyNotSelected.TOO_LITTLE_LEFT, 40_000_000, 10_000_000)
    page = client.get(f"/sesi/{budget_world['session']}/peringkat").get_data(as_text=True)
    assert ("Tidak termasuk kombinasi dengan total skor tertinggi: kombinasi itu menyisakan Rp40.000.000 dari "
            "pagu, kurang dari biaya usulan ini. Kekurangan Rp10.000.000.") in page


def test_the_english_page_says_it_in_english(app, client, budget_world):
    with client.session_transaction() as cookie:  # what the language switch stores
        cookie["locale"] = "en"
    page = client.get(f"/sesi/{budget_world['session']}/peringkat").get_data(as_text=True)
    assert "Does not fit the remaining IDR40,000,000. Short by IDR10,000,000." in page  # Babel's English Rupiah
    assert '<span class="badge text-bg-warning">Under review</span>' in page


def test_each_ranked_proposal_has_a_bar_made_of_its_contributions(app, client, budget_world):
    page = client.get(f"/sesi/{budget_world['session']}/peringkat").get_data(as_text=True)
    with app_db(app) as session:
        ranking = build_ranking(session.get(ThemedSession, budget_world["session"]), stability=False)
        for item in ranking.ranked:
            svg = re.search(rf'<svg[^>]*aria-labelledby="bar-{item.proposal.id}".*?</svg>', page, re.S).group(0)
            widths = [float(w) for w in re.findall(r'<rect x="[\d.]+" y="0" width="([\d.]+)" height="14" fill="#', svg)]
            assert len(widths) == len(ranking.criteria)
            # SAW: the parts add up to the score, so the filled length is the score's share of the bar.
            assert sum(widths) == pytest.approx(item.score * 180, abs=0.05 * len(widths))


def test_a_snapshot_gives_the_same_reasons_as_the_live_ranking(app, budget_world):
    from participation.review.ranking import why_not_selected_in

    for selection in SelectionMethod:
        with app_db(app) as session:
            themed_session = session.get(ThemedSession, budget_world["session"])
            themed_session.selection_method = selection
            session.flush()
            ranking = build_ranking(themed_session, stability=False)
            payload = export_payload(ranking)
            for item, line in zip(ranking.items, payload["proposals"], strict=True):
                assert why_not_selected_in(payload, line) == item.not_selected, (selection, item.proposal.title)
            session.rollback()


def test_the_owner_reads_why_the_final_ranking_left_the_proposal_out(app, client, budget_world):
    from participation.review.services import decide, write_snapshot

    with app_db(app) as session:
        themed_session = session.get(ThemedSession, budget_world["session"])
        planner_user = session.get(User, budget_world["planner"])
        decide(session.get(Proposal, budget_world["short"]), Outcome.DEFERRED, "Menunggu anggaran perubahan.",
               as_actor(planner_user))
        write_snapshot(themed_session, planner_user)
        themed_session.status = SessionStatus.FINALIZED
        session.commit()
    owner = app.test_client()  # the planner is signed in on `client`
    with app_db(app) as session:
        assert login(owner, session.get(User, budget_world["owner"]).email).status_code == 303
    page = owner.get(f"/usulan/{budget_world['short']}").get_data(as_text=True)
    final = page[page.index('id="final-title"'):]
    assert '<span class="badge text-bg-secondary">Tidak terpilih</span>' in final
    assert "Tidak muat dalam sisa pagu Rp40.000.000. Kekurangan Rp10.000.000." in final
    assert '<span class="badge text-bg-warning">Ditunda</span> — Menunggu anggaran perubahan.' in final
    assert "Rp50.000.000</td>" in final  # the cost criterion's value, formatted as Rupiah
    public = owner.get(f"/hasil/{budget_world['session']}").get_data(as_text=True)
    assert '<span class="badge text-bg-warning">Ditunda</span>' in public
    assert "<title>Beranda · Musrenbang Tematik</title>" in client.get("/").get_data(as_text=True)
