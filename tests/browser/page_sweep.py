"""The page sweep behind test_every_page.py: which pages each role visits, the seeded world, the checks on each page."""
from __future__ import annotations

from tests.browser.conftest import LIVE_APPS, WCAG_21_AA, screenshot
from tests.conftest import STAFF_PASSWORD, TEST_PASSWORD, app_db, staff_code
from tests.test_access_control import ACCESS, REQUESTS, build_world as access_world, resolve, url_for_case

PHONE, PHONE_SMALL, DESK = 390, 360, 1366
WIDTH = {"anonymous": PHONE, "proponent": PHONE, "planner": DESK, "facilitator": DESK, "admin": DESK}

# GET routes that are not pages a person reads in the browser, so they are not visited here.
NOT_PAGES = {
    "static": "stylesheets, scripts and fonts",
    "health.healthz": "the load balancer's probe, JSON",
    "wellknown.security_txt": "plain text for security researchers",
    "privacy.download": "a ZIP download of one's personal data",
    "intake.import_template": "a CSV template download",
    "documents.logo": "the letterhead's image",
    "documents.pdf": "a PDF download (tests/documents render the PDFs)",
    "proposals.receipt_pdf": "a PDF download (tests/proposals render it)",
    "proposals.attachment": "the uploaded file itself",
    "review.export": "the XLSX, CSV and JSON downloads",
    "followup.export": "the follow-up's XLSX and CSV downloads",
    "followup.photo": "a follow-up update's photo itself",
    "review.export_sipd": "the SIPD-layout XLSX download (tests/review/test_sipd_export.py reads it)",
    "jobs.download": "a background job's file",
    "jobs.status": "JSON polled by the job page",
    # The API (DESIGN §9): JSON, and a reference page drawn by the vendored Swagger UI, which
    # tests/browser/test_api_docs.py opens at 1366 and 390 px with its CSP checked.
    "api_reference.openapi": "the OpenAPI document, JSON",
    "api_reference.docs": "the API reference, drawn by Swagger UI (tests/browser/test_api_docs.py)",
    "api.list_sessions": "API JSON",
    "api.get_session": "API JSON",
    "api.get_results": "API JSON",
    "api.get_follow_up": "API JSON",
    "api.session_proposals": "API JSON (a token's)",
    "api.session_ranking": "API JSON (a token's)",
    "api.my_proposals": "API JSON (a token's)",
    "api.get_proposal": "API JSON (a token's)",
    # Opened only from a mail's signed link (the access table sends a dead token: 410 Gone);
    # tests/browser/test_password_reset_pages.py opens both from the mail that arrived, at 390 px, with axe.
    "recovery.reset": "the new-password page behind a reset link",
    "recovery.verify": "the confirmation page behind a verification link",
}
# Pages on the way in: the second step of a staff sign-in, seen while each staff role signs in.
SIGN_IN_PAGES = {"two_factor.enroll", "two_factor.verify"}
# Pages the access table reaches in a state where they answer with a redirect: visited here in the
# state where they are pages, by the roles given.
STATE_PAGES = {
    "sessions.add_criterion": ({"session_id": "@draft_session"}, ("planner", "admin")),
}
# Every printed document has its own HTML page.
VARIANTS = {"documents.view": [{"slug": slug} for slug in ("undangan", "acara", "daftar-hadir", "berita-acara")]}

# Is the page, or the scroll box of any table on it, wider than what it shows? (The table's box is its
# nearest ancestor that clips or scrolls; a table with none must fit the page.)
OVERFLOW = """() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) problems.push(`page ${root.scrollWidth} > ${root.clientWidth}`);
  for (const table of document.querySelectorAll('table')) {
    if (!table.getClientRects().length) continue;  // inside a closed <details>
    let box = table.parentElement;
    while (box && box !== document.body && !['auto', 'scroll', 'hidden'].includes(getComputedStyle(box).overflowX)) {
      box = box.parentElement;
    }
    const name = table.className || table.querySelector('caption')?.textContent.trim().slice(0, 40) || 'table';
    if (box && box !== document.body) {
      if (box.scrollWidth > box.clientWidth) problems.push(`${name}: ${box.scrollWidth} > ${box.clientWidth}`);
    } else if (table.getBoundingClientRect().right > root.clientWidth + 0.5) {
      problems.push(`${name} reaches ${table.getBoundingClientRect().right} of ${root.clientWidth}`);
    }
  }
  return problems;
}"""

