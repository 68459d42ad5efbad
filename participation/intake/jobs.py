"""Imports run as background jobs when a web upload is large (see participation/jobs.py)."""
from __future__ import annotations

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from participation import database, jobs
from participation.extensions import db
from participation.intake import imports, services
from participation.models import Job, ThemedSession
from participation.sessions.errors import meeting_frozen_message

IMPORT_KINDS = ("import_businesses", "import_proposals", "import_roster")


def runs_as_job(filename: str, data: bytes) -> bool:
    """Whether an uploaded file is large enough to be imported by the worker instead of the page.

    Raises ImportFileError for a file that cannot be used at all (so it is refused at once).
    """
    limits = imports.TableLimits.for_web()
    return imports.estimate_rows(filename, data, limits) > current_app.config["IMPORT_INLINE_ROWS"]


def _result(result: imports.ImportResult, **extra) -> dict:
    return {"rows": result.rows, "created": result.created, "merged": result.merged,
            "flagged": result.flagged, **extra,
            "errors": [{"row": error.row, "column": error.column, "message": error.message}
                       for error in result.errors]}


def _run(job: Job, progress, importer) -> jobs.Outcome:
    """Read the job's file, run `importer(name, data, advance, limits)`, keep its writes only if every row passed.

    The limits are those of a web upload: the job runs what a page was given.
    """
    data = db.session.scalar(db.select(Job.input_data).where(Job.id == job.id))
    name = job.input_name
    limits = imports.TableLimits.for_web()
    done, total = 0, None

    def advance(step: int = 1) -> None:
        nonlocal done
        done += step
        progress(done, total)

    try:
        total = imports.estimate_rows(name, data, limits)
        progress(0, total)
        result, extra = importer(name, data, advance, limits)
    except imports.ImportFileError as error:
        db.session.rollback()
        return jobs.Outcome({"message": str(error)}, ok=False)
    except services.IntakeError:  # the session was finalised after the file was queued
        db.session.rollback()
        return jobs.Outcome({"message": meeting_frozen_message()}, ok=False)
    if not result.ok:
        db.session.rollback()
    return jobs.Outcome(_result(result, **extra), ok=result.ok)


def _businesses_summary(job: Job) -> str:
    result = job.result
    return _("%(rows)d rows imported: %(created)d new businesses, %(merged)d merged into existing ones.",
             rows=result["rows"], created=result["created"], merged=result["merged"])


def _proposals_summary(job: Job) -> str:
    return _("%(n)d proposals imported and submitted; %(flagged)d look like near-duplicates.",
             n=job.result["created"], flagged=job.result["flagged"])


def _roster_summary(job: Job) -> str:
    result = job.result
    return _("%(rows)d rows read, %(created)d new businesses, %(n)d added to the roster.",
             rows=result["rows"], created=result["created"], n=result["added"])


@jobs.handler("import_businesses", title=_l("Import businesses"), summary=_businesses_summary,
              back=lambda job: url_for("intake.import_businesses"))
def import_businesses_job(job: Job, actor, progress) -> jobs.Outcome:
    return _run(job, progress, lambda name, data, advance, limits: (
        imports.import_businesses(name, data, actor, progress=advance, limits=limits), {}))


@jobs.handler("import_proposals", title=_l("Import proposals"), summary=_proposals_summary,
              back=lambda job: url_for("intake.proposals", session_id=job.session_id))
def import_proposals_job(job: Job, actor, progress) -> jobs.Outcome:
    # Reading, checking and staging the file take no write lock (on SQLite): other users' writes
    # wait at most for the short copy at the end (see proposals.bulk.Staged).
    with database.deferring():
        themed_session = db.session.get(ThemedSession, job.session_id)
        return _run(job, progress, lambda name, data, advance, limits: (
            imports.import_proposals(themed_session, name, data, actor, progress=advance, limits=limits,
                                     checkpoint=db.session.commit), {}))


@jobs.handler("import_roster", title=_l("Import the roster"), summary=_roster_summary,
              back=lambda job: url_for("intake.roster", session_id=job.session_id))
def import_roster_job(job: Job, actor, progress) -> jobs.Outcome:
    themed_session = db.session.get(ThemedSession, job.session_id)

    def run(name, data, advance, limits):
        result, added = services.import_roster(themed_session, name, data, actor, progress=advance, limits=limits)
        return result, {"added": added}

    return _run(job, progress, run)
