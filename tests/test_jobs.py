"""Background jobs: queued in the database, run by the worker once, followed on their page."""
from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from participation import jobs
from participation.extensions import db
from participation.models import (
    AuditEvent,
    Business,
    Category,
    Job,
    JobState,
    Proposal,
    ProposalStatusChange,
    ReceiptCounter,
    User,
    utcnow,
)
from tests.conftest import STAFF_PASSWORD, app_db, login, post_form
from tests.factories import as_actor, make_business

TEST_KINDS = ("test_count", "test_crash", "test_refuse", "test_write")


@pytest.fixture(autouse=True)
def test_kinds():
    """Job kinds that exist only in these tests."""
    ran: list[int] = []
    lock = threading.Lock()

    def summary(job):
        return f"counted {job.result['n']}"

    @jobs.handler("test_count", title="Test", summary=summary, back=lambda job: None)
    def count(job, actor, progress):
        progress(0, 3)
        for done in range(1, 4):
            progress(done, 3)
        with lock:
            ran.append(job.id)
        return jobs.Outcome({"n": 3, "actor": actor.user_id, "channel": actor.channel.value})

    @jobs.handler("test_crash", title="Test", summary=summary, back=lambda job: None)
    def crash(job, actor, progress):
        make_business(None, nib="9999999999999", name="Tidak Tersimpan")
        raise RuntimeError("boom")

    @jobs.handler("test_refuse", title="Test", summary=summary, back=lambda job: None)
    def refuse(job, actor, progress):
        make_business(None, nib="9999999999998", name="Juga Tidak Tersimpan")
        db.session.rollback()
        return jobs.Outcome({"message": "refused"}, ok=False)

    @jobs.handler("test_write", title="Test", summary=summary, back=lambda job: None)
    def write(job, actor, progress):
        make_business(None, nib="9999999999997", name="Tersimpan Bersama")
        return jobs.Outcome({"n": 1}, output_name="hasil.pdf", output_type="application/pdf",
                            output_data=b"%PDF-1.7 test")

    yield ran
    for kind in TEST_KINDS:
        jobs.HANDLERS.pop(kind, None)


def queue(app, user_id: int, kind: str, n: int = 1) -> list[int]:
    with app_db(app) as session:
        user = session.get(User, user_id)
        ids = [jobs.enqueue(kind, as_actor(user)).id for _ in range(n)]
        session.commit()
        return ids


def test_a_job_runs_once_as_its_user_and_keeps_its_progress_and_result(app, make_user, test_kinds):
    planner = make_user("planner")
    [job_id] = queue(app, planner, "test_count")
    with app.app_context():
        assert jobs.run_due() == 1
        assert jobs.run_due() == 0  # nothing runs twice
        job = db.session.get(Job, job_id)
        assert job.state is JobState.DONE and job.attempts == 1
        assert (job.done, job.total, job.percent) == (3, 3, 100)
        assert job.result == {"n": 3, "actor": planner, "channel": "cli"}
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "Job")).all()
        assert actions == ["job.queued", "job.finished"]
    assert test_kinds == [job_id]


@pytest.mark.provokes_server_error  # the job's traceback is logged on purpose
def test_a_crashing_job_fails_visibly_and_keeps_none_of_its_writes(app, make_user):
    planner = make_user("planner")
    [job_id] = queue(app, planner, "test_crash")
    with app.app_context():
        assert jobs.run_due() == 1
        job = db.session.get(Job, job_id)
        assert job.state is JobState.FAILED and job.result["error"] == "crashed"
        assert job.result["message"] == "Pekerjaan terhenti karena galat yang tidak terduga."
        assert db.session.scalar(select(func.count(Business.id))) == 0


def test_a_refused_job_fails_with_its_reason_and_a_finished_one_commits_with_its_writes(app, make_user):
    planner = make_user("planner")
    refused, written = queue(app, planner, "test_refuse") + queue(app, planner, "test_write")
    with app.app_context():
        assert jobs.run_due() == 2
        assert db.session.get(Job, refused).state is JobState.FAILED
        assert db.session.get(Job, refused).result == {"message": "refused"}
        assert db.session.get(Job, written).state is JobState.DONE
        assert db.session.scalars(select(Business.nib)).all() == ["9999999999997"]