LONG_TITLE = ("Pengadaan mesin pengemas vakum, pelatihan keamanan pangan dan pendampingan sertifikasi halal "
              "untuk kelompok pengrajin keripik singkong Kelurahan Sukamaju")


def build_rich_world(app) -> dict:
    """The access table's world, plus a finalised session that has something to show, and a draft session."""
    from participation.models import Outcome, Proposal, SessionStatus, User
    from participation.review.services import decide, finalize, record_votes
    from tests.factories import as_actor, make_business, make_proposal, make_session, rate

    world = access_world(app)
    with app_db(app) as session:
        planner = session.scalar(session.query(User).filter_by(email="planner@contoh.id").statement)
        facilitator = session.scalar(session.query(User).filter_by(email="facilitator@contoh.id").statement)
        owner = session.scalar(session.query(User).filter_by(email="proponent@contoh.id").statement)
        draft_session = make_session(planner, status=SessionStatus.DRAFT, title="Musrenbang Tematik Rancangan")
        themed = make_session(planner, members=[facilitator], title="Musrenbang Tematik IKM 2027",
                              budget_ceiling=100_000_000)
        places = ["Cibeunying", "Coblong", "Sukajadi", "Lengkong", "Cibeunying", "Antapani"]
        costs = [40_000_000, 25_000_000, 60_000_000, 30_000_000, 20_000_000, 45_000_000]
        proposals = []
        for n, (place, cost) in enumerate(zip(places, costs, strict=True)):
            business = owner.business if n == 0 else make_business(nib=f"{5_000_000_000_000 + n}",
                                                                   name=f"CV Maju Bersama {n}", kecamatan=place)
            proposals.append(make_proposal(themed, business, category_id=themed.categories[n % 3].id,
                                           title=LONG_TITLE if n == 0 else f"Pelatihan pemasaran daring angkatan {n}",
                                           estimated_cost=cost, beneficiaries=10 + 7 * n, jobs_created=n % 4,
                                           kecamatan=place, kelurahan="Sukamaju"))
        rate(proposals, [planner], lambda p, c, u: 1 + (p.id * 3 + c.id) % 5)
        themed.status = SessionStatus.REVIEW
        session.flush()
        record_votes(themed, {p.id: 3 + n for n, p in enumerate(proposals)}, as_actor(planner))
        outcomes = [Outcome.PRIORITIZED, Outcome.PRIORITIZED, Outcome.DEFERRED, Outcome.REJECTED,
                    Outcome.PRIORITIZED, Outcome.DEFERRED]
        for proposal, outcome in zip(proposals, outcomes, strict=True):
            decide(proposal, outcome, f"Alasan keputusan untuk {proposal.receipt_number}.", as_actor(planner))
        finalize(themed, {}, as_actor(planner))
        record_follow_up(themed, planner)
        session.commit()
        ranked = session.query(Proposal).filter(Proposal.session_id == themed.id).all()
        world.update(draft_session=draft_session.id, finalized_session=themed.id, rich_session=themed.id,
                     owner_final=proposals[0].id, rich_criteria=len(themed.criteria), rich_receipts={p.id: p.receipt_number for p in ranked})
    return world


