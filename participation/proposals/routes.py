"""Business owners write, submit, edit and withdraw proposals; staff read them."""
from __future__ import annotations

import uuid

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from participation import storage
from participation.extensions import db
from participation.models import (
    Outcome,
    Proposal,
    ProposalStatus,
    Role,
    SessionStatus,
    ThemedSession,
)
from participation.proposals import attachments, receipt, services
from participation.proposals.forms import ProposalForm, field_labels
from participation.proposals.messages import (
    attachment_text,
    draft_limit_text,
    error_text,
    mark_missing,
)
from participation.security import rerender_on_csrf_error, role_required, web_actor

bp = Blueprint("proposals", __name__, url_prefix="/usulan")


def refuse(form: ProposalForm, error: services.ProposalError, stored: dict | None) -> None:
    """Undo a refused save: roll back (the uploaded file goes with it), explain on the form."""
    db.session.rollback()
    if error.code == "incomplete":
        mark_missing(form, error.details["fields"])
    form.form_errors.append(error_text(error))


def located(business) -> tuple[str, ...]:
    """The location fields a proposal left empty takes from its business (see services._fill_location)."""
    return tuple(name for name in ("kelurahan", "kecamatan") if getattr(business, name, None))


def load_proposal(proposal_id: int) -> Proposal:
    """The proposal if the current user may see it; 404 otherwise (never 403)."""
    proposal = db.get_or_404(Proposal, proposal_id)
    if not proposal.can_view(current_user):
        abort(404)
    return proposal


def load_own_proposal(proposal_id: int) -> Proposal:
    proposal = load_proposal(proposal_id)
    if not proposal.is_owned_by(current_user):
        abort(404)
    return proposal


@bp.route("/")
@role_required(Role.PROPONENT)
def mine():
    business = current_user.business
    proposals = services.proposals_of(business) if business else []
    open_sessions = [s for s in db.session.scalars(
        select(ThemedSession).where(ThemedSession.status == SessionStatus.OPEN)
        .order_by(ThemedSession.submission_closes_at)
    ) if s.can_take_part(current_user)]
    # Said before writing: how much of each session's limit the business has used.
    quotas = {s.id: services.quota_of(s, business) for s in open_sessions} if business else {}
    return render_template("proposals/mine.html", proposals=proposals, open_sessions=open_sessions,
                           business=business, quotas=quotas)


def _store_attachment(form: ProposalForm) -> dict | None:
    """Check an uploaded attachment (saved with the proposal), or put the reason it was refused on the field."""
    upload = form.attachment.data
    if not upload or not getattr(upload, "filename", None):
        return None
    try:
        return attachments.store(upload)
    except attachments.AttachmentError as error:
        form.attachment.errors.append(attachment_text(error))
        return None


@bp.route("/baru/<int:session_id>", methods=["GET", "POST"])
@role_required(Role.PROPONENT)
@rerender_on_csrf_error
def new(session_id: int):
    themed_session = db.get_or_404(ThemedSession, session_id)
    if not themed_session.can_take_part(current_user):
        abort(404)
    business = current_user.business
    if business is None:
        flash(_("Fill in your business profile before writing a proposal."), "warning")
        return redirect(url_for("auth.edit_business"))
    if not themed_session.accepts_submissions:
        flash(_("The submission window of this session is closed."), "warning")
        return redirect(url_for("proposals.mine"))
    form = ProposalForm(themed_session=themed_session)
    if request.method == "GET":
        form.idempotency_key.data = uuid.uuid4().hex
        form.prefill_place(business.kelurahan, business.kecamatan, business.kelurahan_code)
    if form.validate_on_submit():
        key = form.idempotency_key.data or None
        earlier = services.find_by_idempotency_key(key)
        if earlier is not None:  # a double click or a replayed POST: show what the first one made
            if earlier.business_id != business.id:
                abort(400)
            return redirect(url_for("proposals.detail", proposal_id=earlier.id), code=303)
        stored = _store_attachment(form)
        if not form.attachment.errors:
            submit = request.form.get("action") == "submit"
            try:
                proposal = services.create_proposal(themed_session, business, form.proposal_data(),
                                                    web_actor(), submit=submit, idempotency_key=key,
                                                    attachment=stored)
                db.session.commit()
            except services.ProposalError as error:
                refuse(form, error, stored)
            except IntegrityError:
                db.session.rollback()
                earlier = services.find_by_idempotency_key(key)
                if earlier is None or earlier.business_id != business.id:
                    raise
                return redirect(url_for("proposals.detail", proposal_id=earlier.id), code=303)
            else:
                _flash_saved(proposal)
                return redirect(url_for("proposals.detail", proposal_id=proposal.id), code=303)
    elif request.method == "POST" and request.form.get("action") == "submit":
        form.mark_unfilled(skip=located(business))
    status = 400 if request.method == "POST" else 200
    # Said before anything is typed: a new draft would be refused (submitting at once is not).
    draft_notice = (None if services.may_add_draft(themed_session, business)
                    else draft_limit_text(services.draft_limit()))
    return render_template("proposals/form.html", form=form, themed_session=themed_session,
                           proposal=None, draft_notice=draft_notice,
                           quota=services.quota_of(themed_session, business)), status


