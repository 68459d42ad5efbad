"""Planners create and run themed sessions; facilitators see the sessions they work on."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from participation.extensions import db
from participation.forms import parse_id
from participation.models import (
    Category,
    Criterion,
    Invitation,
    Proposal,
    ProposalStatus,
    Role,
    SessionStatus,
    ThemedSession,
    User,
)
from participation.security import client_ip, record_audit, rerender_on_csrf_error, role_required
from participation.sessions import services
from participation.sessions.forms import CategoryForm, CriterionForm, MemberForm, SessionForm, make_weights_form

bp = Blueprint("sessions", __name__, url_prefix="/sesi")

STAFF = (Role.PLANNER, Role.FACILITATOR, Role.ADMIN)
MANAGERS = (Role.PLANNER, Role.ADMIN)

ERRORS = {
    "duplicate": lambda: _("A category with that name already exists."),
    "in_use": lambda: _("Proposals use this category; it cannot be removed."),
    "source_locked": lambda: _("A criterion's source cannot change once the session has opened."),
    "criteria_locked": lambda: _("Criteria can only be removed while the session is a draft."),
    "zero_weights": lambda: _("At least one criterion needs a weight above zero."),
    "wrong_status": lambda: _("The session is not in a state that allows this."),
    "unknown_action": lambda: _("Unknown action."),
    "finalized": lambda: _("A finalized session can no longer be changed."),
    "locked": lambda: _("Categories, criteria and weights are locked once the session is finalized."),
    "window_required": lambda: _("The submission window cannot be cleared while the session is open."),
    "not_staff": lambda: _("Only active planners and facilitators can join a session's team."),
    "last_planner": lambda: _("A session needs at least one planner."),
}


def error_message(error: services.SessionError) -> str:
    """The user-facing message for a refused change."""
    code = str(error)
    return ERRORS[code]() if code in ERRORS else code


def load_session(session_id: int, *, manage: bool = False) -> ThemedSession:
    """The session if the current user works on it: 404 for others, 403 for read-only members."""
    themed_session = db.get_or_404(ThemedSession, session_id)
    if not themed_session.can_facilitate(current_user):
        abort(404)
    if manage and not themed_session.can_manage(current_user):
        abort(403)
    return themed_session


def audit(action: str, themed_session: ThemedSession, **kwargs) -> None:
    record_audit(action, actor=current_user, obj=themed_session, object_type="ThemedSession",
                 ip=client_ip(), **kwargs)


@bp.route("/")
@role_required(*STAFF)
def index():
    themed_sessions = services.sessions_for(current_user)
    counts = dict(db.session.execute(
        select(Proposal.session_id, func.count(Proposal.id))
        .where(Proposal.status == ProposalStatus.SUBMITTED).group_by(Proposal.session_id)
    ).all())
    return render_template("sessions/index.html", themed_sessions=themed_sessions, counts=counts)


@bp.route("/baru", methods=["GET", "POST"])
@role_required(*MANAGERS)
@rerender_on_csrf_error
def new():
    form = SessionForm()
    if request.method == "GET":
        from datetime import date

        form.fiscal_year.data = date.today().year + 1
    if form.validate_on_submit():
        themed_session = services.create_session(form.session_data(), current_user)
        audit("session.created", themed_session, after={"title": themed_session.title})
        db.session.commit()
        flash(_("The session has been created with the default categories and criteria."), "success")
        return redirect(url_for("sessions.detail", session_id=themed_session.id), code=303)
    return render_template("sessions/form.html", form=form, themed_session=None), 400 if form.errors else 200


@bp.route("/<int:session_id>")
@role_required(*STAFF)
def detail(session_id: int):
    themed_session = load_session(session_id)
    status_counts = dict(db.session.execute(
        select(Proposal.status, func.count(Proposal.id)).where(Proposal.session_id == session_id)
        .group_by(Proposal.status)
    ).all())
    members = {member.id for member in themed_session.members}
    candidates = db.session.scalars(
        select(User).where(User.role.in_([Role.PLANNER, Role.FACILITATOR]), User.active.is_(True))
        .order_by(User.name)
    ).all()
    member_form = MemberForm()
    member_form.user_id.choices = [(u.id, f"{u.name} ({u.role.label})") for u in candidates if u.id not in members]
    total_weight = sum(criterion.weight for criterion in themed_session.criteria) or 1.0
    invited = db.session.scalar(select(func.count(Invitation.id)).where(Invitation.session_id == session_id))
    return render_template(
        "sessions/detail.html", themed_session=themed_session, status_counts=status_counts,
        category_form=CategoryForm(), member_form=member_form,
        total_weight=total_weight, invited=invited, can_manage=themed_session.can_manage(current_user),
    )


@bp.route("/<int:session_id>/ubah", methods=["GET", "POST"])
@role_required(*MANAGERS)
@rerender_on_csrf_error
def edit(session_id: int):
    themed_session = load_session(session_id, manage=True)
    form = SessionForm(obj=themed_session)
    if form.validate_on_submit():
        try:
            changes = services.update_session(themed_session, form.session_data())
        except services.SessionError as error:
            form.form_errors.append(error_message(error))
        else:
            if changes:
                audit("session.updated", themed_session, before={k: str(v[0]) for k, v in changes.items()},
                      after={k: str(v[1]) for k, v in changes.items()})
            db.session.commit()
            flash(_("The session details have been saved."), "success")
            return redirect(url_for("sessions.detail", session_id=session_id), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("sessions/form.html", form=form, themed_session=themed_session), status


def _back(themed_session, anchor=""):
    return redirect(url_for("sessions.detail", session_id=themed_session.id) + anchor, code=303)


def _refuse_if_locked(themed_session, anchor="#kriteria"):
    """A redirect with the reason when the session's criteria and weights are locked, else None."""
    try:
        services.check_structure_editable(themed_session)
    except services.SessionError as error:
        flash(error_message(error), "warning")
        return _back(themed_session, anchor)
    return None