def record_follow_up(themed, planner) -> None:
    """Updates on the funded proposals in two months, one cancelled, so the public page draws its chart."""
    from datetime import timedelta

    from participation.followup.services import follow_ups_of, record_update, today
    from participation.models import FollowUpStatus
    from tests.factories import as_actor

    first, second, *rest = follow_ups_of(themed)
    earlier = today().replace(day=1) - timedelta(days=10)
    record_update(as_actor(planner), first, earlier, FollowUpStatus.IN_PROGRESS, 30, 10_000_000, "Tahap pertama")
    record_update(as_actor(planner), first, today(), FollowUpStatus.COMPLETED, 100, 38_000_000, "Diserahterimakan")
    record_update(as_actor(planner), second, today(), FollowUpStatus.CANCELLED, 0, 0, "", "Pelaku usaha pindah kota")


def get_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}


def pages_of(app, role: str) -> list[tuple[str, str]]:
    """(endpoint, URL) of every page `role` may open, in the url_map's order."""
    world = app.config["WORLD"]
    pages = []
    for endpoint in sorted(get_endpoints(app) - NOT_PAGES.keys() - SIGN_IN_PAGES):
        if endpoint in STATE_PAGES:
            values, roles = STATE_PAGES[endpoint]
            if role in roles:
                pages.append((endpoint, url_for_case(app, endpoint, resolve({"values": values}, world)[0])))
            continue
        if ACCESS.get((endpoint, "GET"), {}).get(role) != 200:
            continue
        base = REQUESTS.get((endpoint, "GET"), {})
        for variant in VARIANTS.get(endpoint, [{}]):
            values, _ = resolve({**base, "values": {**base.get("values", {}), **variant}}, world)
            pages.append((f"{endpoint}{'-' + variant['slug'] if variant else ''}", url_for_case(app, endpoint, values)))
    return pages


def axe_violations(page) -> list[dict]:
    """tests/browser/conftest.py's axe_violations, with axe-core already loaded by the context's init script
    (sending its 570 kB to every one of some 140 pages would cost more than the checks)."""
    results = page.evaluate("options => axe.run(document, options)", {**WCAG_21_AA, "resultTypes": ["violations"]})
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in results["violations"]]


def check_page(page, name: str, role: str) -> None:
    """A heading that says where one is, no sideways scrolling (also at 360 px on a phone), no axe
    violation; a screenshot kept."""
    # A printed document (print.html, body.on-screen) is a letter: its title is the page's <title>.
    heading = page.locator("h1").first
    if page.locator("body.on-screen").count():
        assert page.title().strip() and page.locator("main").inner_text().strip(), f"{name} ({role}) is empty"
    else:
        assert heading.is_visible() and heading.inner_text().strip(), f"{name} ({role}, {page.url}) has no visible h1"
    assert page.evaluate(OVERFLOW) == [], f"{name} ({role}, {page.url}) scrolls sideways"
    if WIDTH[role] == PHONE:
        page.set_viewport_size({"width": PHONE_SMALL, "height": 800})
        assert page.evaluate(OVERFLOW) == [], f"{name} ({role}, {page.url}) scrolls sideways at 360 px"
        page.set_viewport_size({"width": PHONE, "height": 844})
    assert axe_violations(page) == [], f"{name} ({role}, {page.url})"
    screenshot(page, f"pages/{role}-{name}")


def sign_in(page, base: str, role: str) -> None:
    page.goto(base + "/masuk")
    page.get_by_label("Email").fill(f"{role}@contoh.id")
    page.get_by_label("Kata sandi").fill(STAFF_PASSWORD if role in ("planner", "facilitator", "admin") else TEST_PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    page.wait_for_load_state()
    if role in ("planner", "facilitator", "admin"):
        # The second step: enrolment the first time (the test enrols the secret directly), then the code.
        assert page.url.endswith("/masuk/aktifkan-verifikasi")
        check_page(page, "two_factor.enroll", role)
        code = staff_code(LIVE_APPS[base], f"{role}@contoh.id")
        page.goto(base + "/masuk/verifikasi")
        check_page(page, "two_factor.verify", role)
        page.get_by_label("Kode", exact=True).fill(code)
        page.get_by_role("button", name="Verifikasi dan masuk").click()
        page.wait_for_load_state()
    assert "/masuk" not in page.url, f"{role} could not sign in: {page.url}"

