"""The second step of a staff sign-in, enrollment, recovery codes and the admin's reset.

Between the password and the code the session holds only a pending marker (who, under which
session epoch, since when, where to go next), never a Flask-Login sign-in: every page that
needs a signed-in user stays refused until the code is accepted. The marker lasts
TWO_FACTOR_PENDING_LIFETIME. During enrollment the new secret waits in the marker, encrypted,
so that opening the page writes nothing.
"""
from __future__ import annotations

import time

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from participation.auth import two_factor
from participation.auth.forms import ChangePasswordForm
from participation.auth.routes import begin_session, home_for
from participation.errors import retry_after_header, wait_text
from participation.extensions import db
from participation.forms import BaseForm
from participation.i18n import clear_session_keeping_language
from participation.models import Role, StaffTotp, User
from participation.security import STAFF, rerender_on_csrf_error, role_required, safe_next, web_actor

bp = Blueprint("two_factor", __name__)
SESSION_PENDING = "_two_factor_pending"


class CodeForm(BaseForm):
    """One code: six digits from the authenticator app (or, where offered, a recovery code)."""

    code = StringField(
        _l("Code"),
        validators=[InputRequired(_l("Enter the code.")), Length(max=32, message=_l("The code is too long."))],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autocapitalize": "off",
                   "spellcheck": "false"},
    )


def sign_in_code_form() -> CodeForm:
    form = CodeForm()
    form.code.description = _("The 6-digit code from your authenticator app, or one of your recovery codes.")
    form.code.render_kw = {**form.code.render_kw, "inputmode": "text"}
    return form


# --- The pending marker -----------------------------------------------------------------------

def begin_pending(user: User, next_url: str | None) -> str:
    """Replace the session with a pending second step for `user`; the URL of that step."""
    clear_session_keeping_language()
    session[SESSION_PENDING] = {"user": user.id, "epoch": user.session_epoch, "at": int(time.time()),
                                "next": safe_next(next_url)}
    return url_for("two_factor.verify" if two_factor.is_enrolled(user) else "two_factor.enroll")


def pending_user() -> User | None:
    """The staff user whose password was accepted in this session within the pending lifetime."""
    pending = session.get(SESSION_PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("user"), int):
        return None
    lifetime = current_app.config["TWO_FACTOR_PENDING_LIFETIME"].total_seconds()
    if not isinstance(pending.get("at"), int) or time.time() - pending["at"] > lifetime:
        return None
    user = db.session.get(User, pending["user"])
    if user is None or not user.active or user.session_epoch != pending.get("epoch") \
            or not two_factor.required_for(user):
        return None
    return user


def finish_pending(user: User) -> str:
    """Sign `user` in for real; where to go now."""
    next_url = safe_next(session.get(SESSION_PENDING, {}).get("next"))
    begin_session(user)  # clears the marker with the rest of the old session
    return next_url or home_for(user)


def back_to_login():
    """No (or an expired) pending step: sign in again."""
    if session.pop(SESSION_PENDING, None) is not None:
        flash(_("The sign-in took too long. Sign in again."), "warning")
    return redirect(url_for("auth.login"))


def refusal(form: CodeForm, result: two_factor.CodeResult) -> None:
    """Put why the code was refused on the form."""
    if result.throttled:
        message = _("Too many wrong codes.")  # outside the f-string, where pybabel finds it
        form.form_errors.append(f"{message} {wait_text(result.retry_after)}")
    elif result.reason == "replayed":
        form.code.errors.append(_("This code has already been used. Wait for the next code from the app."))
    else:
        form.code.errors.append(_("The code is wrong. Check the time on your phone and try the newest code."))


def answer(page: str, form: CodeForm, result: two_factor.CodeResult | None = None):
    """A form page refused: 429 with Retry-After when throttled, 401 for a wrong code, 400 otherwise."""
    if result is not None and result.throttled:
        response = make_response(page, 429)
        response.headers["Retry-After"] = retry_after_header(result.retry_after)
        return response
    return make_response(page, 401 if result is not None else 400)


# --- Signing in -------------------------------------------------------------------------------

