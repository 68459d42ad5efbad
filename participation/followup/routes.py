"""Staff pages of the follow-up: the session's list, one proposal's update form, the import and the export."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from participation import storage
from participation.extensions import db
from participation.followup import imports, services
from participation.followup.forms import FollowUpDetailsForm, FollowUpUpdateForm
from participation.intake.forms import ImportForm, read_upload
from participation.intake.imports import ImportFileError, ImportRefused, TableLimits
from participation.models import FollowUp, FollowUpUpdate, ThemedSession
from participation.security import STAFF, rerender_on_csrf_error, role_required, web_actor

bp = Blueprint("followup", __name__)


def load_session(session_id: int) -> ThemedSession:
    """A finalised session whose follow-up the user works on: its staff, or an officer assigned to one of
    its follow-ups; 404 for anyone else and for a session not finalised."""
    themed_session = db.get_or_404(ThemedSession, session_id)
    if not themed_session.is_published:
        abort(404)
    assigned = db.session.scalar(select(FollowUp.id).where(FollowUp.session_id == session_id,
                                                           FollowUp.responsible_user_id == current_user.id).limit(1))
    if not (themed_session.can_facilitate(current_user) or assigned):
        abort(404)
    return themed_session


def load_follow_up(follow_up_id: int) -> FollowUp:
    """A follow-up the user may record (the session's planners, admins, the assigned officer); 404 otherwise."""
    follow_up = db.get_or_404(FollowUp, follow_up_id)
    if not follow_up.can_record(current_user):
        abort(404)
    return follow_up


@bp.route("/sesi/<int:session_id>/tindak-lanjut")
@role_required(*STAFF)
def index(session_id: int):
    from participation.followup.progress import summarise

    themed_session = load_session(session_id)
    follow_ups = services.follow_ups_of(themed_session)
    missing = len(services.funded_lines(themed_session)) - len(follow_ups)
    return render_template("followup/index.html", themed_session=themed_session, follow_ups=follow_ups,
                           summary=summarise(follow_ups), may_import=themed_session.can_manage(current_user),
                           missing=max(missing, 0))


@bp.route("/sesi/<int:session_id>/tindak-lanjut/siapkan", methods=["POST"])
@role_required(*STAFF)
def prepare(session_id: int):
    """Give the funded proposals of a session finalised before follow-up existed their records."""
    themed_session = load_session(session_id)
    if not themed_session.can_manage(current_user):
        abort(403)
    created = services.ensure_follow_ups(themed_session, web_actor())
    db.session.commit()
    flash(_("%(n)d follow-up records prepared.", n=len(created)), "success")
    return redirect(url_for("followup.index", session_id=session_id), code=303)


def _details_form(follow_up: FollowUp) -> FollowUpDetailsForm:
    form = FollowUpDetailsForm(prefix="rincian", data={
        "opd_name": follow_up.opd_name, "opd_code": follow_up.opd_code,
        "responsible_user_id": str(follow_up.responsible_user_id or "")})
    form.set_users(services.assignable_users())
    return form


def _render_update(follow_up: FollowUp, form: FollowUpUpdateForm, details: FollowUpDetailsForm, status: int = 200):
    return render_template("followup/update.html", follow_up=follow_up, proposal=follow_up.proposal,
                           themed_session=follow_up.themed_session, form=form, details=details,
                           may_assign=FollowUp.can_assign(current_user), today=services.today()), status


@bp.route("/tindak-lanjut/<int:follow_up_id>", methods=["GET", "POST"])
@role_required(*STAFF)
@rerender_on_csrf_error
def update(follow_up_id: int):
    follow_up = load_follow_up(follow_up_id)
    form = FollowUpUpdateForm(data={} if request.method == "POST" else {
        "dated": services.today().isoformat(), "status": follow_up.status.value,
        "progress": str(follow_up.progress), "realised": follow_up.realised_amount})
    if not form.validate_on_submit():
        return _render_update(follow_up, form, _details_form(follow_up), 400 if request.method == "POST" else 200)
    try:
        services.record_update(web_actor(), follow_up, **form.values())
    except services.FollowUpError as error:
        db.session.rollback()
        _put_problems(form, error.problems)
        return _render_update(db.session.get(FollowUp, follow_up_id), form, _details_form(follow_up), 400)
    db.session.commit()
    flash(_("The update of %(number)s was saved; its owner is told.", number=follow_up.proposal.receipt_number),
          "success")
    return redirect(url_for("followup.index", session_id=follow_up.session_id), code=303)


def _put_problems(form, problems: dict[str, str]) -> None:
    for name, message in problems.items():
        field = getattr(form, name, None) if name else None
        if field is None:
            form.form_errors.append(message)
        elif message not in field.errors:
            field.errors = [*field.errors, message]


@bp.route("/tindak-lanjut/<int:follow_up_id>/rincian", methods=["POST"])
@role_required(*STAFF)
@rerender_on_csrf_error
def details(follow_up_id: int):
    follow_up = load_follow_up(follow_up_id)
    form = FollowUpDetailsForm(prefix="rincian")
    form.set_users(services.assignable_users())
    if form.validate_on_submit():
        assign = {"responsible_user_id": form.responsible_id()} if FollowUp.can_assign(current_user) else {}
        try:
            services.update_details(web_actor(), follow_up, form.opd_name.data, form.opd_code.data, **assign)
        except services.FollowUpError as error:
            db.session.rollback()
            _put_problems(form, error.problems)
        else:
            db.session.commit()
            flash(_("The responsible office was saved."), "success")
            return redirect(url_for("followup.update", follow_up_id=follow_up_id), code=303)
    return _render_update(db.session.get(FollowUp, follow_up_id), FollowUpUpdateForm(formdata=None), form, 400)




@bp.route("/sesi/<int:session_id>/tindak-lanjut/impor", methods=["GET", "POST"])
@role_required(*STAFF)
@rerender_on_csrf_error
def import_file(session_id: int):
    themed_session = load_session(session_id)
    if not themed_session.can_manage(current_user):
        abort(403)
    form, result = ImportForm(), None
    if form.validate_on_submit() and (upload := read_upload(form)):
        try:
            result = imports.import_follow_up(themed_session, *upload, web_actor(), limits=TableLimits.for_web())
        except ImportRefused as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        except ImportFileError as error:
            db.session.rollback()
            form.file.errors.append(str(error))
        else:
            if result.ok:
                db.session.commit()
                flash(_("%(n)d follow-up updates imported.", n=result.created), "success")
                return redirect(url_for("followup.index", session_id=session_id), code=303)
            db.session.rollback()
    status = 400 if request.method == "POST" else 200
    return render_template("followup/import.html", themed_session=themed_session, form=form, result=result,
                           columns=imports.FOLLOW_UP_COLUMNS), status


@bp.route("/sesi/<int:session_id>/tindak-lanjut/ekspor.<fmt>")
@role_required(*STAFF)
def export(session_id: int, fmt: str):
    themed_session = load_session(session_id)
    if fmt == "csv":
        body, mimetype = imports.export_csv(themed_session), "text/csv"
    elif fmt == "xlsx":
        body, mimetype = imports.export_xlsx(themed_session), imports.XLSX_TYPE
    else:
        abort(404)
    name = imports.export_name(themed_session, fmt)
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/tindak-lanjut/foto/<int:update_id>")
def photo(update_id: int):
    """An update's photo: to its owner, the session's staff and whoever records it; 404 to anyone else."""
    entry = db.get_or_404(FollowUpUpdate, update_id)
    if entry.photo_file is None or not current_user.is_authenticated or not entry.follow_up.can_view_photos(current_user):
        abort(404)
    return storage.download(entry.photo_file, entry.photo_name)
