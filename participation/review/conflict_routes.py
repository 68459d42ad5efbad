"""Conflicts of interest: the session's declarations, declaring one about a business, withdrawing one."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from participation.extensions import db
from participation.models import Business, ConflictKind, ConflictOfInterest, Proposal, ProposalStatus, ThemedSession
from participation.review import conflicts
from participation.review.blueprint import bp
from participation.review.forms import ConflictForm
from participation.security import STAFF, rerender_on_csrf_error, safe_next, session_page, web_actor

ERRORS = {
    "not_staff": lambda: _("Only staff members declare conflicts of interest."),
    "not_allowed": lambda: _("Only planners and administrators declare or withdraw a conflict for a colleague."),
    "note_too_long": lambda: _("The note may be at most 500 characters."),
    "already_declared": lambda: _("This conflict of interest is already declared."),
    "withdrawn": lambda: _("This declaration was already withdrawn."),
}


def load_session_business(themed_session: ThemedSession, business_id: int) -> Business:
    """A business that proposes in the session or is on its roster; 404 otherwise."""
    business = db.session.scalar(select(Business).where(Business.id == business_id,
                                                        conflicts.session_businesses(themed_session)))
    if business is None:
        abort(404)
    return business


@bp.route("/konflik")
@session_page(*STAFF)
def conflict_list(themed_session: ThemedSession):
    declarations = conflicts.session_declarations(themed_session)
    if not themed_session.can_manage(current_user):  # a facilitator sees their own declarations
        declarations = [conflict for conflict in declarations if conflict.user_id == current_user.id]
    return render_template("review/conflicts.html", themed_session=themed_session, declarations=declarations,
                           suggestions=conflicts.suggestions(themed_session, user=current_user),
                           kinds=ConflictKind)


@bp.route("/konflik/usaha/<int:business_id>", methods=["GET", "POST"])
@session_page(*STAFF)
@rerender_on_csrf_error
def declare_conflict(themed_session: ThemedSession, business_id: int):
    business = load_session_business(themed_session, business_id)
    form = ConflictForm()
    colleagues = _colleagues(themed_session)
    if colleagues:
        form.user_id.choices = [(str(user.id), user.name) for user in colleagues]
        if request.method == "GET":
            form.user_id.data = str(current_user.id)
    else:
        del form.user_id
    target = safe_next(request.values.get("next"))
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        user = _concerned(form, colleagues)
        try:
            conflicts.declare(web_actor(), user, business, ConflictKind(form.kind.data), form.note.data or "")
        except conflicts.ConflictError as error:
            db.session.rollback()
            form.form_errors.append(ERRORS[error.code]())
            status = 409 if error.code == "already_declared" else 400
        else:
            db.session.commit()
            flash(_("The conflict of interest of %(name)s with %(business)s is declared.", name=user.name,
                    business=business.name), "success")
            return redirect(target or url_for("review.conflict_list", session_id=themed_session.id), code=303)
    proposals = db.session.scalars(select(Proposal).where(
        Proposal.session_id == themed_session.id, Proposal.business_id == business.id,
        Proposal.status == ProposalStatus.SUBMITTED).order_by(Proposal.receipt_number)).all()
    view = conflicts.staff_view(current_user, business)
    return render_template("review/declare_conflict.html", themed_session=themed_session, business=business,
                           form=form, proposals=proposals, view=view, target=target), status


@bp.route("/konflik/<int:conflict_id>/tarik", methods=["POST"])
@session_page(*STAFF)
def withdraw_conflict(themed_session: ThemedSession, conflict_id: int):
    conflict = db.session.get(ConflictOfInterest, conflict_id)
    if conflict is None or not (conflict.user_id == current_user.id or themed_session.can_manage(current_user)):
        abort(404)
    load_session_business(themed_session, conflict.business_id)
    try:
        conflicts.withdraw(web_actor(), conflict)
    except conflicts.ConflictError as error:
        db.session.rollback()
        flash(ERRORS[error.code](), "warning")
    else:
        db.session.commit()
        flash(_("The declaration is withdrawn. It stays on record as withdrawn."), "success")
    return redirect(url_for("review.conflict_list", session_id=themed_session.id), code=303)


def _colleagues(themed_session: ThemedSession) -> list:
    """Whom the signed-in user may declare for: a planner or admin, themself and the session's staff."""
    if not themed_session.can_manage(current_user):
        return []
    others = [member for member in themed_session.members
              if member.role.is_staff and member.id != current_user.id]
    return [current_user._get_current_object(), *others]


def _concerned(form: ConflictForm, colleagues: list):
    if not colleagues:
        return current_user._get_current_object()
    chosen = next((user for user in colleagues if str(user.id) == form.user_id.data), None)
    if chosen is None:
        abort(400)
    return chosen