def _flash_saved(proposal: Proposal) -> None:
    if proposal.status is ProposalStatus.SUBMITTED:
        flash(_("Your proposal has been submitted. Receipt number: %(number)s.",
                number=proposal.receipt_number), "success")
    else:
        flash(_("Your draft has been saved. Submit it before the window closes."), "success")


@bp.route("/<int:proposal_id>")
@login_required
def detail(proposal_id: int):
    proposal = load_proposal(proposal_id)
    missing = (services.missing_for_submission(proposal)
               if proposal.status is ProposalStatus.DRAFT and proposal.is_owned_by(current_user) else [])
    from participation.followup.services import follow_up_of

    follow_up = follow_up_of(proposal) if proposal.themed_session.is_published else None
    return render_template("proposals/detail.html", proposal=proposal, missing=field_labels(missing),
                           final=final_result(proposal), conflict=conflict_notices(proposal), follow_up=follow_up)


def conflict_notices(proposal: Proposal) -> dict | None:
    """For the session's staff: their conflict with the proposal's business, or a suggestion of one."""
    from participation.models import ConflictKind
    from participation.review.conflicts import left_out_ratings, staff_view

    if not (current_user.role.is_staff and proposal.themed_session.can_facilitate(current_user)):
        return None
    left_out = left_out_ratings(proposal.themed_session).get(proposal.id, 0) if proposal.receipt_number else 0
    return {"view": staff_view(current_user, proposal.business), "kinds": ConflictKind, "left_out": left_out}


def final_result(proposal: Proposal) -> dict | None:
    """The proposal's line in its session's official ranking once final: rank, score, breakdown, decision.

    The snapshot keeps plain codes; they become members, formatted values and the
    why-not-selected sentence here, so that the page only prints them.
    """
    from participation.i18n import criterion_value
    from participation.review.ranking import Selection, why_not_selected_in
    from participation.review.services import official_ranking

    if not proposal.themed_session.is_published:
        return None  # before finalisation an owner sees no score: the ranking may still change
    official = official_ranking(proposal.themed_session)
    line = official.line_of(proposal.receipt_number) if official.is_final else None
    if line is None:
        return None
    snapshot = official.snapshot
    contributions = snapshot.payload["contributions"].get(proposal.receipt_number, {})
    criteria = [{"name": criterion["name"], "weight": criterion["weight"],
                 "value": criterion_value(criterion["source"], line["values"].get(criterion["key"])),
                 "contribution": contributions.get(criterion["key"], 0)}
                for criterion in official.payload["criteria"]]
    return {"line": line, "criteria": criteria, "version": snapshot.version,
            "selection": Selection.of_flag(line["selected"]),
            "not_selected": why_not_selected_in(official.payload, line),
            "outcome": Outcome.of(line["decision"]),
            "standing": snapshot.standing_of(proposal.receipt_number),
            "ceiling": official.payload["session"]["budget_ceiling"],
            "excluded": snapshot.payload["excluded"].get(str(proposal.id))}


@bp.route("/<int:proposal_id>/ubah", methods=["GET", "POST"])
@role_required(Role.PROPONENT)
@rerender_on_csrf_error
def edit(proposal_id: int):
    proposal = load_own_proposal(proposal_id)
    if not proposal.can_edit(current_user):
        flash(error_text(services.ProposalError(proposal.owner_change_refusal())), "warning")
        return redirect(url_for("proposals.detail", proposal_id=proposal.id))
    form = ProposalForm(obj=proposal, themed_session=proposal.themed_session)
    if request.method == "GET":
        form.prefill_place(proposal.kelurahan, proposal.kecamatan, proposal.kelurahan_code)
    if form.validate_on_submit():
        stored = _store_attachment(form)
        if stored is None and form.remove_attachment.data and proposal.attachment_id is not None:
            stored = attachments.removed()
        if not form.attachment.errors:
            submit = request.form.get("action") == "submit" and proposal.status is ProposalStatus.DRAFT
            try:
                services.edit_proposal(proposal, form.proposal_data(), web_actor(), submit=submit,
                                       attachment=stored)
                db.session.commit()
            except services.ProposalError as error:
                refuse(form, error, stored)
            else:
                if submit:
                    _flash_saved(proposal)
                else:
                    flash(_("Your changes have been saved."), "success")
                return redirect(url_for("proposals.detail", proposal_id=proposal.id), code=303)
    elif request.method == "POST" and (request.form.get("action") == "submit" or not proposal.is_draft):
        form.mark_unfilled(skip=located(proposal.business))  # a submitted proposal stays complete
    status = 400 if request.method == "POST" else 200
    return render_template("proposals/form.html", form=form, themed_session=proposal.themed_session,
                           proposal=proposal, quota=services.quota_of(proposal.themed_session, proposal.business)), status