def test_a_job_whose_worker_died_is_taken_up_again_and_given_up_after_three_tries(app, make_user, test_kinds):
    planner = make_user("planner")
    [job_id] = queue(app, planner, "test_count")
    with app.app_context():
        job = db.session.get(Job, job_id)
        job.state, job.attempts, job.lease_until = JobState.RUNNING, 1, utcnow() + timedelta(minutes=5)
        db.session.commit()
        assert jobs.run_due() == 0  # its lease still runs: another worker has it
        job = db.session.get(Job, job_id)
        job.lease_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert jobs.run_due() == 1
        job = db.session.get(Job, job_id)
        assert job.state is JobState.DONE and job.attempts == 2
        db.session.remove()

    [stuck] = queue(app, planner, "test_count")
    with app.app_context():
        job = db.session.get(Job, stuck)
        job.state, job.attempts, job.lease_until = JobState.RUNNING, jobs.MAX_ATTEMPTS, utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert jobs.run_due() == 0
        job = db.session.get(Job, stuck)
        assert job.state is JobState.FAILED and job.result == {"error": "gave_up"}
    assert test_kinds == [job_id]


def test_two_workers_never_run_the_same_job(app, make_user, test_kinds):
    planner = make_user("planner")
    queued = queue(app, planner, "test_count", n=12)
    errors = []

    def worker(name):
        try:
            with app.app_context():
                jobs.run_due(worker=name)
                db.session.remove()
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(test_kinds) == queued  # each exactly once
    with app.app_context():
        assert set(db.session.scalars(select(Job.state))) == {JobState.DONE}
        assert set(db.session.scalars(select(Job.attempts))) == {1}


