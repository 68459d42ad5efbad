"""Facilitators: the agenda builder, check-in, the four documents, and the letterhead."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from flask_wtf import FlaskForm

from participation import jobs
from participation.documents import jobs as document_jobs
from participation.documents import render, services
from participation.documents.attendance import attendance_counts
from participation.intake.owner_match import ask_about_owner, separate_registration_notice
from participation.intake.services import OwnedBusinessMatch, roster
from participation.documents.forms import (
    AgendaItemForm,
    DocumentSettingsForm,
    LetterheadForm,
    WalkInForm,
    make_agenda_form,
)
from participation.extensions import db
from participation.models import AgendaItem, Invitation, Role, ThemedSession
from participation.proposals.attachments import sniff
from participation.review.ranking import build_ranking
from participation.security import STAFF, rerender_on_csrf_error, role_required, session_page, web_actor
from participation.sessions.errors import meeting_frozen_message
from participation.validation import clean_text, format_nip

bp = Blueprint("documents", __name__)

LOGO_MAX_BYTES = 1024 * 1024


@bp.app_template_filter("nip")
def nip_filter(value: str | None) -> str:
    """A NIP in its printed groups: 19700101 199503 1 001."""
    return format_nip(value)


@bp.route("/sesi/<int:session_id>/dokumen", methods=["GET", "POST"])
@session_page(*STAFF)
@rerender_on_csrf_error
def index(themed_session: ThemedSession):
    session_id = themed_session.id
    form = DocumentSettingsForm(obj=themed_session)
    if request.method == "GET" and not themed_session.invitation_notes:
        form.invitation_notes.data = str(services.DEFAULT_INVITATION_NOTES)
    if request.method == "GET" and not themed_session.letter_subject:
        form.letter_subject.data = render.default_subject(themed_session)
    if form.validate_on_submit():
        try:
            services.update_settings(themed_session, {name: form[name].data for name in services.SETTINGS_FIELDS},
                                     web_actor())
        except services.DocumentsError:
            return refuse_frozen("documents.index", session_id)
        db.session.commit()
        flash(_("The document settings have been saved."), "success")
        return redirect(url_for("documents.index", session_id=session_id), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("documents/index.html", themed_session=themed_session, form=form,
                           counts=attendance_counts(themed_session)), status


@bp.route("/sesi/<int:session_id>/dokumen/<slug>")
@session_page(*STAFF)
def view(themed_session: ThemedSession, slug: str):
    if slug not in render.DOCUMENTS:
        abort(404)
    return render.html(themed_session, slug)


@bp.route("/sesi/<int:session_id>/dokumen/<slug>.pdf")
@session_page(*STAFF)
def pdf(themed_session: ThemedSession, slug: str):
    if slug not in render.DOCUMENTS:
        abort(404)
    if document_jobs.runs_as_job(themed_session, slug):
        # Hundreds of letters take longer than a request may: the worker prepares them on request.
        return render_template("documents/prepare.html", themed_session=themed_session, slug=slug,
                               form=FlaskForm(), title=render.TITLES[slug])
    body = render.pdf(themed_session, slug, release_database=True)
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{document_jobs.filename(themed_session, slug)}"'})


@bp.route("/sesi/<int:session_id>/dokumen/<slug>.pdf", methods=["POST"])
@session_page(*STAFF)
def prepare_pdf(themed_session: ThemedSession, slug: str):
    """Queue a large document for the worker and follow it on the job's page."""
    if slug not in render.DOCUMENTS:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    job = jobs.enqueue("document_pdf", web_actor(), themed_session=themed_session, params={"slug": slug})
    db.session.commit()
    return redirect(url_for("jobs.detail", job_id=job.id), code=303)


def refuse_frozen(endpoint: str, session_id: int):
    """A change posted after finalisation (a page left open): nothing is saved; the page says why."""
    db.session.rollback()
    flash(meeting_frozen_message(), "danger")
    return redirect(url_for(endpoint, session_id=session_id), code=303)


def _load_item(themed_session, item_id: int) -> AgendaItem:
    item = db.session.get(AgendaItem, item_id)
    if item is None or item.session_id != themed_session.id:
        abort(404)
    return item


