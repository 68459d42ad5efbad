"""The hostile-input corpus on every form of sessions, proposals and intake, on both databases.

Whatever is typed into any field: never a server error, and either a clean 4xx that saved
nothing, or a save in which the text is stored as typed and shown escaped.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from participation.models import (
    AgendaItem,
    AuditEvent,
    Business,
    Category,
    Criterion,
    Decision,
    Invitation,
    Letterhead,
    Proposal,
    RankingSnapshot,
    Rating,
    ThemedSession,
    User,
)
from tests.conftest import app_db, csrf_token
from tests.factories import make_session
from tests.hostile import HOSTILE, corpus_for, is_server_error
from tests.proposals.test_proposals import FULL
from tests.sessions.test_sessions import NEW_SESSION


def counts(app):
    with app_db(app) as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (ThemedSession, Category, Criterion, Proposal, Business, Rating, Decision,
                                   RankingSnapshot, AgendaItem, Invitation, Letterhead))


@pytest.fixture
def world(make_world):
    return make_world(facilitator=True, owner=True)


def hammer(app, client, url, base: dict, fields, token_page=None):
    """Post every payload into every field; check the promises above."""
    corpus = corpus_for(app)
    for field in fields:
        for label, payload in corpus.items():
            before = counts(app)
            data = {**base, field: payload, "csrf_token": csrf_token(client, token_page or url)}
            response = client.post(url, data=data)
            assert not is_server_error(response), f"{url} {field}={label}: {response.status_code}"
            body = response.get_data(as_text=True)
            assert "<script>alert" not in body and "<img src=x" not in body, f"{field}={label} unescaped"
            if response.status_code >= 400:
                assert response.status_code in (400, 404, 409), f"{field}={label}: {response.status_code}"
                assert counts(app) == before, f"{url} {field}={label} saved something"
                assert 'value="49"' not in body and ">49<" not in body


def test_session_forms(app, client, world, login_as):
    login_as(world.planner)
    sid = world.session
    hammer(app, client, "/sesi/baru", NEW_SESSION, list(NEW_SESSION))
    hammer(app, client, f"/sesi/{sid}/ubah", NEW_SESSION, list(NEW_SESSION) + ["invitation_only"])
    hammer(app, client, f"/sesi/{sid}/kategori", {"name": "Kategori"}, ["name"], token_page=f"/sesi/{sid}")
    criterion = {"name": "Urgensi", "source": "rating", "direction": "1", "weight": "0,2", "scale_min": "1",
                 "scale_max": "5"}
    hammer(app, client, f"/sesi/{sid}/kriteria/{world.criteria[0]}", criterion, list(criterion))
    with app_db(app) as session:
        ids = [c.id for c in session.get(ThemedSession, sid).criteria]
    weights = {f"weight_{i}": "1" for i in ids} | {f"direction_{i}": "1" for i in ids}
    hammer(app, client, f"/sesi/{sid}/bobot", weights, [f"weight_{ids[0]}", f"direction_{ids[1]}"])
    hammer(app, client, f"/sesi/{sid}/status", {"action": "close"}, ["action"], token_page=f"/sesi/{sid}")
    hammer(app, client, f"/sesi/{sid}/tim", {"user_id": str(world.facilitator)}, ["user_id"],
           token_page=f"/sesi/{sid}")
    # Whatever was accepted shows up escaped, never evaluated.
    page = client.get(f"/sesi/{sid}").get_data(as_text=True)
    assert "<script>alert" not in page


def test_proposal_form(app, client, world, login_as):
    login_as(world.owner)
    url = f"/usulan/baru/{world.session}"
    base = {**FULL, "category_id": str(world.categories[0]), "action": "draft"}
    fields = ["title", "category_id", "problem", "description", "estimated_cost", "beneficiaries",
              "jobs_created", "kelurahan", "kecamatan", "idempotency_key", "action"]
    hammer(app, client, url, base, fields)
    page = client.get("/usulan/").get_data(as_text=True)
    assert "<script>alert" not in page and "{{7*7}}" in page  # accepted titles are shown literally


def test_paper_intake_blank_forms_roster_and_imports(app, client, world, login_as):
    from tests.intake.test_roster_and_paper import PAPER

    login_as(world.facilitator)
    sid = world.session
    hammer(app, client, f"/sesi/{sid}/usulan-kertas", {**PAPER, "category_id": str(world.categories[0])},
           ["paper_form_number", "nib", "business_name", "owner_name", "phone", "kbli_codes", "scale",
            "title", "category_id", "problem", "description", "estimated_cost", "beneficiaries",
            "jobs_created", "kelurahan", "kecamatan", "idempotency_key"])
    hammer(app, client, f"/sesi/{sid}/formulir-kosong", {"count": "2"}, ["count"])
    hammer(app, client, f"/sesi/{sid}/undangan", {"business_id": "1"}, ["business_id"],
           token_page=f"/sesi/{sid}/undangan")
    for label, payload in HOSTILE.items():
        response = client.get(f"/sesi/{sid}/undangan", query_string={"cari": payload})
        assert response.status_code == 200, label


def test_audit_log_renders_hostile_values_escaped(app, client, world, login_as, make_user):
    login_as(world.planner)
    client.post(f"/sesi/{world.session}/kategori",
                data={"name": "<script>alert('xss')</script>", "csrf_token": csrf_token(client, f"/sesi/{world.session}")})
    with app_db(app) as session:
        assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "session.category_added"))
    from tests.conftest import post_form

    post_form(client, "/keluar", {}, token_from="/")
    login_as(make_user("admin"))
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "<script>alert" not in page and "\\u003cscript\\u003e" in page or "&lt;script&gt;" in page


def test_review_forms(app, client, world, login_as):
    """Ratings, votes, decisions, AHP, finalisation and what-if weights."""
    from tests.factories import make_business, make_proposal

    with app_db(app) as session:
        from participation.models import SessionStatus

        themed_session = session.get(ThemedSession, world.session)
        proposal = make_proposal(themed_session, make_business(nib="4444444444444", name="Usaha Uji Nilai"))
        themed_session.status = SessionStatus.REVIEW
        criterion_ids = [c.id for c in themed_session.criteria]
        rating_ids = [c.id for c in themed_session.criteria if c.source.value == "rating"]
        pid = proposal.id
        session.commit()
    login_as(world.planner)
    sid = world.session
    rating = {f"rating_{cid}": "3" for cid in rating_ids} | {f"version_{cid}": "" for cid in rating_ids}
    hammer(app, client, f"/sesi/{sid}/penilaian/{pid}", rating,
           [f"rating_{rating_ids[0]}", f"version_{rating_ids[1]}"])
    hammer(app, client, f"/sesi/{sid}/suara", {f"votes_{pid}": "3"}, [f"votes_{pid}"])
    hammer(app, client, f"/sesi/{sid}/keputusan/{pid}", {"outcome": "deferred", "reason": "Menunggu data."},
           ["outcome", "reason", "correction_reason"])
    hammer(app, client, f"/sesi/{sid}/finalisasi", {"confirm": "FINAL"}, ["confirm", f"exclude_{pid}"])
    ahp = {f"p{a}_{b}": "1" for i, a in enumerate(criterion_ids) for b in criterion_ids[i + 1:]}
    hammer(app, client, f"/sesi/{sid}/ahp", ahp | {"action": "compute"},
           [next(iter(ahp)), "action", "override_reason"])
    weights = {f"w{cid}": "1" for cid in criterion_ids}
    with app_db(app) as session:
        saved = [c.weight for c in session.get(ThemedSession, sid).criteria]
    for label, payload in HOSTILE.items():
        response = client.post(f"/sesi/{sid}/peringkat/bobot", data=weights | {
            f"w{criterion_ids[0]}": payload, "csrf_token": csrf_token(client, f"/sesi/{sid}/peringkat")})
        assert response.status_code == 303, label
        with app_db(app) as session:
            stored = [c.weight for c in session.get(ThemedSession, sid).criteria]
        assert stored == saved, f"{label} was saved as a weight"
        page = client.get(response.headers["Location"])
        body = page.get_data(as_text=True)
        assert page.status_code == 200 and "<script>alert" not in body, label
        assert "Bobot tidak dapat disimpan" in body and "is-invalid" in body, label  # kept and marked
    for label, payload in HOSTILE.items():
        response = client.get(f"/sesi/{sid}/peringkat", query_string={f"w{criterion_ids[0]}": payload,
                                                                       "kategori": payload, "kecamatan": payload,
                                                                       "halaman": payload})
        assert response.status_code == 200, label
        assert "<script>alert" not in response.get_data(as_text=True)


# Below: forms and files the shared `hammer` does not reach. Each check is the same promise: never
# a server error, escaped output, and a refused request changes nothing at all.

def _assert_safe(url, label, response):
    assert not is_server_error(response), f"{url} {label}: {response.status_code}"
    body = response.get_data(as_text=True)
    assert "<script>alert" not in body and "<img src=x" not in body, f"{url} {label} unescaped"
    assert 'value="49"' not in body and ">49<" not in body, f"{url} {label} evaluated a template"
    if response.status_code >= 400:
        assert response.status_code in (400, 404, 409), f"{url} {label}: {response.status_code}"


def _proposal_row(app, proposal_id):
    with app_db(app) as session:
        proposal = session.get(Proposal, proposal_id)
        return {column.key: getattr(proposal, column.key) for column in Proposal.__table__.columns
                if column.key != "updated_at"}


def test_proposal_edit_form(app, client, world, login_as):
    """Every field of /usulan/<id>/ubah on a submitted proposal: a refused edit leaves it as it was."""
    from tests.factories import make_proposal

    with app_db(app) as session:
        owner = session.get(User, world.owner)
        proposal = make_proposal(session.get(ThemedSession, world.session), owner.business)
        pid = proposal.id
        session.commit()
    login_as(world.owner)
    url = f"/usulan/{pid}/ubah"
    base = {**FULL, "category_id": str(world.categories[0]), "action": "save"}
    token = csrf_token(client, url)
    for field in ["title", "category_id", "problem", "description", "estimated_cost", "beneficiaries",
                  "jobs_created", "kelurahan", "kecamatan", "action"]:
        for label, payload in corpus_for(app).items():
            before = _proposal_row(app, pid)
            response = client.post(url, data={**base, field: payload, "csrf_token": token})
            _assert_safe(url, f"{field}={label}", response)
            if response.status_code >= 400:
                assert _proposal_row(app, pid) == before, f"{field}={label} half-saved an edit"
            else:
                assert response.status_code == 303, f"{field}={label}: {response.status_code}"
    page = client.get(f"/usulan/{pid}").get_data(as_text=True)
    assert "<script>alert" not in page


def test_add_criterion_form(app, client, world, login_as):
    """/sesi/<id>/kriteria/baru takes new criteria only in a draft session."""
    from participation.models import SessionStatus

    with app_db(app) as session:
        draft = make_session(session.get(User, world.planner), status=SessionStatus.DRAFT,
                             title="Musrenbang Draf")
        sid = draft.id
        session.commit()
    login_as(world.planner)
    criterion = {"name": "Dampak lingkungan", "source": "rating", "direction": "1", "weight": "0,1",
                 "scale_min": "1", "scale_max": "5"}
    hammer(app, client, f"/sesi/{sid}/kriteria/baru", criterion, list(criterion))
    page = client.get(f"/sesi/{sid}").get_data(as_text=True)
    assert "<script>alert" not in page and "{{7*7}}" in page


def test_paper_form_with_a_fresh_form_number_each_time(app, client, world, login_as):
    """Like the paper hammer above, but no case is turned away early for a reused form number."""
    from tests.intake.test_roster_and_paper import PAPER

    login_as(world.facilitator)
    url = f"/sesi/{world.session}/usulan-kertas"
    token = csrf_token(client, url)
    number = 0
    corpus = corpus_for(app)
    for field in [name for name in PAPER if name != "paper_form_number"]:
        for label, payload in corpus.items():
            number += 1
            before = counts(app)
            data = {**PAPER, "category_id": str(world.categories[0]), "paper_form_number": f"H-{number:04d}",
                    "nib": f"{3300000000000 + number:013d}", field: payload, "csrf_token": token}
            response = client.post(url, data=data)
            _assert_safe(url, f"{field}={label}", response)
            if response.status_code >= 400:
                assert counts(app) == before, f"{field}={label} saved something"
    with app_db(app) as session:
        stored = session.scalars(select(Proposal.title)).all()
    if "formula" in corpus:
        assert HOSTILE["formula"] in stored  # a formula is kept as the text that was typed


# Import files: every payload in every column, as CSV and as XLSX.

IMPORT_TEXT_COLUMNS = {  # column -> (model, attribute) where accepted text is stored as typed
    "nama_usaha": (Business, "name"), "nama_pemilik": (Business, "owner_name"), "alamat": (Business, "address"),
    "judul": (Proposal, "title"), "masalah": (Proposal, "problem"), "deskripsi": (Proposal, "description"),
}


def _business_cells(n: int) -> dict:
    return {"nib": f"{3400000000000 + n:013d}", "nama_usaha": f"Usaha Berkas {n}", "nama_pemilik": "Sri Handayani",
            "kbli": "13134", "skala": "kecil", "kelurahan": "Kauman", "kecamatan": "Karanganyar",
            "telepon": "0812-1111-2222", "alamat": "Jl. Melati 1", "bentuk_usaha": "cv", "modal": "50.000.000",
            "omzet": "120.000.000", "tenaga_kerja_laki": "2", "tenaga_kerja_perempuan": "3", "sertifikat": "halal",
            "konfirmasi_akun": ""}


def _proposal_cells(n: int) -> dict:
    return {"nib": "3201010000001", "nama_usaha": "Keripik Tempe Bu Siti", "judul": f"Mesin pengemas vakum {n}",
            "masalah": "Kemasan manual.", "deskripsi": "Pengadaan mesin.", "kategori": "Bantuan peralatan",
            "perkiraan_biaya": "45.000.000", "penerima_manfaat": "25", "tenaga_kerja_baru": "3",
            "kelurahan": "Sukamaju", "kecamatan": "Sukamaju", "nomor_formulir": f"B-{n}", "konfirmasi_akun": "",
            "volume": "20", "satuan": "paket"}


def _roster_cells(n: int) -> dict:
    return {"nib": "3201010000001", "nama_usaha": "UD Keripik Tempe Bu Siti", "konfirmasi_akun": ""}


def _file(fmt: str, header: list[str], rows: list[dict]) -> bytes | None:
    """The rows as a CSV (properly quoted) or an XLSX of text cells; None when XLSX cannot hold them."""
    import csv
    import io

    if fmt == "csv":
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows([[row[name] for name in header] for row in rows])
        return buffer.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook
    from openpyxl.utils.exceptions import IllegalCharacterError

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    try:
        for r, row in enumerate(rows, start=2):
            for c, name in enumerate(header, start=1):
                cell = sheet.cell(row=r, column=c, value=row[name])
                cell.data_type = "s"  # typed text, even when it starts with "=": not a formula cell
    except IllegalCharacterError:
        return None  # NUL and other controls cannot be written into an XLSX file at all
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _import_counts(app):
    from participation.models import Invitation

    with app_db(app) as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (Business, Proposal, Invitation))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", ["usaha", "undangan", "undangan-singkat", "usulan"])
def test_import_files_cell_by_cell(app, client, world, login_as, kind, fmt):
    """A good row and a row with the payload: both saved (payload kept as text) or neither."""
    import io
    import re
    import unicodedata

    from participation.intake.imports import BUSINESS_COLUMNS, PROPOSAL_COLUMNS, ROSTER_COLUMNS
    from tests.factories import make_business

    with app_db(app) as session:
        make_business(nib="3201010000001", name="UD Keripik Tempe Bu Siti")
        session.get(ThemedSession, world.session).max_proposals_per_business = 10_000
        session.commit()
    sid = world.session
    url, columns, cells, grows = {
        "usaha": ("/impor/usaha", BUSINESS_COLUMNS, _business_cells, (2, 0, 0)),
        "undangan": (f"/sesi/{sid}/undangan/impor", BUSINESS_COLUMNS, _business_cells, (2, 0, 2)),
        "undangan-singkat": (f"/sesi/{sid}/undangan/impor", ROSTER_COLUMNS, _roster_cells, (0, 0, None)),
        "usulan": (f"/sesi/{sid}/impor-usulan", PROPOSAL_COLUMNS, _proposal_cells, (0, 2, 0)),
    }[kind]
    login_as(world.planner)
    token = csrf_token(client, f"/sesi/{sid}/undangan" if "undangan" in kind else url)
    header, case = list(columns), 0
    for column in header:
        for label, payload in corpus_for(app).items():
            case += 2
            data = _file(fmt, header, [cells(case), {**cells(case + 1), column: payload}])
            if data is None:
                continue
            before = _import_counts(app)
            response = client.post(url, data={"csrf_token": token, "file": (io.BytesIO(data), f"berkas.{fmt}")},
                                   content_type="multipart/form-data")
            where = f"{kind}.{fmt} {column}={label}"
            _assert_safe(url, where, response)
            after = _import_counts(app)
            if response.status_code >= 400:
                assert after == before, f"{where} saved something"
                continue
            assert response.status_code == 303, f"{where}: {response.status_code}"
            for was, now, grew in zip(before, after, grows, strict=True):
                assert grew is None or now == was + grew, f"{where}: {before} -> {after}"
            # Stored NFC, line breaks as \n, trimmed, invisible characters (zero-width space...) dropped.
            visible = re.sub("[\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff]", "", payload)
            expected = unicodedata.normalize("NFC", visible).replace("\r\n", "\n").strip()
            if column in IMPORT_TEXT_COLUMNS and expected:
                model, attribute = IMPORT_TEXT_COLUMNS[column]
                with app_db(app) as session:
                    latest = session.scalars(select(getattr(model, attribute)).order_by(model.id.desc())).first()
                assert latest == expected, f"{where} stored {latest!r}"  # formulas too: text, as typed


def test_public_results_search(app, client, world):
    """The public results' search (a GET form): whatever is typed, 200 with the query shown escaped."""
    from tests.factories import make_finalized_session

    with app_db(app) as session:
        finalized = make_finalized_session(session.get(User, world.planner), session.get(User, world.owner).business)
        sid = finalized.id
        receipt = session.scalar(select(Proposal.receipt_number).where(Proposal.session_id == sid))
        session.commit()
    for label, payload in HOSTILE.items():
        for params in ({"q": payload}, {"q": payload, "didanai": "1"}, {"didanai": payload}):
            response = client.get(f"/hasil/{sid}", query_string=params)
            assert response.status_code == 200, f"{label} {params.keys()}"
            body = response.get_data(as_text=True)
            assert "<script>alert" not in body and "<img src=x" not in body, f"{label} unescaped"
            assert "Tidak ada usulan yang cocok dengan pencarian ini." in body or receipt in body
    assert receipt in client.get(f"/hasil/{sid}", query_string={"q": receipt.lower()}).get_data(as_text=True)
