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
    WeightsOrigin,
)
from participation.security import MANAGERS, STAFF, rerender_on_csrf_error, role_required, session_page, web_actor
from participation.sessions import services
from participation.sessions.errors import error_message
from participation.sessions.forms import (
    CategoryForm,
    CategorySipdForm,
    CriterionForm,
    MemberForm,
    SessionForm,
    make_weights_form,
)

bp = Blueprint("sessions", __name__, url_prefix="/sesi")

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
    form = SessionForm(planner_count=1 if current_user.role is Role.PLANNER else 0)
    if request.method == "GET":
        from datetime import date

        form.fiscal_year.data = date.today().year + 1
    if form.validate_on_submit():
        themed_session = services.create_session(form.session_data(), web_actor())
        db.session.commit()
        flash(_("The session has been created with the default categories and criteria."), "success")
        return redirect(url_for("sessions.detail", session_id=themed_session.id), code=303)
    return render_template("sessions/form.html", form=form, themed_session=None), 400 if form.errors else 200


@bp.route("/<int:session_id>")
@session_page(*STAFF)
def detail(themed_session: ThemedSession):
    session_id = themed_session.id
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
        "sessions/detail.html", themed_session=themed_session,
        proposal_counts={"submitted": status_counts.get(ProposalStatus.SUBMITTED, 0),
                         "drafts": status_counts.get(ProposalStatus.DRAFT, 0),
                         "withdrawn": status_counts.get(ProposalStatus.WITHDRAWN, 0)},
        category_form=CategoryForm(), member_form=member_form,
        total_weight=total_weight, invited=invited, can_manage=themed_session.can_manage(current_user),
    )


@bp.route("/<int:session_id>/ubah", methods=["GET", "POST"])
@session_page(*MANAGERS, manage=True)
@rerender_on_csrf_error
def edit(themed_session: ThemedSession):
    form = SessionForm(obj=themed_session, planner_count=themed_session.planner_count)
    if form.validate_on_submit():
        try:
            services.update_session(themed_session, form.session_data(), web_actor())
        except services.SessionError as error:
            form.form_errors.append(error_message(error))
        else:
            db.session.commit()
            flash(_("The session details have been saved."), "success")
            return _back(themed_session)
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
@session_page(*MANAGERS, manage=True)
def add_category(themed_session: ThemedSession):
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            category = services.add_category(themed_session, form.name.data, web_actor())
        except services.SessionError as error:
            flash(error_message(error), "danger")
        else:
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


@bp.route("/<int:session_id>/kategori/<int:category_id>/sipd", methods=["GET", "POST"])
@session_page(*MANAGERS, manage=True)
@rerender_on_csrf_error
def category_sipd(themed_session: ThemedSession, category_id: int):
    """A category's defaults for the SIPD-layout export: OPD, sub-activity, kind of spending."""
    from participation.review import sipd

    category = _load_child(Category, themed_session, category_id)
    form = CategorySipdForm(obj=category)
    if form.validate_on_submit():
        try:
            services.set_category_sipd(themed_session, category, form.category_data(), web_actor())
        except sipd.CodeError as error:
            db.session.rollback()
            for name, problem in error.problems.items():
                form[name].errors.append(problem)
        except services.SessionError as error:
            db.session.rollback()
            form.jenis_belanja.errors.append(error_message(error))
        else:
            db.session.commit()
            flash(_("The SIPD codes of “%(name)s” have been saved.", name=category.name), "success")
            return _back(themed_session, "#kategori")
    status = 400 if request.method == "POST" else 200
    return render_template("sessions/category_sipd.html", form=form, themed_session=themed_session,
                           category=category), status


@bp.route("/<int:session_id>/kategori/<int:category_id>/hapus", methods=["POST"])
@session_page(*MANAGERS, manage=True)
def delete_category(themed_session: ThemedSession, category_id: int):
    category = _load_child(Category, themed_session, category_id)
    try:
        services.remove_category(themed_session, category, web_actor())
    except services.SessionError as error:
        flash(error_message(error), "danger")
    else:
        db.session.commit()
        flash(_("Category “%(name)s” removed.", name=category.name), "success")
    return _back(themed_session, "#kategori")


def _step() -> int:
    step = {"naik": -1, "turun": 1}.get(request.form.get("arah", ""))
    if step is None:
        abort(400)
    return step


@bp.route("/<int:session_id>/kategori/<int:category_id>/pindah", methods=["POST"])
@session_page(*MANAGERS, manage=True)
def move_category(themed_session: ThemedSession, category_id: int):
    category = _load_child(Category, themed_session, category_id)
    try:
        services.move_category(themed_session, category, _step(), web_actor())
    except services.SessionError as error:
        flash(error_message(error), "danger")
        return _back(themed_session, "#kategori")
    db.session.commit()
    return _back(themed_session, "#kategori")


