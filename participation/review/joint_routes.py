"""Planners find near-duplicate proposals across businesses ("Usulan serupa"), merge a cluster into a
joint proposal or dismiss it, and undo a merge before finalisation (services in review/joint.py)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from participation.extensions import db
from participation.models import Proposal, ThemedSession
from participation.review import joint
from participation.review.blueprint import bp
from participation.review.joint_forms import MergeForm
from participation.review.ranking import build_ranking
from participation.security import MANAGERS, rerender_on_csrf_error, session_page, web_actor

ERRORS = {
    "finalised": lambda d: _("The session is finalised: proposals can no longer be merged, nor a merge undone."),
    "too_few": lambda d: _("Tick at least two proposals to merge."),
    "not_found": lambda d: _("One of these proposals is not in this session."),
    "not_mergeable": lambda d: _("%(receipt)s cannot be merged: only a submitted proposal that is not merged yet, "
                                 "and not a joint proposal itself, can be.", receipt=d["receipt"]),
    "incomplete": lambda d: _("The joint proposal is incomplete: check every field."),
    "not_joint": lambda d: _("This proposal is not a joint proposal."),
    "undone": lambda d: _("The merge of %(receipt)s was already undone.", receipt=d["receipt"]),
}


def message(error: joint.JointError) -> str:
    return ERRORS[error.code](error.details)


def _originals(themed_session: ThemedSession, key: str) -> list[Proposal]:
    ids = joint.parse_cluster_key(key)
    if ids is None:
        abort(404)
    try:
        return joint.load_originals(themed_session, ids)
    except joint.JointError:
        abort(404)


@bp.route("/usulan-serupa")
@session_page(*MANAGERS, manage=True)
def similar(themed_session: ThemedSession):
    return render_template("review/similar.html", themed_session=themed_session,
                           clusters=joint.clusters_of(themed_session), joints=joint.joint_proposals(themed_session))


@bp.route("/usulan-serupa/<key>/gabung", methods=["GET", "POST"])
@session_page(*MANAGERS, manage=True)
@rerender_on_csrf_error
def merge(themed_session: ThemedSession, key: str):
    ranks = {item.proposal.id: item.rank for item in build_ranking(themed_session, stability=False).items}
    originals = joint.lead_first(_originals(themed_session, key), ranks)
    # Prefilled on the first visit only: a posted form is read as sent (a field left out is empty).
    defaults = ({"data": {**joint.merge_defaults(originals), "members": [str(p.id) for p in originals]}}
                if request.method == "GET" else {})
    form = MergeForm(themed_session=themed_session, originals=originals, **defaults)
    if form.validate_on_submit():
        chosen = [p for p in originals if str(p.id) in set(form.members.data)]
        try:
            made = joint.merge(themed_session, chosen, form.content(), web_actor())
        except joint.JointError as error:
            db.session.rollback()
            form.form_errors.append(message(error))
        else:
            receipt = made.receipt_number
            db.session.commit()
            flash(_("Joint proposal %(receipt)s made from %(count)d proposals; their owners are told.",
                    receipt=receipt, count=len(chosen)), "success")
            return redirect(url_for("proposals.detail", proposal_id=made.id), code=303)
    elif request.method == "GET" and themed_session.is_published:
        form.form_errors.append(message(joint.JointError("finalised")))
    status = 400 if request.method == "POST" else 200
    return render_template("review/merge.html", themed_session=themed_session, form=form, key=key,
                           originals=originals, ranks=ranks), status


@bp.route("/usulan-serupa/<key>/abaikan", methods=["POST"])
@session_page(*MANAGERS, manage=True)
def dismiss_cluster(themed_session: ThemedSession, key: str):
    session_id = themed_session.id
    originals = _originals(themed_session, key)
    try:
        joint.dismiss(themed_session, originals, web_actor())
    except joint.JointError as error:
        db.session.rollback()
        flash(message(error), "danger")
    else:
        db.session.commit()
        flash(_("Dismissed: these proposals are not suggested together again."), "success")
    return redirect(url_for("review.similar", session_id=session_id), code=303)


@bp.route("/usulan-gabungan/<int:proposal_id>/batalkan", methods=["POST"])
@session_page(*MANAGERS, manage=True)
def undo_merge(themed_session: ThemedSession, proposal_id: int):
    session_id = themed_session.id
    made = db.session.get(Proposal, proposal_id)
    if made is None or made.session_id != session_id:
        abort(404)
    receipt = made.receipt_number
    try:
        originals = joint.undo_merge(made, web_actor())
    except joint.JointError as error:
        db.session.rollback()
        flash(message(error), "danger")
    else:
        db.session.commit()
        flash(_("The merge of %(receipt)s is undone: %(count)d proposals are ranked on their own again.",
                receipt=receipt, count=len(originals)), "success")
    return redirect(url_for("review.similar", session_id=session_id), code=303)
