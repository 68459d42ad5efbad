"""Facilitators and planners: the session's proposals, the roster, paper intake and imports."""
from __future__ import annotations

import uuid

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from participation.extensions import db
from participation.forms import parse_id
from participation import jobs
from participation.intake import imports, services
from participation.intake import jobs as intake_jobs
from participation.intake.forms import BlankFormsForm, ImportForm, read_upload
from participation.intake.owner_match import ask_about_owner, separate_registration_notice
from participation.models import Invitation, Job, Proposal, ThemedSession
from participation.documents.services import letterhead
from participation.pdf import render_pdf
from participation.proposals import services as proposal_services
from participation.proposals.forms import PaperProposalForm
from participation.proposals.messages import error_text, mark_missing
from participation.security import MANAGERS, STAFF, rerender_on_csrf_error, role_required, session_page, web_actor
from participation.sessions.errors import meeting_frozen_message

bp = Blueprint("intake", __name__)

TEMPLATES = {"usaha": imports.BUSINESS_COLUMNS, "usulan": imports.PROPOSAL_COLUMNS}


@bp.route("/sesi/<int:session_id>/usulan")
@session_page(*STAFF)
def proposals(themed_session: ThemedSession):
    session_id = themed_session.id
    items = db.session.scalars(
        select(Proposal).where(Proposal.session_id == session_id)
        .options(selectinload(Proposal.business), selectinload(Proposal.category),
                 selectinload(Proposal.near_duplicate_of))
        .order_by(Proposal.receipt_number.is_(None), Proposal.receipt_number, Proposal.id)
    ).all()
    return render_template("intake/proposals.html", themed_session=themed_session, proposals=items)


@bp.route("/sesi/<int:session_id>/undangan")
@session_page(*STAFF)
def roster(themed_session: ThemedSession):
    invitations = services.roster(themed_session)
    query = request.args.get("cari", "")[:100]
    invited = {invitation.business_id for invitation in invitations}
    results = [b for b in services.search_businesses(query) if b.id not in invited] if query else []
    return render_template("intake/roster.html", themed_session=themed_session, invitations=invitations,
                           query=query, results=results, import_form=ImportForm())


@bp.route("/sesi/<int:session_id>/undangan", methods=["POST"])
@session_page(*STAFF)
def invite(themed_session: ThemedSession):
    session_id = themed_session.id
    ids = [parse_id(raw) for raw in request.form.getlist("business_id")]
    if not ids or None in ids:
        abort(400)
    try:
        added = services.invite(themed_session, ids, web_actor())
    except services.IntakeError:
        return refuse_frozen(session_id)
    db.session.commit()
    flash(_("%(n)d business(es) added to the roster.", n=added), "success")
    return redirect(url_for("intake.roster", session_id=session_id), code=303)


@bp.route("/sesi/<int:session_id>/undangan/<int:invitation_id>/hapus", methods=["POST"])
@session_page(*STAFF)
def uninvite(themed_session: ThemedSession, invitation_id: int):
    session_id = themed_session.id
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.session_id != themed_session.id:
        abort(404)
    try:
        services.uninvite(invitation, web_actor())
    except services.IntakeError as error:
        if error.code == "finalized":
            return refuse_frozen(session_id)
        flash(_("This business has already attended; it stays on the roster."), "danger")
    else:
        db.session.commit()
        flash(_("Removed from the roster."), "success")
    return redirect(url_for("intake.roster", session_id=session_id), code=303)


def refuse_frozen(session_id: int):
    """A roster change posted after finalisation (a page left open): nothing is saved; the page says why."""
    db.session.rollback()
    flash(meeting_frozen_message(), "danger")
    return redirect(url_for("intake.roster", session_id=session_id), code=303)




def to_job_page(job: Job):
    """A large upload was queued: keep the job and follow it on its page."""
    db.session.commit()
    return redirect(url_for("jobs.detail", job_id=job.id), code=303)