@bp.route("/<int:session_id>/kategori", methods=["POST"])
@role_required(*MANAGERS)
def add_category(session_id: int):
    themed_session = load_session(session_id, manage=True)
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            category = services.add_category(themed_session, form.name.data)
        except services.SessionError as error:
            flash(error_message(error), "danger")
        else:
            audit("session.category_added", themed_session, after={"category": category.name})
            db.session.commit()
            flash(_("Category “%(name)s” added.", name=category.name), "success")
    else:
        for message in form.name.errors:
            flash(message, "danger")
    return _back(themed_session, "#kategori")


def _load_child(model, themed_session, child_id):
    child = db.session.get(model, child_id)
    if child is None or child.session_id != themed_session.id:
        abort(404)
    return child


@bp.route("/<int:session_id>/kategori/<int:category_id>/hapus", methods=["POST"])
@role_required(*MANAGERS)
def delete_category(session_id: int, category_id: int):
    themed_session = load_session(session_id, manage=True)
    category = _load_child(Category, themed_session, category_id)
    try:
        services.remove_category(themed_session, category)
    except services.SessionError as error:
        flash(error_message(error), "danger")
    else:
        audit("session.category_removed", themed_session, before={"category": category.name})
        db.session.commit()
        flash(_("Category “%(name)s” removed.", name=category.name), "success")
    return _back(themed_session, "#kategori")


def _step() -> int:
    step = {"naik": -1, "turun": 1}.get(request.form.get("arah", ""))
    if step is None:
        abort(400)
    return step


@bp.route("/<int:session_id>/kategori/<int:category_id>/pindah", methods=["POST"])
@role_required(*MANAGERS)
def move_category(session_id: int, category_id: int):
    themed_session = load_session(session_id, manage=True)
    category = _load_child(Category, themed_session, category_id)
    try:
        before, after = services.move_category(themed_session, category, _step())
    except services.SessionError as error:
        flash(error_message(error), "danger")
        return _back(themed_session, "#kategori")
    if before != after:
        audit("session.category_moved", themed_session, before={"category": category.name, "position": before},
              after={"category": category.name, "position": after})
    db.session.commit()
    return _back(themed_session, "#kategori")


@bp.route("/<int:session_id>/kriteria/baru", methods=["GET", "POST"])
@role_required(*MANAGERS)
@rerender_on_csrf_error
def add_criterion(session_id: int):
    themed_session = load_session(session_id, manage=True)
    if themed_session.status is not SessionStatus.DRAFT:
        flash(_("Criteria can only be added while the session is a draft."), "warning")
        return _back(themed_session, "#kriteria")
    form = CriterionForm()
    if form.validate_on_submit():
        criterion = services.add_criterion(themed_session, **form.criterion_data())
        audit("session.criterion_added", themed_session,
              after={"key": criterion.key, "weight": criterion.weight, "direction": criterion.direction,
                     "source": criterion.source.value})
        db.session.commit()
        flash(_("Criterion “%(name)s” added.", name=criterion.name), "success")
        return _back(themed_session, "#kriteria")
    status = 400 if request.method == "POST" else 200
    return render_template("sessions/criterion.html", form=form, themed_session=themed_session,
                           criterion=None), status