def render_builder(themed_session, form=None, new_form=None, status: int = 200):
    """The agenda builder: the items with their time slots, the edit form and the add form."""
    stored = list(themed_session.agenda)
    form = form or make_agenda_form(stored)()
    ranking = build_ranking(themed_session, stability=False)
    slots = services.schedule(themed_session, ranking)
    rows = list(zip(form.item_fields(), slots, strict=True)) if stored else []
    return render_template("documents/agenda_builder.html", themed_session=themed_session, form=form,
                           slots=slots, rows=rows, stored=bool(stored), new_form=new_form or AgendaItemForm(),
                           unscheduled=services.unscheduled(themed_session, ranking)), status


@bp.route("/sesi/<int:session_id>/acara", methods=["GET", "POST"])
@session_page(*STAFF)
@rerender_on_csrf_error
def agenda(themed_session: ThemedSession):
    session_id = themed_session.id
    stored = list(themed_session.agenda)
    if request.method == "POST" and not stored:
        abort(409)  # nothing to save until the agenda has been laid out
    form = make_agenda_form(stored)()
    if form.validate_on_submit():
        try:
            services.update_agenda(themed_session, form.values(), web_actor())
        except services.DocumentsError:
            return refuse_frozen("documents.agenda", session_id)
        db.session.commit()
        flash(_("The agenda has been saved."), "success")
        return redirect(url_for("documents.agenda", session_id=session_id), code=303)
    return render_builder(themed_session, form, status=400 if request.method == "POST" else 200)


@bp.route("/sesi/<int:session_id>/acara/susun", methods=["POST"])
@session_page(*STAFF)
def rebuild_agenda(themed_session: ThemedSession):
    session_id = themed_session.id
    try:
        services.build_agenda(themed_session, build_ranking(themed_session, stability=False), web_actor())
    except services.DocumentsError:
        return refuse_frozen("documents.agenda", session_id)
    db.session.commit()
    flash(_("The agenda has been laid out from the template."), "success")
    return redirect(url_for("documents.agenda", session_id=session_id), code=303)


@bp.route("/sesi/<int:session_id>/acara/tambah", methods=["POST"])
@session_page(*STAFF)
@rerender_on_csrf_error
def add_agenda_item(themed_session: ThemedSession):
    session_id = themed_session.id
    new_form = AgendaItemForm()
    if not new_form.validate_on_submit():
        return render_builder(themed_session, new_form=new_form, status=400)
    # The ranking is needed only to lay the template out first, when there is no agenda yet.
    ranking = None if themed_session.agenda else build_ranking(themed_session, stability=False)
    try:
        services.add_agenda_item(themed_session, ranking, new_form.title.data, new_form.duration_minutes.data,
                                 web_actor(), new_form.description.data or "")
    except services.DocumentsError:
        return refuse_frozen("documents.agenda", session_id)
    db.session.commit()
    flash(_("Item added to the agenda."), "success")
    return redirect(url_for("documents.agenda", session_id=session_id), code=303)


@bp.route("/sesi/<int:session_id>/acara/<int:item_id>/pindah", methods=["POST"])
@session_page(*STAFF)
def move_agenda_item(themed_session: ThemedSession, item_id: int):
    session_id = themed_session.id
    item = _load_item(themed_session, item_id)
    step = {"naik": -1, "turun": 1}.get(request.form.get("arah", ""))
    if step is None:
        abort(400)
    try:
        services.move_agenda_item(themed_session, item, step, web_actor())
    except services.DocumentsError:
        return refuse_frozen("documents.agenda", session_id)
    db.session.commit()
    # Back to the item that moved, not to the top of a long page.
    return redirect(url_for("documents.agenda", session_id=session_id, _anchor=f"item-{item.id}"), code=303)


@bp.route("/sesi/<int:session_id>/acara/<int:item_id>/hapus", methods=["POST"])
@session_page(*STAFF)
def delete_agenda_item(themed_session: ThemedSession, item_id: int):
    session_id = themed_session.id
    item = _load_item(themed_session, item_id)
    try:
        services.remove_agenda_item(themed_session, item, web_actor())
    except services.DocumentsError:
        return refuse_frozen("documents.agenda", session_id)
    db.session.commit()
    flash(_("Item removed from the agenda."), "success")
    return redirect(url_for("documents.agenda", session_id=session_id), code=303)