@bp.route("/<int:session_id>/kriteria/baru", methods=["GET", "POST"])
@session_page(*MANAGERS, manage=True)
@rerender_on_csrf_error
def add_criterion(themed_session: ThemedSession):
    if themed_session.status is not SessionStatus.DRAFT:
        flash(_("Criteria can only be added while the session is a draft."), "warning")
        return _back(themed_session, "#kriteria")
    form = CriterionForm()
    if form.validate_on_submit():
        criterion = services.add_criterion(themed_session, web_actor(), **form.criterion_data())
        db.session.commit()
        flash(_("Criterion “%(name)s” added.", name=criterion.name), "success")
        return _back(themed_session, "#kriteria")
    status = 400 if request.method == "POST" else 200
    return render_template("sessions/criterion.html", form=form, themed_session=themed_session,
                           criterion=None), status


@bp.route("/<int:session_id>/kriteria/<int:criterion_id>", methods=["GET", "POST"])
@session_page(*MANAGERS, manage=True)
@rerender_on_csrf_error
def edit_criterion(themed_session: ThemedSession, criterion_id: int):
    criterion = _load_child(Criterion, themed_session, criterion_id)
    if (refused := _refuse_if_locked(themed_session)) is not None:
        return refused
    form = CriterionForm(obj=criterion)
    if request.method == "GET":
        form.direction.data = str(criterion.direction)
        form.source.data = criterion.source.value
    if form.validate_on_submit():
        try:
            services.update_criterion(criterion, form.criterion_data(), web_actor())
        except services.SessionError as error:
            form.source.errors.append(error_message(error))
        else:
            db.session.commit()
            flash(_("Criterion “%(name)s” saved.", name=criterion.name), "success")
            return _back(themed_session, "#kriteria")
    status = 400 if request.method == "POST" else 200
    return render_template("sessions/criterion.html", form=form, themed_session=themed_session,
                           criterion=criterion), status


@bp.route("/<int:session_id>/kriteria/<int:criterion_id>/hapus", methods=["POST"])
@session_page(*MANAGERS, manage=True)
def delete_criterion(themed_session: ThemedSession, criterion_id: int):
    criterion = _load_child(Criterion, themed_session, criterion_id)
    try:
        services.remove_criterion(themed_session, criterion, web_actor())
    except services.SessionError as error:
        flash(error_message(error), "danger")
    else:
        db.session.commit()
        flash(_("Criterion “%(name)s” removed.", name=criterion.name), "success")
    return _back(themed_session, "#kriteria")


@bp.route("/<int:session_id>/kriteria/<int:criterion_id>/pindah", methods=["POST"])
@session_page(*MANAGERS, manage=True)
def move_criterion(themed_session: ThemedSession, criterion_id: int):
    criterion = _load_child(Criterion, themed_session, criterion_id)
    try:
        services.move_criterion(themed_session, criterion, _step(), web_actor())
    except services.SessionError as error:
        flash(error_message(error), "danger")
        return _back(themed_session, "#kriteria")
    db.session.commit()
    return _back(themed_session, "#kriteria")


@bp.route("/<int:session_id>/bobot", methods=["GET", "POST"])
@session_page(*MANAGERS, manage=True)
@rerender_on_csrf_error
def weights(themed_session: ThemedSession):
    if (refused := _refuse_if_locked(themed_session)) is not None:
        return refused
    form = make_weights_form(themed_session)()
    if form.validate_on_submit():
        weight_values, directions = form.values()
        try:
            services.set_weights(themed_session, weight_values, web_actor(), directions=directions,
                                 origin=WeightsOrigin.MANUAL)
        except services.SessionError as error:
            form.form_errors.append(error_message(error))
        else:
            db.session.commit()
            flash(_("The weights have been saved."), "success")
            return _back(themed_session, "#kriteria")
    status = 400 if request.method == "POST" else 200
    return render_template("sessions/weights.html", form=form, themed_session=themed_session), status


@bp.route("/<int:session_id>/status", methods=["POST"])
@session_page(*MANAGERS, manage=True)
def transition(themed_session: ThemedSession):
    action = request.form.get("action", "")
    try:
        _before, after = services.transition(themed_session, action, web_actor())
    except services.SessionError as error:
        flash(error_message(error), "danger")
    else:
        db.session.commit()
        flash(_("The session is now: %(status)s.", status=after.label), "success")
    return _back(themed_session)


@bp.route("/<int:session_id>/tim", methods=["POST"])
@session_page(*MANAGERS, manage=True)
def add_member(themed_session: ThemedSession):
    user_id = parse_id(request.form.get("user_id"))
    user = db.session.get(User, user_id) if user_id else None
    if user is None:
        abort(400)
    try:
        services.add_member(themed_session, user, web_actor())
    except services.SessionError as error:
        flash(error_message(error), "danger")
    else:
        db.session.commit()
        flash(_("%(name)s has joined the session's team.", name=user.name), "success")
    return _back(themed_session, "#tim")


@bp.route("/<int:session_id>/tim/<int:user_id>/hapus", methods=["POST"])
@session_page(*MANAGERS, manage=True)
def remove_member(themed_session: ThemedSession, user_id: int):
    user = db.get_or_404(User, user_id)
    try:
        services.remove_member(themed_session, user, web_actor())
    except services.SessionError as error:
        flash(error_message(error), "danger")
    else:
        db.session.commit()
        flash(_("%(name)s has left the session's team.", name=user.name), "success")
    return _back(themed_session, "#tim")

