"""Sign in, sign out, register, and the account pages."""
from __future__ import annotations

import time

from flask import (Blueprint, abort, current_app, flash, make_response, redirect, render_template, request,
                   session, url_for)
from flask_babel import get_locale, gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from participation import limits
from participation.auth import identity, services
from participation.auth.passwords import HashingBusy
from participation.auth.forms import (
    BusinessProfileForm,
    ChangePasswordForm,
    KeepSeparateForm,
    LoginForm,
    RegisterForm,
)
from participation.errors import handle_rate_limited, retry_after_header, wait_text
from participation.extensions import db
from participation.i18n import clear_session_keeping_language
from participation.models import Business, IdentityChange, Proposal, Role, SeparateRegistration
from participation.security import STAFF, rerender_on_csrf_error, role_required, safe_next, start_session, web_actor

bp = Blueprint("auth", __name__)
# When this browser opened the registration form (seconds since the epoch), for the minimum fill time.
REGISTER_OPENED_AT = "_register_opened_at"


def home_for(user) -> str:
    """Where a user lands after signing in."""
    if user.role is Role.ADMIN:
        return url_for("admin.users")
    return url_for("public.index")


def begin_session(user) -> None:
    """Replace whatever session existed with a fresh one for `user`, keeping the language."""
    clear_session_keeping_language()
    login_user(user)
    start_session(user)


@bp.route("/masuk", methods=["GET", "POST"])
@rerender_on_csrf_error
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    from participation.auth import two_factor, two_factor_routes  # they import this module

    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
    status = 200
    if form.validate_on_submit():
        result = services.sign_in(form.email.data, form.password.data, web_actor())
        db.session.commit()
        if result.user is not None:
            user = result.user
            if two_factor.required_for(user):  # staff: the password was only the first step
                return redirect(two_factor_routes.begin_pending(user, form.next.data), code=303)
            begin_session(user)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(safe_next(form.next.data) or home_for(user), code=303)
        if result.throttled or result.busy:
            form.form_errors.append(refusal_text(result))
            return refused(render_template("auth/login.html", form=form), result)
        if result.inactive:
            form.form_errors.append(_("This account has been deactivated. Contact the administrator."))
            status = 403
        else:
            form.form_errors.append(_("The email or password is wrong."))
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


def refusal_text(result) -> str:
    """Why the throttle did not check a password, and when to try again."""
    if result.busy:
        return _("Many sign-ins are being checked at this moment. Wait a few seconds and try again.")
    if result.throttled_by == "account":
        minutes = max(1, round(result.retry_after.total_seconds() / 60))
        return _("Too many failed sign-in attempts for this account. Try again in %(n)d minutes.", n=minutes)
    if result.throttled_by == "network":
        reason = _("Too many failed sign-in attempts from your network.")
    else:
        reason = _("This account has had many failed sign-in attempts, so it is checked only now and then.")
    return f"{reason} {wait_text(result.retry_after)}"


def refused(page: str, result):
    """The page of a password check the throttle refused: 429 (or 503 when busy) with Retry-After."""
    if result.busy:
        response = make_response(page, 503)
        response.headers["Retry-After"] = str(HashingBusy.retry_after)
    else:
        response = make_response(page, 429)
        response.headers["Retry-After"] = retry_after_header(result.retry_after)
    return response


