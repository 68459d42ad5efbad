"""Large meeting documents rendered by the worker (see participation/jobs)."""
from __future__ import annotations

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from participation import jobs
from participation.database import reading
from participation.documents import render
from participation.extensions import db
from participation.models import Invitation, Job, ThemedSession

# The documents whose size grows with the roster: a letter, or a row, per invited business.
ROSTER_DOCUMENTS = ("undangan", "daftar-hadir")


def runs_as_job(themed_session: ThemedSession, slug: str) -> bool:
    """Whether the PDF of `slug` is too large to render while a web request waits."""
    if slug not in ROSTER_DOCUMENTS:
        return False
    count = db.session.scalar(select(func.count(Invitation.id)).where(Invitation.session_id == themed_session.id))
    return count > current_app.config["DOCUMENTS_INLINE_LETTERS"]


def filename(themed_session: ThemedSession, slug: str) -> str:
    return f"{render.DOCUMENTS[slug][0]}-sesi-{themed_session.id}.pdf"


def _summary(job: Job) -> str:
    return _("The PDF is ready.")


@jobs.handler("document_pdf", title=_l("Prepare a document"), summary=_summary,
              back=lambda job: url_for("documents.index", session_id=job.session_id))
def document_pdf_job(job: Job, actor, progress) -> jobs.Outcome:
    slug = job.params["slug"]
    # Gathering 1,500 letters' data takes seconds: in a read-only transaction, which on SQLite
    # holds no write lock, so owners saving drafts meanwhile do not wait for it.
    with reading():
        themed_session = db.session.get(ThemedSession, job.session_id)
        name = filename(themed_session, slug)
        body = render.pdf(themed_session, slug, release_database=True)
    return jobs.Outcome({"slug": slug}, output_name=name, output_type="application/pdf", output_data=body)