@bp.route("/sesi/<int:session_id>/hadir", methods=["GET", "POST"])
@session_page(*STAFF)
@rerender_on_csrf_error
def checkin(themed_session: ThemedSession):
    """Check-in at the door: search, mark present, register walk-ins (POST registers a walk-in)."""
    session_id = themed_session.id
    form = WalkInForm()
    owned = None
    if form.validate_on_submit():
        try:
            invitation = services.register_walk_in(themed_session, form.business_data(), web_actor())
        except OwnedBusinessMatch as match:
            db.session.rollback()
            owned = ask_about_owner(form, match)
        except services.DocumentsError:
            db.session.rollback()
            form.form_errors.append(meeting_frozen_message())
        else:
            db.session.commit()
            if invitation.business.waits_as_separate_registration:
                flash(separate_registration_notice(invitation.business), "info")
            return redirect(url_for("documents.checkin", session_id=session_id, cari=invitation.business.nib,
                                    baru=invitation.id), code=303)
    try:
        query = clean_text(request.args.get("cari", "")[:100]) or ""
    except ValueError:  # control characters: nothing can match them
        query = ""
    invitations = roster(themed_session, query)
    walk_in = next((i for i in invitations if i.walk_in and i.id == request.args.get("baru", type=int)), None)
    status = 409 if owned else 400 if request.method == "POST" else 200
    return render_template("documents/checkin.html", themed_session=themed_session, form=form, query=query,
                           invitations=invitations, walk_in=walk_in, owned=owned,
                           counts=attendance_counts(themed_session)), status


@bp.route("/sesi/<int:session_id>/hadir/<int:invitation_id>", methods=["POST"])
@session_page(*STAFF)
def mark(themed_session: ThemedSession, invitation_id: int):
    session_id = themed_session.id
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.session_id != themed_session.id:
        abort(404)
    present = request.form.get("hadir")
    if present not in {"0", "1"}:
        abort(400)
    try:
        services.check_in(invitation, present == "1", web_actor())
    except services.DocumentsError:
        db.session.rollback()
        flash(meeting_frozen_message(), "danger")
    else:
        db.session.commit()
        if invitation.is_present:
            flash(_("%(name)s is checked in.", name=invitation.business.name), "success")
        else:
            flash(_("Check-in of %(name)s undone.", name=invitation.business.name), "info")
    return redirect(url_for("documents.checkin", session_id=session_id, cari=request.form.get("cari", "")[:100]),
                    code=303)


@bp.route("/kop", methods=["GET", "POST"])
@role_required(Role.FACILITATOR, Role.ADMIN)
@rerender_on_csrf_error
def letterhead():
    head = services.letterhead()
    form = LetterheadForm(obj=head)
    if form.validate_on_submit():
        logo = None
        upload = form.logo.data
        if upload and getattr(upload, "filename", None):
            data = upload.stream.read(LOGO_MAX_BYTES + 1)
            kind = sniff(data[:16])
            if len(data) > LOGO_MAX_BYTES:
                form.logo.errors.append(_("The logo is larger than 1 MB."))
            elif kind is None or kind[0] not in ("image/png", "image/jpeg"):
                form.logo.errors.append(_("The logo must be a PNG or JPEG image (checked by its content)."))
            else:
                try:
                    logo = services.prepare_logo(data)
                except services.LogoRefused:
                    form.logo.errors.append(_("The logo could not be read as an image."))
        if not form.logo.errors:
            services.save_letterhead({"institution_name": form.institution_name.data,
                                              "address": form.address.data or "", "contact": form.contact.data or ""},
                                             logo, form.remove_logo.data, web_actor())
            db.session.commit()
            flash(_("The letterhead has been saved."), "success")
            return redirect(url_for("documents.letterhead"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("documents/letterhead.html", form=form, logo=render.logo_url(head)), status


@bp.route("/kop/logo")
@role_required(*STAFF)
def logo():
    """The letterhead's logo, for the print views (PDFs read the same address from the database)."""
    head = services.letterhead()
    if not head.logo:
        abort(404)
    return Response(head.logo, mimetype=head.logo_type)