@bp.route("/<int:proposal_id>/kirim", methods=["POST"])
@role_required(Role.PROPONENT)
def submit(proposal_id: int):
    proposal = load_own_proposal(proposal_id)
    try:
        services.submit_proposal(proposal, web_actor())
    except services.ProposalError as error:
        db.session.rollback()
        flash(error_text(error), "danger")
        if error.code == "incomplete":
            return redirect(url_for("proposals.edit", proposal_id=proposal_id), code=303)
    else:
        db.session.commit()
        _flash_saved(proposal)
    return redirect(url_for("proposals.detail", proposal_id=proposal_id), code=303)


@bp.route("/<int:proposal_id>/kirim-ulang", methods=["POST"])
@role_required(Role.PROPONENT)
def resubmit(proposal_id: int):
    proposal = load_own_proposal(proposal_id)
    try:
        services.resubmit_proposal(proposal, web_actor())
    except services.ProposalError as error:
        db.session.rollback()
        flash(error_text(error), "danger")
    else:
        db.session.commit()
        flash(_("Proposal %(number)s has been submitted again with the same receipt number.",
                number=proposal.receipt_number), "success")
    return redirect(url_for("proposals.detail", proposal_id=proposal_id), code=303)


@bp.route("/<int:proposal_id>/tarik", methods=["GET", "POST"])
@role_required(Role.PROPONENT)
def withdraw(proposal_id: int):
    """GET asks first (what withdrawing means, the proposal named); POST withdraws."""
    proposal = load_own_proposal(proposal_id)
    if request.method == "GET":
        if not proposal.can_withdraw(current_user):
            refusal = ("not_submitted" if proposal.status is not ProposalStatus.SUBMITTED
                       else proposal.owner_change_refusal())
            flash(error_text(services.ProposalError(refusal)), "warning")
            return redirect(url_for("proposals.detail", proposal_id=proposal_id), code=303)
        return render_template("proposals/confirm.html", proposal=proposal, withdrawing=True)
    try:
        services.withdraw_proposal(proposal, web_actor())
    except services.ProposalError as error:
        flash(error_text(error), "danger")
    else:
        db.session.commit()
        flash(_("Proposal %(number)s has been withdrawn.", number=proposal.receipt_number), "success")
    return redirect(url_for("proposals.detail", proposal_id=proposal_id), code=303)


@bp.route("/<int:proposal_id>/hapus", methods=["GET", "POST"])
@role_required(Role.PROPONENT)
def delete_draft(proposal_id: int):
    """GET asks first (the draft named, and that it is gone for good); POST deletes."""
    proposal = load_own_proposal(proposal_id)
    if request.method == "GET":
        if not proposal.can_delete(current_user):
            flash(error_text(services.ProposalError("not_draft")), "warning")
            return redirect(url_for("proposals.detail", proposal_id=proposal_id), code=303)
        return render_template("proposals/confirm.html", proposal=proposal, withdrawing=False)
    try:
        services.delete_draft(proposal, web_actor())
    except services.ProposalError as error:
        flash(error_text(error), "danger")
        return redirect(url_for("proposals.detail", proposal_id=proposal_id), code=303)
    db.session.commit()
    flash(_("The draft has been deleted."), "success")
    return redirect(url_for("proposals.mine"), code=303)


def load_receipt(proposal_id: int) -> Proposal:
    """The proposal whose receipt the current user may print: its owner's or its session staff's; 404 otherwise."""
    proposal = load_proposal(proposal_id)
    if not proposal.can_print_receipt(current_user):
        abort(404)
    return proposal


@bp.route("/<int:proposal_id>/tanda-terima")
@login_required
def receipt_page(proposal_id: int):
    return receipt.html(load_receipt(proposal_id))


@bp.route("/<int:proposal_id>/tanda-terima.pdf")
@login_required
def receipt_pdf(proposal_id: int):
    proposal = load_receipt(proposal_id)
    name = receipt.filename(proposal)
    return Response(receipt.pdf(proposal), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/<int:proposal_id>/lampiran")
def attachment(proposal_id: int):
    # Anyone who may not download it, signed in or not, is told it does not exist.
    proposal = load_proposal(proposal_id)
    if not proposal.can_download_attachment(current_user):
        abort(404)
    return storage.download(proposal.attachment_file, proposal.attachment_name)
