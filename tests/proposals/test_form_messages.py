"""What the proposal form tells a person (issue 11, Forms), on both databases.

An empty submission lists every missing field at once; a bad number gets one accurate message
with an example that fits; labels say "(opsional)" once; a draft's unset numbers read "–".
"""
from __future__ import annotations

import html
import io
import json
import re
import zipfile

import pytest
from sqlalchemy import select

from participation.models import Proposal, ProposalStatus, SessionStatus, ThemedSession, User
from tests.conftest import app_db, post_form
from tests.factories import make_business, make_proposal
from tests.proposals.test_proposals import new_form, proposals

EMPTY = {name: "" for name in ("title", "category_id", "problem", "description", "estimated_cost",
                               "beneficiaries", "jobs_created", "kelurahan", "kecamatan")}


@pytest.fixture
def world(make_world, login_as):
    world = make_world(facilitator=True, owner=True)
    login_as(world.owner)
    return world


def summary_items(body: str) -> list[str]:
    """The error summary's lines as a person reads them ("Label: message")."""
    block = re.search(r'<div class="alert alert-danger error-summary".*?</ul>', body, re.S)
    assert block, "no error summary on the page"
    items = re.findall(r"<li>(.*?)</li>", block.group(0), re.S)
    return [html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", item))).strip() for item in items]


def field_messages(body: str, field_id: str) -> str:
    """The message shown under one field."""
    match = re.search(rf'<div class="invalid-feedback" id="{field_id}-error">(.*?)</div>', body, re.S)
    return html.unescape(match.group(1)) if match else ""


def post_new(client, world, action="submit", **data):
    token, key = new_form(client, world)
    return client.post(f"/usulan/baru/{world.session}",
                       data={**EMPTY, **data, "csrf_token": token, "idempotency_key": key, "action": action})


def test_an_empty_submission_lists_every_missing_field_at_once_in_page_order(app, client, world):
    response = post_new(client, world)
    assert response.status_code == 400
    assert summary_items(response.get_data(as_text=True)) == [
        "Judul usulan: Isi judul.",
        "Jenis dukungan: Wajib diisi sebelum mengirim.",
        "Permasalahan: Wajib diisi sebelum mengirim.",
        "Uraian kegiatan: Wajib diisi sebelum mengirim.",
        "Perkiraan biaya (Rupiah): Wajib diisi sebelum mengirim.",
        "Penerima manfaat (orang): Wajib diisi sebelum mengirim.",
        "Tenaga kerja baru: Wajib diisi sebelum mengirim.",
        # The kelurahan and kecamatan left empty are the business's own: not missing.
    ]
    assert proposals(app) == []
    # A draft needs only its title: saving an empty one names that alone.
    draft = post_new(client, world, action="draft")
    assert summary_items(draft.get_data(as_text=True)) == ["Judul usulan: Isi judul."]


def test_submitting_a_draft_from_its_edit_page_lists_every_missing_field(app, client, world):
    assert post_new(client, world, action="draft", title="Mesin pengemas vakum").status_code == 303
    [draft] = proposals(app)
    response = post_form(client, f"/usulan/{draft.id}/ubah", {**EMPTY, "title": "abc", "action": "submit"})
    items = summary_items(response.get_data(as_text=True))
    assert items[0] == "Judul usulan: Judul harus 5 sampai 200 karakter."
    assert "Perkiraan biaya (Rupiah): Wajib diisi sebelum mengirim." in items and len(items) == 7
    assert proposals(app)[0].title == "Mesin pengemas vakum"


@pytest.mark.parametrize(("field", "typed", "message"), [
    ("estimated_cost", "0", "Perkiraan biaya harus lebih dari nol."),
    ("estimated_cost", "lima juta", "Isi bilangan bulat, misalnya 15.000.000."),
    ("estimated_cost", "99.999.999.999.999", "Perkiraan biaya paling banyak Rp10.000.000.000.000."),
    ("estimated_cost", "-5", "Perkiraan biaya harus lebih dari nol."),
    ("beneficiaries", "-5", "Isi bilangan bulat dari 0 sampai 10.000.000."),
    ("beneficiaries", "banyak", "Isi bilangan bulat, misalnya 25."),
    ("beneficiaries", "20.000.000", "Isi bilangan bulat dari 0 sampai 10.000.000."),
    ("jobs_created", "2,5", "Isi bilangan bulat, misalnya 3."),
    ("jobs_created", "1.500.000", "Isi bilangan bulat dari 0 sampai 1.000.000."),
    ("jobs_created", "9" * 400, "Isi bilangan bulat dari 0 sampai 1.000.000."),
])
def test_a_bad_number_gets_one_accurate_message(app, client, world, field, typed, message):
    response = post_new(client, world, action="draft", title="Mesin pengemas vakum", **{field: typed})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_messages(body, field) == message  # one message, not two joined
    label = {"estimated_cost": "Perkiraan biaya (Rupiah)", "beneficiaries": "Penerima manfaat (orang)",
             "jobs_created": "Tenaga kerja baru"}[field]
    assert summary_items(body) == [f"{label}: {message}"]
    assert f'value="{typed}"' in body  # kept as typed
    assert proposals(app) == []


def test_every_number_fields_example_fits_its_limits(app):
    from participation.auth.forms import RegisterForm
    from participation.forms import WholeNumberField
    from participation.proposals.forms import PaperProposalForm
    from participation.sessions.forms import SessionForm

    with app.test_request_context():
        checked = 0
        for form_class in (PaperProposalForm, RegisterForm, SessionForm):
            for field in form_class(meta={"csrf": False}):
                if isinstance(field, WholeNumberField):
                    assert field.example is not None, field.name
                    assert field.minimum <= field.example <= field.maximum, field.name
                    checked += 1
        assert checked == 8


def test_no_label_says_optional_twice(app, client, world, login_as):
    pages = [f"/usulan/baru/{world.session}"]
    for path in pages:
        body = client.get(path).get_data(as_text=True)
        labels = re.findall(r"<label[^>]*>(.*?)</label>\s*(<span[^>]*>\(opsional\)</span>)?", body, re.S)
        assert labels
        for text, marker in labels:
            assert not ("opsional" in text and marker), text
        assert "Lampiran (opsional)" not in body
        assert re.search(r'<label class="form-label" for="attachment">Lampiran</label> '
                         r'<span class="text-body-secondary small">\(opsional\)</span>', body)


def test_a_drafts_unset_numbers_show_a_dash_and_are_stored_as_unset(app, client, world):
    assert post_new(client, world, action="draft", title="Mesin pengemas vakum").status_code == 303
    [draft] = proposals(app)
    assert (draft.estimated_cost, draft.beneficiaries, draft.jobs_created) == (None, None, None)
    page = client.get(f"/usulan/{draft.id}").get_data(as_text=True)
    for label in ("Perkiraan biaya", "Penerima manfaat", "Tenaga kerja baru"):
        assert re.search(rf"<dt class=\"col-6\">{label}</dt><dd class=\"col-6\">–</dd>", page), label
    assert "Rp0" not in page
    assert "Rp0" not in client.get("/usulan/").get_data(as_text=True)
    edit = client.get(f"/usulan/{draft.id}/ubah").get_data(as_text=True)
    assert 'id="estimated_cost" inputmode="numeric" name="estimated_cost" type="text" value=""' in edit
    # 0 typed in is kept as 0 (a real answer), and shown as such.
    response = post_form(client, f"/usulan/{draft.id}/ubah", {**EMPTY, "title": "Mesin pengemas vakum",
                                                               "beneficiaries": "0", "action": "draft"})
    assert response.status_code == 303
    assert proposals(app)[0].beneficiaries == 0
    page = client.get(f"/usulan/{draft.id}").get_data(as_text=True)
    assert '<dt class="col-6">Penerima manfaat</dt><dd class="col-6">0</dd>' in page
    # Submitting it with numbers unset is refused, the fields marked, as before.
    response = post_form(client, f"/usulan/{draft.id}/kirim", {}, token_from=f"/usulan/{draft.id}")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/usulan/{draft.id}/ubah")
    assert proposals(app)[0].status is ProposalStatus.DRAFT


def test_a_draft_emptied_of_its_numbers_goes_back_to_unset(app, client, world):
    assert post_new(client, world, action="draft", title="Mesin pengemas vakum", estimated_cost="5.000.000",
                    beneficiaries="4", jobs_created="1").status_code == 303
    [draft] = proposals(app)
    assert (draft.estimated_cost, draft.beneficiaries, draft.jobs_created) == (5_000_000, 4, 1)
    response = post_form(client, f"/usulan/{draft.id}/ubah", {**EMPTY, "title": "Mesin pengemas vakum",
                                                               "action": "draft"})
    assert response.status_code == 303
    assert (proposals(app)[0].estimated_cost, proposals(app)[0].beneficiaries) == (None, None)


def test_readers_of_the_numbers_take_a_draft_with_none_of_them(app, client, world, login_as):
    """Ranking, exports, the owner's data.zip and the staff list, with a draft whose numbers are unset."""
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        submitted = make_proposal(themed_session, make_business(nib="5555555555555", name="Usaha Lengkap"))
        draft = make_proposal(themed_session, session.get(User, world.owner).business, submit=False,
                              title="Draf tanpa angka", estimated_cost=None, beneficiaries=None, jobs_created=None)
        draft_id, receipt = draft.id, submitted.receipt_number
        themed_session.status = SessionStatus.REVIEW
        session.commit()
    with app_db(app) as session:
        stored = session.get(Proposal, draft_id)
        assert (stored.estimated_cost, stored.beneficiaries, stored.jobs_created) == (None, None, None)
    archive = zipfile.ZipFile(io.BytesIO(client.get("/akun/data.zip").data))
    data = json.loads(archive.read("data.json"))
    [mine] = [p for p in data["proposals"] if p["id"] == draft_id]
    assert (mine["estimated_cost"], mine["beneficiaries"], mine["jobs_created"]) == (None, None, None)
    post_form(client, "/keluar", {}, token_from="/")
    login_as(world.planner)
    sid = world.session
    assert client.get(f"/sesi/{sid}/peringkat").status_code == 200
    exported = client.get(f"/sesi/{sid}/peringkat.json").get_json()
    assert [line["receipt_number"] for line in exported["proposals"]] == [receipt]
    assert all(isinstance(line["estimated_cost"], int) for line in exported["proposals"])
    for fmt in ("csv", "xlsx"):
        assert client.get(f"/sesi/{sid}/peringkat.{fmt}").status_code == 200
    staff_list = client.get(f"/sesi/{sid}/usulan").get_data(as_text=True)
    assert "Rp0" not in staff_list
    with app_db(app) as session:
        assert session.scalar(select(Proposal.estimated_cost).where(Proposal.id == draft_id)) is None


@pytest.mark.parametrize(("typed", "errors"), [
    ("dua ribu", ["Isi tahun antara 2020 dan 2100."]),
    ("99999999999", ["Isi tahun antara 2020 dan 2100."]),
    ("1999", ["Isi tahun antara 2020 dan 2100."]),
    ("", ["Isi tahun anggaran."]),
])
def test_a_small_integer_gets_one_message_too(app, typed, errors):
    from werkzeug.datastructures import MultiDict

    from participation.sessions.forms import SessionForm

    with app.test_request_context():
        form = SessionForm(formdata=MultiDict({"fiscal_year": typed}), meta={"csrf": False})
        form.validate()
        assert form.fiscal_year.errors == errors