@bp.route("/masuk/verifikasi", methods=["GET", "POST"])
@rerender_on_csrf_error
def verify():
    """The second step of a staff sign-in: the code from the app or a recovery code."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    user = pending_user()
    if user is None:
        return back_to_login()
    if not two_factor.is_enrolled(user):
        return redirect(url_for("two_factor.enroll"))
    form = sign_in_code_form()
    if form.validate_on_submit():
        result = two_factor.complete_sign_in(user, form.code.data, web_actor())
        db.session.commit()
        if result.accepted:
            target = finish_pending(user)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            if result.factor == "recovery_code":
                left = two_factor.recovery_codes_left(user)
                flash(ngettext("You signed in with a recovery code; %(num)d is left. Make new ones on your account page.",
                               "You signed in with a recovery code; %(num)d are left. Make new ones on your account page.",
                               left), "warning")
            return redirect(target, code=303)
        refusal(form, result)
        return answer(render_template("auth/two_factor_verify.html", form=form), form, result)
    if form.is_submitted():
        return answer(render_template("auth/two_factor_verify.html", form=form), form)
    return render_template("auth/two_factor_verify.html", form=form)


@bp.route("/masuk/aktifkan-verifikasi", methods=["GET", "POST"])
@rerender_on_csrf_error
def enroll():
    """First sign-in of a staff account: scan the QR code, type a code back, keep the recovery codes."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    user = pending_user()
    if user is None:
        return back_to_login()
    if two_factor.is_enrolled(user):
        return redirect(url_for("two_factor.verify"))
    pending = session[SESSION_PENDING]
    secret = two_factor.decrypt_secret(pending.get("secret") or "")
    if secret is None:
        secret = two_factor.new_secret()
        session[SESSION_PENDING] = {**pending, "secret": two_factor.encrypt_secret(secret)}
    form = CodeForm()
    form.code.description = _("The 6-digit code the app shows now.")
    result = None
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrollment(user, secret, form.code.data, web_actor())
        except two_factor.CodeRefused as error:
            db.session.commit()  # the failure counts
            result = error.result
            refusal(form, result)
        else:
            db.session.commit()
            target = finish_pending(user)
            flash(_("Two-step verification is on. Welcome, %(name)s.", name=user.name), "success")
            # Shown in this answer only: the codes are not kept anywhere in plain text.
            return render_template("auth/two_factor_recovery_codes.html", codes=codes, target=target)
    uri = two_factor.provisioning_uri(user, secret)
    page = render_template("auth/two_factor_enroll.html", form=form, secret=two_factor.grouped(secret),
                           qr=two_factor.qr_svg(uri, _("QR code for your authenticator app")))
    if form.is_submitted():
        return answer(page, form, result)
    return page


# --- The account page and the admin's reset -------------------------------------------------------

@bp.app_context_processor
def two_factor_helpers():
    def two_factor_account(user):
        """What the account page shows of `user`'s second factor."""
        return {"enrolled": two_factor.is_enrolled(user), "left": two_factor.recovery_codes_left(user)}

    def two_factor_enrolled(user_ids):
        """Which of `user_ids` have a second factor (the admins' list of users)."""
        if not user_ids:
            return set()
        return set(db.session.scalars(db.select(StaffTotp.user_id).where(StaffTotp.user_id.in_(list(user_ids)))))

    return {"two_factor_account": two_factor_account, "two_factor_enrolled": two_factor_enrolled,
            "new_code_form": CodeForm}


@bp.route("/akun/kode-pemulihan", methods=["POST"])
@role_required(*STAFF)
@rerender_on_csrf_error
def regenerate():
    """New recovery codes for the signed-in staff user, who types a current code from the app."""
    user = current_user._get_current_object()
    form = CodeForm()
    result = None
    if form.validate_on_submit():
        try:
            codes = two_factor.regenerate_recovery_codes(user, form.code.data, web_actor())
        except two_factor.CodeRefused as error:
            db.session.commit()  # the failure counts
            result = error.result
            refusal(form, result)
        except two_factor.TwoFactorError:
            abort(404)  # cannot happen through the page: a signed-in staff user has enrolled
        else:
            db.session.commit()
            flash(_("New recovery codes have been made; the old ones no longer work."), "success")
            return render_template("auth/two_factor_recovery_codes.html", codes=codes,
                                   target=url_for("auth.account"))
    page = render_template("auth/account.html", form=ChangePasswordForm(formdata=None), business=user.business,
                           two_factor_form=form)
    return answer(page, form, result)


@bp.route("/admin/pengguna/<int:user_id>/verifikasi-dua-langkah", methods=["POST"])
@role_required(Role.ADMIN)
def reset(user_id: int):
    """An admin removes another account's second factor; it enrolls again at its next sign-in."""
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id or not two_factor.required_for(user):
        abort(403)
    two_factor.reset_two_factor(user, web_actor())
    db.session.commit()
    flash(_("Two-step verification of %(name)s has been reset: a new app is set up at the next sign-in.",
            name=user.name), "success")
    return redirect(url_for("admin.users"), code=303)