def run_import(form: ImportForm, importer, *, job_kind: str, themed_session: ThemedSession | None = None
               ) -> tuple[str | None, imports.ImportResult | Job | None]:
    """Validate the upload and run `importer(filename, data, limits)`; a refused import is rolled back.

    `limits` are those of a web upload (rows, what an XLSX may unpack to). A file with more rows
    than the page may handle is not imported here: it is queued as a `job_kind` job for the worker,
    and the Job comes back instead of a result (the caller commits and shows the job's page).

    Returns (filename, result); result is None when the file itself could not be used, and the
    reason is on the form.
    """
    if not (form.validate_on_submit() and (upload := read_upload(form))):
        return None, None
    try:
        if intake_jobs.runs_as_job(*upload):
            return upload[0], jobs.enqueue(job_kind, web_actor(), themed_session=themed_session,
                                           input_name=upload[0][:200], input_data=upload[1])
        result = importer(*upload, imports.TableLimits.for_web())
    except imports.ImportRefused as error:
        db.session.rollback()
        form.form_errors.append(str(error))
        return upload[0], None
    except imports.ImportFileError as error:
        db.session.rollback()
        form.file.errors.append(str(error))
        return upload[0], None
    if not result.ok:
        db.session.rollback()
    return upload[0], result


@bp.route("/sesi/<int:session_id>/undangan/impor", methods=["POST"])
@session_page(*STAFF)
@rerender_on_csrf_error
def import_roster(themed_session: ThemedSession):
    """Import a roster file and put every business in it on the roster."""
    session_id = themed_session.id
    form = ImportForm()
    added = 0

    def import_roster(name, data, limits):
        nonlocal added
        result, added = services.import_roster(themed_session, name, data, web_actor(), limits=limits)
        return result

    try:
        services.check_roster_open(themed_session)
        _filename, result = run_import(form, import_roster, job_kind="import_roster", themed_session=themed_session)
    except services.IntakeError:
        return refuse_frozen(session_id)
    if isinstance(result, Job):
        return to_job_page(result)
    if result is not None and result.ok:
        db.session.commit()
        flash(_("%(rows)d rows read, %(created)d new businesses, %(n)d added to the roster.",
                rows=result.rows, created=result.created, n=added), "success")
        return redirect(url_for("intake.roster", session_id=session_id), code=303)
    invitations = db.session.scalars(select(Invitation).where(Invitation.session_id == session_id)
                                     .options(selectinload(Invitation.business))).all()
    return render_template("intake/roster.html", themed_session=themed_session, invitations=invitations,
                           query="", results=[], import_form=form,
                           import_result=result), 400


@bp.route("/sesi/<int:session_id>/usulan-kertas", methods=["GET", "POST"])
@session_page(*STAFF)
@rerender_on_csrf_error
def paper(themed_session: ThemedSession):
    session_id = themed_session.id
    form = PaperProposalForm(themed_session=themed_session)
    if request.method == "GET":
        form.idempotency_key.data = uuid.uuid4().hex
        form.paper_form_number.data = request.args.get("nomor", "")[:30]
        # From the check-in page: the walk-in's business, so that only the proposal is left to type.
        form.nib.data = request.args.get("nib", "")[:20]
        form.business_name.data = request.args.get("usaha", "")[:200]
        form.owner_name.data = request.args.get("pemilik", "")[:120]
        form.phone.data = request.args.get("telepon", "")[:20]
    owned = None
    if form.validate_on_submit():
        try:
            proposal = services.record_paper_proposal(themed_session, form.business_data(),
                                                      form.proposal_data(), form.paper_form_number.data,
                                                      web_actor())
        except services.OwnedBusinessMatch as match:
            db.session.rollback()
            owned = ask_about_owner(form, match)
        except services.IntakeError as error:
            db.session.rollback()
            if error.code == "form_number_used":
                form.paper_form_number.errors.append(
                    _("This form has already been entered as %(receipt)s.", receipt=error.details["receipt"]))
            else:
                form.form_errors.append(_("Paper proposals can be entered while the session is open or under review."))
        except proposal_services.ProposalError as error:
            db.session.rollback()
            if error.code == "incomplete":
                mark_missing(form, error.details["fields"])
            form.form_errors.append(error_text(error))
        else:
            db.session.commit()
            flash(_("Paper form %(form)s saved as %(receipt)s for %(business)s.",
                    form=proposal.paper_form_number, receipt=proposal.receipt_number,
                    business=proposal.business.name), "success")
            if proposal.business.waits_as_separate_registration:
                flash(separate_registration_notice(proposal.business), "info")
            return redirect(url_for("intake.paper", session_id=session_id,
                                    nomor=_next_number(proposal.paper_form_number)), code=303)
    elif request.method == "POST":
        # A paper form is submitted as it is entered: list all it lacks at once. An empty
        # kelurahan or kecamatan is the business's own, which only the service can look up.
        form.mark_unfilled(skip=("kelurahan", "kecamatan"))
    status = 409 if owned else 400 if request.method == "POST" else 200
    return render_template("intake/paper.html", form=form, themed_session=themed_session, owned=owned), status


