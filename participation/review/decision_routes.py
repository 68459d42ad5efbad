"""Planners decide on proposals and finalise the session (the ranking becomes a snapshot)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from participation.extensions import db
from participation.models import ConflictKind, Outcome, ThemedSession
from participation.review import conflicts, services, sipd
from participation.review.blueprint import bp, load_session_proposal, message
from participation.review.forms import DecisionForm, make_finalize_form
from participation.review.ranking import budget_effect, build_ranking
from participation.security import MANAGERS, rerender_on_csrf_error, session_page, web_actor
from participation.sessions.forms import SipdCodeFields


@bp.route("/keputusan/<int:proposal_id>", methods=["GET", "POST"])
@session_page(*MANAGERS, manage=True)
@rerender_on_csrf_error
def decide(themed_session: ThemedSession, proposal_id: int):
    session_id = themed_session.id
    proposal = load_session_proposal(themed_session, proposal_id)
    form = DecisionForm()
    if request.method == "GET" and proposal.decision:
        form.outcome.data = proposal.decision.outcome.value
        form.reason.data = proposal.decision.reason
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            services.decide(proposal, Outcome(form.outcome.data), form.reason.data, web_actor(),
                            correction_reason=(form.correction_reason.data or "").strip() or None)
        except services.ReviewError as error:
            db.session.rollback()
            form.form_errors.append(message(error))
            status = 403 if error.code == "conflicted" else 400
        else:
            effect = budget_effect(build_ranking(themed_session, stability=False), proposal.id)
            db.session.commit()
            flash(_("Decision on %(receipt)s recorded.", receipt=proposal.receipt_number), "success")
            if Outcome(form.outcome.data) is Outcome.PRIORITIZED and effect and effect.outside_ceiling:
                flash(_("%(receipt)s is prioritised but lies outside the budget ceiling: %(why)s",
                        receipt=proposal.receipt_number, why=effect.not_selected), "warning")
            return redirect(url_for("review.ranking", session_id=session_id), code=303)
    return _decision_page(themed_session, proposal, form, _sipd_form(proposal), status)


def _sipd_form(proposal) -> SipdCodeFields:
    """The planner's SIPD codes of the proposal as stored, empty where the category's default applies."""
    return SipdCodeFields(formdata=None, obj=proposal)


def _decision_page(themed_session, proposal, form, sipd_form, status: int):
    effect = budget_effect(build_ranking(themed_session, stability=False), proposal.id)
    prioritized = bool(proposal.decision and proposal.decision.outcome is Outcome.PRIORITIZED)
    return render_template("review/decide.html", themed_session=themed_session, proposal=proposal,
                           form=form, sipd_form=sipd_form, effect=effect, prioritized=prioritized,
                           view=conflicts.staff_view(current_user, proposal.business), kinds=ConflictKind,
                           left_out=conflicts.left_out_ratings(themed_session).get(proposal.id, 0)), status


@bp.route("/keputusan/<int:proposal_id>/sipd", methods=["POST"])
@session_page(*MANAGERS, manage=True)
@rerender_on_csrf_error
def sipd_codes(themed_session: ThemedSession, proposal_id: int):
    """A planner's OPD and sub-activity for this proposal (empty: the category's), for the SIPD export."""
    proposal = load_session_proposal(themed_session, proposal_id)
    sipd_form = SipdCodeFields()
    if sipd_form.validate_on_submit():
        try:
            services.set_sipd_codes(proposal, sipd_form.code_data(), web_actor())
        except sipd.CodeError as error:
            db.session.rollback()
            for name, problem in error.problems.items():
                sipd_form[name].errors.append(problem)
        else:
            db.session.commit()
            flash(_("The SIPD codes of %(receipt)s have been saved.", receipt=proposal.receipt_number), "success")
            return redirect(url_for("review.decide", session_id=themed_session.id, proposal_id=proposal.id)
                            + "#sipd", code=303)
    form = DecisionForm(formdata=None)
    if proposal.decision:
        form.outcome.data, form.reason.data = proposal.decision.outcome.value, proposal.decision.reason
    return _decision_page(themed_session, proposal, form, sipd_form, 400)


@bp.route("/finalisasi", methods=["GET", "POST"])
@session_page(*MANAGERS, manage=True)
@rerender_on_csrf_error
def finalize(themed_session: ThemedSession):
    session_id = themed_session.id
    current = build_ranking(themed_session, stability=False)
    form = make_finalize_form(current.incomplete)()
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            snapshot = services.finalize(themed_session, form.exclusions(), web_actor())
        except services.ReviewError as error:
            db.session.rollback()
            form.form_errors.append(message(error))
            if error.code == "incomplete":
                for proposal in error.details["proposals"]:
                    field = form[f"exclude_{proposal.id}"]
                    field.errors.append(_("Rate this proposal, or give a reason to exclude it."))
        else:
            db.session.commit()
            flash(_("The session is finalised. The ranking is fixed as version %(version)d.",
                    version=snapshot.version), "success")
            return redirect(url_for("review.ranking", session_id=session_id), code=303)
    return render_template("review/finalize.html", themed_session=themed_session, ranking=current,
                           form=form), status