@bp.route("/<int:session_id>/kriteria/<int:criterion_id>", methods=["GET", "POST"])
@role_required(*MANAGERS)
@rerender_on_csrf_error
def edit_criterion(session_id: int, criterion_id: int):
    themed_session = load_session(session_id, manage=True)
    criterion = _load_child(Criterion, themed_session, criterion_id)
    if (refused := _refuse_if_locked(themed_session)) is not None:
        return refused
    form = CriterionForm(obj=criterion)
    if request.method == "GET":
        form.direction.data = str(criterion.direction)
        form.source.data = criterion.source.value
    if form.validate_on_submit():
        try:
            changes = services.update_criterion(criterion, form.criterion_data())
        except services.SessionError as error:
            form.source.errors.append(error_message(error))
        else:
            if changes:
                audit("session.criterion_updated", themed_session, object_id=themed_session.id,
                      before={"key": criterion.key, **{k: v[0] for k, v in changes.items()}},
                      after={"key": criterion.key, **{k: v[1] for k, v in changes.items()}})
            db.session.commit()
            flash(_("Criterion “%(name)s” saved.", name=criterion.name), "success")
            return _back(themed_session, "#kriteria")
    status = 400 if request.method == "POST" else 200
    return render_template("sessions/criterion.html", form=form, themed_session=themed_session,
                           criterion=criterion), status


@bp.route("/<int:session_id>/kriteria/<int:criterion_id>/hapus", methods=["POST"])
@role_required(*MANAGERS)
def delete_criterion(session_id: int, criterion_id: int):
    themed_session = load_session(session_id, manage=True)
    criterion = _load_child(Criterion, themed_session, criterion_id)
    try:
        services.remove_criterion(themed_session, criterion)
    except services.SessionError as error:
        flash(error_message(error), "danger")
    else:
        audit("session.criterion_removed", themed_session, before={"key": criterion.key})
        db.session.commit()
        flash(_("Criterion “%(name)s” removed.", name=criterion.name), "success")
    return _back(themed_session, "#kriteria")


@bp.route("/<int:session_id>/kriteria/<int:criterion_id>/pindah", methods=["POST"])
@role_required(*MANAGERS)
def move_criterion(session_id: int, criterion_id: int):
    themed_session = load_session(session_id, manage=True)
    criterion = _load_child(Criterion, themed_session, criterion_id)
    try:
        before, after = services.move_criterion(themed_session, criterion, _step())
    except services.SessionError as error:
        flash(error_message(error), "danger")
        return _back(themed_session, "#kriteria")
    if before != after:
        audit("session.criterion_moved", themed_session, before={"key": criterion.key, "position": before},
              after={"key": criterion.key, "position": after})
    db.session.commit()
    return _back(themed_session, "#kriteria")


@bp.route("/<int:session_id>/bobot", methods=["GET", "POST"])
@role_required(*MANAGERS)
@rerender_on_csrf_error
def weights(session_id: int):
    themed_session = load_session(session_id, manage=True)
    if (refused := _refuse_if_locked(themed_session)) is not None:
        return refused
    form = make_weights_form(themed_session)()
    if form.validate_on_submit():
        weight_values, directions = form.values()
        try:
            changes = services.set_weights(themed_session, weight_values, directions)
        except services.SessionError as error:
            form.form_errors.append(error_message(error))
        else:
            if changes:
                audit("session.weights_set", themed_session,
                      before={k: v["before"] for k, v in changes.items()},
                      after={k: v["after"] for k, v in changes.items()})
            db.session.commit()
            flash(_("The weights have been saved."), "success")
            return _back(themed_session, "#kriteria")
    status = 400 if request.method == "POST" else 200
    return render_template("sessions/weights.html", form=form, themed_session=themed_session), status


@bp.route("/<int:session_id>/status", methods=["POST"])
@role_required(*MANAGERS)
def transition(session_id: int):
    themed_session = load_session(session_id, manage=True)
    action = request.form.get("action", "")
    try:
        before, after = services.transition(themed_session, action)
    except services.SessionError as error:
        flash(error_message(error), "danger")
    else:
        audit(f"session.{action}", themed_session, before={"status": before.value},
              after={"status": after.value})
        db.session.commit()
        flash(_("The session is now: %(status)s.", status=after.label), "success")
    return _back(themed_session)


@bp.route("/<int:session_id>/tim", methods=["POST"])
@role_required(*MANAGERS)
def add_member(session_id: int):
    themed_session = load_session(session_id, manage=True)
    user_id = parse_id(request.form.get("user_id"))
    user = db.session.get(User, user_id) if user_id else None
    if user is None:
        abort(400)
    try:
        services.add_member(themed_session, user)
    except services.SessionError as error:
        flash(error_message(error), "danger")
    else:
        audit("session.member_added", themed_session, after={"user_id": user.id, "role": user.role.value})
        db.session.commit()
        flash(_("%(name)s has joined the session's team.", name=user.name), "success")
    return _back(themed_session, "#tim")


@bp.route("/<int:session_id>/tim/<int:user_id>/hapus", methods=["POST"])
@role_required(*MANAGERS)
def remove_member(session_id: int, user_id: int):
    themed_session = load_session(session_id, manage=True)
    user = db.get_or_404(User, user_id)
    try:
        services.remove_member(themed_session, user)
    except services.SessionError as error:
        flash(error_message(error), "danger")
    else:
        audit("session.member_removed", themed_session, before={"user_id": user.id})
        db.session.commit()
        flash(_("%(name)s has left the session's team.", name=user.name), "success")
    return _back(themed_session, "#tim")