def test_the_job_page_shows_progress_then_the_result_to_its_user_only(app, client, make_user, login_as):
    planner = make_user("planner")
    other = make_user("planner")
    [job_id] = queue(app, planner, "test_write")
    login_as(planner)
    page = client.get(f"/tugas/{job_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'data-job-status="/tugas/{job_id}/status"' in text
    assert "Menunggu" in text and "Pekerjaan sudah diantrekan" in text
    assert client.get(f"/tugas/{job_id}/unduh").status_code == 404  # nothing to download yet
    status = client.get(f"/tugas/{job_id}/status")
    assert status.json == {"state": "pending", "finished": False, "done": 0, "total": None, "percent": None,
                           "text": "Pekerjaan sudah diantrekan dan segera dimulai."}

    with app.app_context():
        jobs.run_due()
    text = client.get(f"/tugas/{job_id}").get_data(as_text=True)
    assert "data-job-status" not in text  # a finished job is not followed any more
    assert client.get(f"/tugas/{job_id}/status").json["finished"] is True
    assert "Selesai" in text and "counted 1" in text
    download = client.get(f"/tugas/{job_id}/unduh")
    assert download.status_code == 200 and download.data == b"%PDF-1.7 test"
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == 'attachment; filename="hasil.pdf"'

    stranger = app.test_client()
    with app_db(app) as session:
        email = session.get(User, other).email
    assert login(stranger, email, STAFF_PASSWORD).status_code == 303
    assert stranger.get(f"/tugas/{job_id}").status_code == 404
    assert stranger.get(f"/tugas/{job_id}/unduh").status_code == 404
    assert stranger.get(f"/tugas/{job_id}/status").status_code == 404


@pytest.fixture
def app_config(app_config):
    """Tiny thresholds, so that a three-row file and a two-letter print are "large"."""
    app_config.update(IMPORT_INLINE_ROWS=2, DOCUMENTS_INLINE_LETTERS=1)
    return app_config


PROPOSAL_HEADER = "nib,nama_usaha,judul,masalah,deskripsi,kategori,perkiraan_biaya,penerima_manfaat,tenaga_kerja_baru\n"


def proposal_rows(category: str, cost: str = "15000000") -> str:
    return "".join(f"{3_201_000_000_000 + n},Usaha {n},Pelatihan pemasaran daring {n},Masalah {n},Deskripsi {n},"
                   f"{category},{cost if n == 1 else 20000000},10,2\n" for n in range(3))


def upload(client, path: str, text: str):
    from tests.conftest import csrf_token

    return client.post(path, data={"csrf_token": csrf_token(client, path),
                                   "file": (io.BytesIO(text.encode()), "usulan.csv")},
                       content_type="multipart/form-data")


def test_a_large_proposal_file_is_imported_by_the_worker_and_reported_on_its_page(app, client, make_world, login_as):
    world = make_world(businesses=[{"nib": f"{3_201_000_000_000 + n}", "name": f"Usaha {n}"} for n in range(3)])
    with app_db(app) as session:
        category = session.get(Category, world.categories[0]).name
    login_as(world.planner)
    response = upload(client, f"/sesi/{world.session}/impor-usulan", PROPOSAL_HEADER + proposal_rows(category))
    assert response.status_code == 303
    job_path = response.headers["Location"]
    assert job_path.startswith("/tugas/")
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 0  # nothing before the worker runs

    with app.app_context():
        assert jobs.run_due() == 1
    text = client.get(job_path).get_data(as_text=True)
    assert "3 usulan diimpor dan dikirim" in text
    with app_db(app) as session:
        receipts = session.scalars(select(Proposal.receipt_number).order_by(Proposal.id)).all()
        assert receipts == ["MT-2027-0001", "MT-2027-0002", "MT-2027-0003"]
        history = session.scalars(select(ProposalStatusChange.to_status).order_by(ProposalStatusChange.id)).all()
        assert [status.value for status in history] == ["draft", "submitted"] * 3
        assert session.scalar(select(func.count(Proposal.id)).where(Proposal.near_duplicate_of_id.is_not(None))) == 0
        job = session.get(Job, int(job_path.rsplit("/", 1)[1]))
        assert (job.state, job.done, job.total) == (JobState.DONE, 3, 3)
        assert job.session_id == world.session and job.user_id == world.planner


def test_a_large_file_with_a_bad_row_saves_nothing_and_its_page_names_the_row(app, client, make_world, login_as):
    world = make_world(businesses=[{"nib": f"{3_201_000_000_000 + n}", "name": f"Usaha {n}"} for n in range(3)])
    with app_db(app) as session:
        category = session.get(Category, world.categories[0]).name
    login_as(world.planner)
    response = upload(client, f"/sesi/{world.session}/impor-usulan",
                      PROPOSAL_HEADER + proposal_rows(category, cost="banyak"))
    with app.app_context():
        jobs.run_due()
    text = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ditemukan 1 masalah; tidak ada yang diimpor." in text
    assert "<td>3</td><td><code>perkiraan_biaya</code></td>" in text  # the file's row 3 (the header is row 1)
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 0
        assert session.scalar(select(ReceiptCounter.last_value)) is None


def test_a_print_of_many_letters_is_prepared_by_the_worker(app, client, make_world, login_as):
    from pypdf import PdfReader

    world = make_world(facilitator=True, invited=True, businesses=[{"nib": "3201000000001", "name": "Usaha Satu"},
                                                                    {"nib": "3201000000002", "name": "Usaha Dua"}])
    login_as(world.facilitator)
    path = f"/sesi/{world.session}/dokumen/undangan.pdf"
    page = client.get(path)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "Siapkan PDF" in page.get_data(as_text=True)
    response = post_form(client, path, {})
    assert response.status_code == 303
    with app.app_context():
        assert jobs.run_due() == 1
    text = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "PDF sudah siap." in text
    download = client.get(response.headers["Location"] + "/unduh")
    assert download.mimetype == "application/pdf"
    pdf = PdfReader(io.BytesIO(download.data))
    letters = "\n".join(p.extract_text() for p in pdf.pages)
    assert "Usaha Satu" in letters and "Usaha Dua" in letters
    assert len(pdf.pages) == 2
    assert download.headers["Content-Disposition"] == f'attachment; filename="invitations-sesi-{world.session}.pdf"'


def test_the_worker_command_drains_the_queue_once(app, make_user, test_kinds):
    planner = make_user("planner")
    queued = queue(app, planner, "test_count", n=2)
    result = app.test_cli_runner().invoke(args=["run-jobs", "--once"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2 pekerjaan dijalankan."
    assert sorted(test_kinds) == queued
    assert app.test_cli_runner().invoke(args=["run-jobs", "--once"]).output.strip() == "0 pekerjaan dijalankan."
