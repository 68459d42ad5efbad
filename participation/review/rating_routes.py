"""Planners rate proposals; facilitators record the participants' votes at the meeting."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from participation.extensions import db
from participation.models import ConflictKind, Proposal, ProposalStatus, Role, ThemedSession
from participation.review import conflicts, services
from participation.review.agreement import session_agreement
from participation.review.blueprint import bp, load_session_proposal, message
from participation.review.forms import make_rating_form, make_votes_form
from participation.review.ranking import load_proposals
from participation.security import STAFF, rerender_on_csrf_error, session_page, web_actor


@bp.route("/penilaian")
@session_page(Role.PLANNER, manage=True)
def rate_list(themed_session: ThemedSession):
    done, total, rated = services.rating_progress(themed_session, current_user)
    proposals = load_proposals(themed_session)
    agreement = session_agreement(themed_session, proposals)
    unrated_only = request.args.get("belum") == "1"
    if unrated_only:
        proposals = [p for p in proposals if p.id not in rated]
    conflicted = conflicts.conflicted_proposal_ids(themed_session, current_user)
    return render_template("review/rate_list.html", themed_session=themed_session, proposals=proposals,
                           rated=rated, done=done, total=total, unrated_only=unrated_only, conflicted=conflicted,
                           suggestions=conflicts.suggestions(themed_session, user=current_user), agreement=agreement)


@bp.route("/penilaian/<int:proposal_id>", methods=["GET", "POST"])
@session_page(Role.PLANNER, manage=True)
@rerender_on_csrf_error
def rate(themed_session: ThemedSession, proposal_id: int):
    proposal = load_session_proposal(themed_session, proposal_id)
    criteria = services.rating_criteria(themed_session)
    existing = services.ratings_by(current_user, proposal)
    form = make_rating_form(themed_session, criteria)()
    if request.method == "GET":
        for criterion, value_field, version_field in form.rating_fields():
            rating = existing.get(criterion.id)
            value_field.data = None if rating is None else str(int(rating.value))
            version_field.data = "" if rating is None else str(rating.version)
    status = 200
    if form.validate_on_submit():
        try:
            services.save_ratings(proposal, form.values(), form.versions(), web_actor(),
                                  correction_reason=(form.correction_reason.data or "").strip() or None)
        except services.ReviewError as error:
            db.session.rollback()
            form.form_errors.append(message(error))
            if error.code == "conflict":
                status = 409
                _show_current(form, services.ratings_by(current_user, proposal))
            elif error.code == "conflicted":
                status = 403
        else:
            db.session.commit()
            flash(_("Ratings for %(receipt)s saved.", receipt=proposal.receipt_number), "success")
            return redirect(_next_to_rate(themed_session, proposal), code=303)
    if request.method == "POST" and status == 200:
        status = 400
    done, total, _rated = services.rating_progress(themed_session, current_user)
    return render_template("review/rate.html", themed_session=themed_session, proposal=proposal, form=form,
                           done=done, total=total, view=conflicts.staff_view(current_user, proposal.business),
                           kinds=ConflictKind), status


def _show_current(form, current):
    """After a conflict: show what is stored now, with its version, so that a re-save is deliberate."""
    for criterion, value_field, version_field in form.rating_fields():
        rating = current.get(criterion.id)
        value_field.data = None if rating is None else str(int(rating.value))
        version_field.data = "" if rating is None else str(rating.version)


def _next_to_rate(themed_session, proposal):
    """The next proposal this planner has not rated, else the list."""
    _done, _total, rated = services.rating_progress(themed_session, current_user)
    following = db.session.scalar(
        select(Proposal.id).where(Proposal.session_id == themed_session.id,
                                  Proposal.status == ProposalStatus.SUBMITTED,
                                  Proposal.receipt_number > (proposal.receipt_number or ""),
                                  Proposal.id.not_in(rated or {0}))
        .order_by(Proposal.receipt_number).limit(1))
    if following:
        return url_for("review.rate", session_id=themed_session.id, proposal_id=following)
    return url_for("review.rate_list", session_id=themed_session.id)


@bp.route("/suara", methods=["GET", "POST"])
@session_page(*STAFF)
@rerender_on_csrf_error
def votes(themed_session: ThemedSession):
    session_id = themed_session.id
    proposals = load_proposals(themed_session)
    form = make_votes_form(proposals)()
    if form.validate_on_submit():
        try:
            services.record_votes(themed_session, form.values(), web_actor())
        except services.ReviewError as error:
            form.form_errors.append(message(error))
        else:
            db.session.commit()
            flash(_("Votes saved."), "success")
            return redirect(url_for("review.votes", session_id=session_id), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("review/votes.html", themed_session=themed_session, form=form), status