@bp.route("/keluar", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        services.sign_out(current_user._get_current_object(), web_actor())
        db.session.commit()
    logout_user()
    clear_session_keeping_language()
    flash(_("You have signed out."), "info")
    return redirect(url_for("public.index"), code=303)


def looks_automated(form: RegisterForm) -> bool:
    """A filled-in honeypot, or a form sent sooner after it was opened than a person could fill it."""
    if form.website.data:
        return True
    minimum = current_app.config["REGISTRATION_MIN_FILL_TIME"].total_seconds()
    if not minimum:
        return False
    opened = session.get(REGISTER_OPENED_AT)
    if not isinstance(opened, (int, float)):
        session[REGISTER_OPENED_AT] = time.time()  # the next try is timed from now
        return True
    return time.time() - opened < minimum


@bp.route("/daftar", methods=["GET", "POST"])
@rerender_on_csrf_error
def register():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    actor = web_actor()
    if request.method == "GET":
        wait = services.registration_retry_after(actor)
        if wait is not None:
            return handle_rate_limited(limits.RateLimited(limits.REGISTRATIONS, wait))
        session[REGISTER_OPENED_AT] = time.time()
    form = RegisterForm()
    valid = form.validate_on_submit()
    if valid and looks_automated(form):
        form.form_errors.append(_("The form could not be accepted yet. Check your entries and send it again."))
    elif valid:
        try:
            user = services.register_owner(
                actor, email=form.email.data, name=form.name.data, password=form.password.data,
                profile=form.profile_data(), locale=str(get_locale()),
            )
        except limits.RateLimited as error:
            db.session.rollback()
            form.form_errors.append(f"{error.limit.message} {wait_text(error.retry_after)}")
            response = make_response(render_template("auth/register.html", form=form), 429)
            response.headers["Retry-After"] = retry_after_header(error.retry_after)
            return response
        except services.EmailTaken:
            # The same words whoever holds the address (an owner, staff, a deactivated account):
            # the page must not confirm that a staff address exists or whose it is.
            form.email.errors.append(
                _("An account cannot be created with this email address. If you already have an "
                  "account, sign in; otherwise use another address.")
            )
        else:
            db.session.commit()
            begin_session(user)
            flash(_("Your account has been created. Welcome, %(name)s.", name=user.name), "success")
            return redirect(url_for("auth.account"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/akun")
@login_required
def account():
    form = ChangePasswordForm()
    return render_template("auth/account.html", form=form, business=current_user.business)


@bp.route("/akun/kata-sandi", methods=["POST"])
@login_required
@rerender_on_csrf_error
def change_password():
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    form.policy_role = user.role
    if form.validate_on_submit() and form.check_new_password(user.email, user.name):
        try:
            services.change_password(user, form.current_password.data, form.password.data, web_actor())
        except services.WeakPassword as error:
            form.password.errors.extend(error.problems)
        except services.PasswordCheckRefused as error:
            form.current_password.errors.append(refusal_text(error.result))
            return refused(render_template("auth/account.html", form=form, business=user.business),
                           error.result)
        except services.AccountError:
            form.current_password.errors.append(_("The current password is wrong."))
        else:
            db.session.commit()
            begin_session(user)
            flash(_("Your password has been changed. Other devices have been signed out."), "success")
            return redirect(url_for("auth.account"), code=303)
    return render_template("auth/account.html", form=form, business=user.business), 400


@bp.route("/akun/usaha", methods=["GET", "POST"])
@role_required(Role.PROPONENT)
@rerender_on_csrf_error
def edit_business():
    business: Business | None = current_user.business
    form = BusinessProfileForm()
    if request.method == "GET" and business is not None:
        data = services.profile_data(business)
        if (pending := business.pending_identity_change) is not None:
            data.update(nib=pending.nib, business_name=pending.name)  # what the owner asked for
        form.process(data=data)
        form.prefill_place(business.kelurahan, business.kecamatan, business.kelurahan_code)
    if form.validate_on_submit():
        business = services.save_business_profile(current_user._get_current_object(), form.profile_data(),
                                                  web_actor())
        db.session.commit()
        if business.pending_identity_change is not None:
            flash(_("Your business profile has been saved. The new NIB or business name waits for review by "
                    "the session's staff; until then the profile keeps the current one."), "warning")
        else:
            flash(_("Your business profile has been saved."), "success")
        return redirect(url_for("auth.account"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/business.html", form=form, business=business), status


@bp.route("/perubahan-usaha")
@role_required(*STAFF)
def identity_changes(keep_form: KeepSeparateForm | None = None, keep_review_id: int | None = None):
    """Owners' changes of NIB or business name, and businesses registered at the door beside an
    account's, waiting for the staff of their sessions."""
    user = current_user._get_current_object()
    separate = identity.reviewable_separate_registrations(user)
    keep_forms = {review.id: keep_form if review.id == keep_review_id else _keep_form(review.id, formdata=None)
                  for review in separate}
    proposals = _proposals_of_all({business_id for review in separate
                                   for business_id in (review.business_id, review.account_business_id)})
    return render_template("auth/identity_changes.html", changes=identity.reviewable_changes(user),
                           separate=separate, keep_forms=keep_forms,
                           proposals_of=lambda business: proposals.get(business.id, []) if business else []
                           ), 200 if keep_form is None else 400


def _proposals_of_all(business_ids: set[int]) -> dict[int, list[Proposal]]:
    """The proposals of several businesses in one query, by business, for the review cards."""
    grouped: dict[int, list[Proposal]] = {}
    for proposal in db.session.scalars(select(Proposal).where(Proposal.business_id.in_(business_ids))
                                       .order_by(Proposal.id)):
        grouped.setdefault(proposal.business_id, []).append(proposal)
    return grouped


def _keep_form(review_id: int, **kwargs) -> KeepSeparateForm:
    """One form per review on the page: its field's id (what the label and the error summary
    point at) is the review's own; its name is the same on every form."""
    form = KeepSeparateForm(**kwargs)
    form.note.id = form.note.label.field_id = f"alasan-terpisah-{review_id}"
    return form


def _proposals_of(business: Business | None) -> list[Proposal]:
    """A business's proposals, for the reviewer to compare both sides."""
    return _proposals_of_all({business.id}).get(business.id, []) if business is not None else []


def _separate_registration(review_id: int) -> SeparateRegistration:
    review = db.session.get(SeparateRegistration, review_id, with_for_update=True)
    if review is None or not review.can_review(current_user):
        abort(404)
    return review


def _refused_review(error: identity.SeparateRegistrationError):
    db.session.rollback()
    if error.code == "frozen":
        flash(_("These businesses cannot be merged: the minutes of %(sessions)s are final and list the business "
                "registered at the door. Keep them separate.", sessions=", ".join(error.sessions)), "danger")
    elif error.code == "decided":
        flash(_("This registration has already been reviewed."), "info")
    else:
        flash(_("One of the two businesses has changed since (merged, erased or its account removed); "
                "nothing was changed."), "warning")
    return redirect(url_for("auth.identity_changes"), code=303)


@bp.route("/perubahan-usaha/terpisah/<int:review_id>/gabungkan", methods=["GET", "POST"])
@role_required(*STAFF)
def merge_separate_registration(review_id: int):
    """Ask first, then merge the door business into the account's business."""
    review = _separate_registration(review_id)
    if not review.is_pending or review.business is None or review.account_business is None:
        return _refused_review(identity.SeparateRegistrationError("decided" if not review.is_pending else "gone"))
    if request.method == "POST":
        try:
            account = identity.merge_separate_registration(review, web_actor())
        except identity.SeparateRegistrationError as error:
            return _refused_review(error)
        db.session.commit()
        flash(_("The business registered at the door is now part of %(business)s, the account of %(owner)s.",
                business=account.name, owner=account.user.name), "success")
        return redirect(url_for("auth.identity_changes"), code=303)
    return render_template("auth/merge_separate.html", review=review, proposals_of=_proposals_of)


@bp.route("/perubahan-usaha/terpisah/<int:review_id>/pisahkan", methods=["POST"])
@role_required(*STAFF)
@rerender_on_csrf_error
def keep_separate(review_id: int):
    review = _separate_registration(review_id)
    form = _keep_form(review.id)
    if not form.validate_on_submit():
        return identity_changes(keep_form=form, keep_review_id=review.id)
    try:
        identity.keep_separate(review, form.note.data, web_actor())
    except identity.SeparateRegistrationError as error:
        return _refused_review(error)
    db.session.commit()
    flash(_("%(business)s stays a separate business.", business=review.business.name), "success")
    return redirect(url_for("auth.identity_changes"), code=303)


@bp.route("/perubahan-usaha/<int:change_id>", methods=["POST"])
@role_required(*STAFF)
def decide_identity_change(change_id: int):
    change = db.session.get(IdentityChange, change_id, with_for_update=True)
    if change is None or not change.can_review(current_user):
        abort(404)
    decision = request.form.get("keputusan")
    if decision not in {"setujui", "tolak"}:
        abort(400)
    try:
        identity.decide_identity_change(change, decision == "setujui", web_actor())
    except identity.IdentityChangeError:
        db.session.rollback()
        flash(_("This change has already been decided."), "info")
    else:
        db.session.commit()
        if decision == "setujui":
            flash(_("The change of %(business)s has been approved.", business=change.business.name), "success")
        else:
            flash(_("The change of %(business)s has been rejected.", business=change.business.name), "info")
    return redirect(url_for("auth.identity_changes"), code=303)
