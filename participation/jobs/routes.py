"""The page where a user follows a background job they asked for, and fetches its result."""
from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, render_template
from flask_babel import format_number
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from participation.extensions import db
from participation.jobs import HANDLERS
from participation.models import Job, JobState

bp = Blueprint("jobs", __name__, url_prefix="/tugas")


def own_job(job_id: int) -> Job:
    """The signed-in user's job; anyone else's answers 404."""
    job = db.session.get(Job, job_id)
    if job is None or job.user_id != current_user.id:
        abort(404)
    return job


@bp.route("/<int:job_id>")
@login_required
def detail(job_id: int):
    job = own_job(job_id)
    kind = HANDLERS[job.kind]
    return render_template("jobs/detail.html", job=job, title=kind.title, back_url=kind.back(job),
                           summary=kind.summary(job) if job.state is JobState.DONE else None,
                           progress_text=progress_text(job))


@bp.route("/<int:job_id>/status")
@login_required
def status(job_id: int):
    """The job's progress as JSON, for the page's script to follow without reloading."""
    job = own_job(job_id)
    response = jsonify(state=job.state.value, finished=job.state.finished, done=job.done, total=job.total,
                       percent=job.percent, text=progress_text(job))
    response.headers["Cache-Control"] = "no-store"
    return response


def progress_text(job: Job) -> str:
    """How far the job is, in words."""
    if job.total:
        return _("%(done)s of %(total)s rows checked (%(percent)s%%).", done=format_number(job.done),
                 total=format_number(job.total), percent=job.percent)
    if job.state is JobState.RUNNING:
        return _("The work is running.")
    return _("The work is queued and starts shortly.")


@bp.route("/<int:job_id>/unduh")
@login_required
def download(job_id: int):
    job = own_job(job_id)
    data = db.session.scalar(select(Job.output_data).where(Job.id == job.id))
    if data is None:
        abort(404)
    return Response(data, mimetype=job.output_type,
                    headers={"Content-Disposition": f'attachment; filename="{job.output_name}"'})