def _next_number(number: str) -> str:
    """F3-0012 → F3-0013, so that a stack of forms can be typed in one after another."""
    head, _, digits = number.rpartition("-")
    if digits.isdigit():
        return f"{head}-{int(digits) + 1:0{len(digits)}d}" if head else f"{int(digits) + 1:0{len(digits)}d}"
    return ""


@bp.route("/sesi/<int:session_id>/formulir-kosong", methods=["GET", "POST"])
@session_page(*STAFF)
@rerender_on_csrf_error
def blank_forms(themed_session: ThemedSession):
    form = BlankFormsForm()
    if form.validate_on_submit():
        try:
            numbers = services.allocate_paper_forms(themed_session, form.count.data, web_actor())
        except services.IntakeError:
            db.session.rollback()
            flash(_("The session is finalised: it takes no more paper proposals, so no more blank forms are "
                    "printed."), "danger")
            return redirect(url_for("intake.blank_forms", session_id=themed_session.id), code=303)
        pdf = render_pdf("intake/blank_form.html", letterhead=letterhead(), themed_session=themed_session,
                         numbers=numbers)
        db.session.commit()
        filename = f"formulir-usulan-{numbers[0]}-{numbers[-1]}.pdf"
        return Response(pdf, mimetype="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    status = 400 if request.method == "POST" else 200
    return render_template("intake/blank_forms.html", form=form, themed_session=themed_session), status


@bp.route("/impor/usaha", methods=["GET", "POST"])
@role_required(*MANAGERS)
@rerender_on_csrf_error
def import_businesses():
    form = ImportForm()
    _filename, result = run_import(form, lambda name, data, limits: imports.import_businesses(name, data, web_actor(), limits=limits),
                                   job_kind="import_businesses")
    if isinstance(result, Job):
        return to_job_page(result)
    if result is not None and result.ok:
        db.session.commit()
        flash(_("%(rows)d rows imported: %(created)d new businesses, %(merged)d merged into "
                "existing ones.", rows=result.rows, created=result.created, merged=result.merged), "success")
        return redirect(url_for("intake.import_businesses"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("intake/import.html", form=form, result=result, kind="usaha",
                           columns=imports.BUSINESS_COLUMNS, themed_session=None), status


@bp.route("/sesi/<int:session_id>/impor-usulan", methods=["GET", "POST"])
@session_page(*MANAGERS, manage=True)
@rerender_on_csrf_error
def import_proposals(themed_session: ThemedSession):
    session_id = themed_session.id
    form = ImportForm()
    if not imports.accepts_proposal_imports(themed_session):
        # Say so before anyone picks a file; a POST (a page left open while the session moved on)
        # is refused without reading the upload.
        status = 400 if request.method == "POST" else 200
        return render_template("intake/import.html", form=form, result=None, kind="usulan",
                               columns=imports.PROPOSAL_COLUMNS, themed_session=themed_session,
                               closed=imports.proposal_imports_closed_message()), status
    _filename, result = run_import(
        form, lambda name, data, limits: imports.import_proposals(themed_session, name, data, web_actor(),
                                                                   limits=limits),
        job_kind="import_proposals", themed_session=themed_session)
    if isinstance(result, Job):
        return to_job_page(result)
    if result is not None and result.ok:
        db.session.commit()
        flash(_("%(n)d proposals imported and submitted; %(flagged)d look like near-duplicates.",
                n=result.created, flagged=result.flagged), "success")
        return redirect(url_for("intake.proposals", session_id=session_id), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("intake/import.html", form=form, result=result, kind="usulan",
                           columns=imports.PROPOSAL_COLUMNS, themed_session=themed_session), status


@bp.route("/impor/templat/<kind>.csv")
@role_required(*STAFF)
def import_template(kind: str):
    columns = TEMPLATES.get(kind)
    if columns is None:
        abort(404)
    body = "\ufeff" + ",".join(columns) + "\r\n"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="templat-{kind}.csv"'})
