"""The planner's selection constraints: must-fund proposals, exclusive groups and category caps."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from participation.extensions import db
from participation.models import Category, ExclusiveGroup, Proposal, ProposalStatus, ThemedSession
from participation.review import constraints as services
from participation.review.blueprint import bp, load_session_proposal
from participation.review.constraint_forms import CategoryCapForm, ExclusiveGroupForm, MustFundForm, receipt_numbers
from participation.review.ranking import build_ranking
from participation.security import MANAGERS, rerender_on_csrf_error, session_page, web_actor

ERRORS = {
    "locked": lambda d: _("The session is finalised: its selection constraints stay as the final ranking used them."),
    "reason_required": lambda d: _("Give the reason this proposal must be funded."),
    "reason_too_long": lambda d: _("At most 500 characters."),
    "not_submitted": lambda d: _("Only submitted proposals can be marked must-fund."),
    "not_must_fund": lambda d: _("This proposal is not marked must-fund."),
    "name_required": lambda d: _("Name the group, for example “two halal certification proposals”."),
    "name_too_long": lambda d: _("At most 120 characters."),
    "not_in_session": lambda d: _("Not a submitted proposal of this session: %(receipts)s.",
                                  receipts=", ".join(d["receipts"])),
    "too_few": lambda d: _("An exclusive group needs at least two different proposals."),
    "cap_range": lambda d: _("A cap cannot be negative."),
}


def error_message(error: services.ConstraintError) -> str:
    return ERRORS[error.code](error.details)


def _page(themed_session: ThemedSession, *, must_form=None, group_form=None, cap_forms=None, status=200):
    """The constraints page; a refused form is passed in to be shown as typed, the others empty."""
    ranking = build_ranking(themed_session, stability=False)
    must = [item for item in ranking.items if item.must_fund_reason is not None]
    by_id = {item.proposal.id: item.proposal for item in ranking.items}
    groups = db.session.scalars(select(ExclusiveGroup).where(ExclusiveGroup.session_id == themed_session.id)
                                .order_by(ExclusiveGroup.id)).all()
    asked = dict(db.session.execute(
        select(Proposal.category_id, func.sum(Proposal.estimated_cost))
        .where(Proposal.session_id == themed_session.id, Proposal.status == ProposalStatus.SUBMITTED)
        .group_by(Proposal.category_id)).all())
    cap_forms = cap_forms or {}
    categories = [(category, cap_forms.get(category.id) or _cap_form(category), int(asked.get(category.id) or 0))
                  for category in themed_session.categories]
    return render_template("review/constraints.html", themed_session=themed_session, ranking=ranking, must=must,
                           groups=groups, by_id=by_id, categories=categories,
                           must_form=must_form or MustFundForm(prefix="wajib", formdata=None),
                           group_form=group_form or ExclusiveGroupForm(prefix="grup", formdata=None),
                           editable=themed_session.is_editable), status


def _cap_form(category: Category, formdata=None) -> CategoryCapForm:
    form = CategoryCapForm(prefix=f"kategori-{category.id}", formdata=formdata)
    if formdata is None:
        form.cap.data = category.budget_cap
    return form


def _done(themed_session: ThemedSession, text: str):
    db.session.commit()
    flash(text, "success")
    return redirect(url_for("review.constraints", session_id=themed_session.id), code=303)


def _refused(themed_session: ThemedSession, error: services.ConstraintError):
    db.session.rollback()
    flash(error_message(error), "danger")
    return redirect(url_for("review.constraints", session_id=themed_session.id), code=303)


@bp.route("/batasan")
@session_page(*MANAGERS, manage=True)
def constraints(themed_session: ThemedSession):
    return _page(themed_session)


@bp.route("/batasan/wajib", methods=["POST"])
@session_page(*MANAGERS, manage=True)
@rerender_on_csrf_error
def set_must_fund(themed_session: ThemedSession):
    form = MustFundForm(prefix="wajib")
    if not form.validate_on_submit():
        return _page(themed_session, must_form=form, status=400)
    receipt = form.receipt_number.data.strip().upper()
    proposal = db.session.scalar(select(Proposal).where(Proposal.session_id == themed_session.id,
                                                        Proposal.receipt_number == receipt))
    if proposal is None:
        form.receipt_number.errors.append(_("No proposal of this session has that receipt number."))
        return _page(themed_session, must_form=form, status=400)
    try:
        services.set_must_fund(proposal, form.reason.data, web_actor())
    except services.ConstraintError as error:
        db.session.rollback()
        field = form.reason if error.code.startswith("reason") else form.receipt_number
        field.errors.append(error_message(error))
        return _page(themed_session, must_form=form, status=409 if error.code == "locked" else 400)
    return _done(themed_session, _("%(receipt)s is marked must-fund.", receipt=proposal.receipt_number))


@bp.route("/batasan/wajib/<int:proposal_id>/hapus", methods=["POST"])
@session_page(*MANAGERS, manage=True)
def clear_must_fund(themed_session: ThemedSession, proposal_id: int):
    proposal = load_session_proposal(themed_session, proposal_id)
    try:
        services.clear_must_fund(proposal, web_actor())
    except services.ConstraintError as error:
        return _refused(themed_session, error)
    return _done(themed_session, _("%(receipt)s is no longer must-fund.", receipt=proposal.receipt_number))


@bp.route("/batasan/grup", methods=["POST"])
@session_page(*MANAGERS, manage=True)
@rerender_on_csrf_error
def create_exclusive_group(themed_session: ThemedSession):
    form = ExclusiveGroupForm(prefix="grup")
    if not form.validate_on_submit():
        return _page(themed_session, group_form=form, status=400)
    typed = receipt_numbers(form.receipts.data)
    found = db.session.scalars(select(Proposal).where(Proposal.session_id == themed_session.id,
                                                      Proposal.receipt_number.in_(typed))).all()
    unknown = sorted(set(typed) - {proposal.receipt_number for proposal in found})
    if unknown:
        form.receipts.errors.append(_("Not a submitted proposal of this session: %(receipts)s.",
                                      receipts=", ".join(unknown[:10])))
        return _page(themed_session, group_form=form, status=400)
    try:
        group = services.create_exclusive_group(themed_session, form.name.data, list(found), web_actor())
    except services.ConstraintError as error:
        db.session.rollback()
        field = form.name if error.code.startswith("name") else form.receipts
        field.errors.append(error_message(error))
        return _page(themed_session, group_form=form, status=409 if error.code == "locked" else 400)
    return _done(themed_session, _("The exclusive group “%(name)s” is saved.", name=group.name))


@bp.route("/batasan/grup/<int:group_id>/hapus", methods=["POST"])
@session_page(*MANAGERS, manage=True)
def delete_exclusive_group(themed_session: ThemedSession, group_id: int):
    group = db.session.get(ExclusiveGroup, group_id)
    if group is None or group.session_id != themed_session.id:
        abort(404)
    name = group.name
    try:
        services.delete_exclusive_group(group, web_actor())
    except services.ConstraintError as error:
        return _refused(themed_session, error)
    return _done(themed_session, _("The exclusive group “%(name)s” is deleted.", name=name))


@bp.route("/batasan/kategori/<int:category_id>", methods=["POST"])
@session_page(*MANAGERS, manage=True)
@rerender_on_csrf_error
def set_category_cap(themed_session: ThemedSession, category_id: int):
    category = db.session.get(Category, category_id)
    if category is None or category.session_id != themed_session.id:
        abort(404)
    form = _cap_form(category, request.form)
    if not form.validate_on_submit():
        return _page(themed_session, cap_forms={category.id: form}, status=400)
    try:
        services.set_category_cap(category, form.cap.data, web_actor())
    except services.ConstraintError as error:
        db.session.rollback()
        form.cap.errors = [*form.cap.errors, error_message(error)]
        return _page(themed_session, cap_forms={category.id: form}, status=409 if error.code == "locked" else 400)
    if form.cap.data is None:
        return _done(themed_session, _("The category %(name)s has no cap now.", name=category.name))
    return _done(themed_session, _("The cap of the category %(name)s is saved.", name=category.name))
