"""Account recovery pages: "Lupa kata sandi?", the reset link, and confirming an email address.

A reset request answers the same whoever holds the address (see auth.recovery.request_reset):
the same redirect to the same page, the same 429 when the address or the network asked too often.
"""
from __future__ import annotations

import time

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from participation import limits
from participation.auth import recovery
from participation.auth.passwords import MIN_LENGTH
from participation.auth.recovery_forms import ConfirmForm, ForgotPasswordForm, ResetPasswordForm
from participation.errors import handle_rate_limited, retry_after_header, wait_text
from participation.extensions import db
from participation.i18n import clear_session_keeping_language
from participation.models import Role
from participation.security import rerender_on_csrf_error, role_required, web_actor

bp = Blueprint("recovery", __name__)


def _invalid_link(purpose: str):
    db.session.rollback()
    return render_template("auth/link_invalid.html", purpose=purpose), 410


def _not_before(started: float) -> None:
    """Wait until PASSWORD_RESET_MIN_ANSWER_TIME has passed since `started` (time.monotonic())."""
    remaining = current_app.config["PASSWORD_RESET_MIN_ANSWER_TIME"].total_seconds() - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)


@bp.route("/lupa-kata-sandi", methods=["GET", "POST"])
@rerender_on_csrf_error
def forgot():
    if current_user.is_authenticated:
        return redirect(url_for("auth.account"))
    started = time.monotonic()
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            recovery.request_reset(form.email.data, web_actor())
        except limits.RateLimited as error:
            db.session.rollback()
            form.form_errors.append(f"{error.limit.message} {wait_text(error.retry_after)}")
            response = make_response(render_template("auth/forgot_password.html", form=form), 429)
            response.headers["Retry-After"] = retry_after_header(error.retry_after)
            _not_before(started)
            return response
        db.session.commit()  # the transaction is over before the wait: nothing is held meanwhile
        _not_before(started)
        return redirect(url_for("recovery.sent"), code=303)
    return render_template("auth/forgot_password.html", form=form), 400 if form.is_submitted() else 200


@bp.route("/lupa-kata-sandi/terkirim")
def sent():
    return render_template("auth/reset_sent.html",
                           minutes=int(recovery.lifetime(recovery.RESET).total_seconds() // 60))


# Not re-rendered on a stale CSRF token: passwords are never sent back, and the reload page
# (400) explains; reloading the link shows the form again while the link lives.
@bp.route("/kata-sandi-baru/<token>", methods=["GET", "POST"])
def reset(token: str):
    try:
        user = recovery.check_token(recovery.RESET, token)
    except recovery.InvalidLink:
        return _invalid_link(recovery.RESET)
    form = ResetPasswordForm()
    form.policy_role = user.role
    if form.validate_on_submit() and form.check_new_password(user.email, user.name):
        try:
            recovery.reset_password(token, form.password.data, web_actor())
        except recovery.InvalidLink:
            return _invalid_link(recovery.RESET)
        except recovery.WeakPassword as error:
            form.password.errors.extend(error.problems)
        else:
            db.session.commit()
            if current_user.is_authenticated:
                logout_user()
            clear_session_keeping_language()
            flash(_("Your password has been changed and every session of the account has ended. "
                    "Sign in with the new password."), "success")
            return redirect(url_for("auth.login"), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("auth/reset_password.html", form=form, account=user,
                           min_length=MIN_LENGTH[user.role.is_staff]), status


@bp.route("/konfirmasi-email/<token>", methods=["GET", "POST"])
def verify(token: str):
    """The link in the confirmation mail: a page with a button (opening a link changes nothing,
    so a mail scanner that follows it confirms nothing)."""
    try:
        user = recovery.check_token(recovery.VERIFY, token)
    except recovery.InvalidLink:
        return _invalid_link(recovery.VERIFY)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            user, _news = recovery.verify_email(token, web_actor())
        except recovery.InvalidLink:
            return _invalid_link(recovery.VERIFY)
        db.session.commit()
        flash(_("Your email address %(email)s is confirmed. You can now submit proposals.", email=user.email),
              "success")
        signed_in_as_owner = current_user.is_authenticated and current_user.id == user.id
        return redirect(url_for("proposals.mine" if signed_in_as_owner else "auth.login"), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("auth/verify_email.html", form=form, account=user), status


@bp.route("/akun/konfirmasi-email/kirim-ulang", methods=["POST"])
@role_required(Role.PROPONENT)
def resend_verification():
    user = current_user._get_current_object()
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("The request could not be accepted. Reload the page and try again."), "warning")
        return redirect(url_for("auth.account"), code=303)
    try:
        recovery.resend_verification(user, web_actor())
    except recovery.AlreadyVerified:
        flash(_("Your email address is already confirmed."), "info")
        return redirect(url_for("auth.account"), code=303)
    except limits.RateLimited as error:
        return handle_rate_limited(error)
    db.session.commit()
    flash(_("We have sent the confirmation link to %(email)s again. It may take a few minutes to arrive.",
            email=user.email), "success")
    return redirect(url_for("auth.account"), code=303)
