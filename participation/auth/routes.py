"""Sign in, sign out, register, and the account pages."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from participation.auth import services
from participation.auth.forms import BusinessProfileForm, ChangePasswordForm, LoginForm, RegisterForm
from participation.extensions import db
from participation.i18n import SESSION_LOCALE
from participation.models import Business, Role
from participation.security import rerender_on_csrf_error, role_required, start_session, web_actor

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def home_for(user) -> str:
    """Where a user lands after signing in."""
    if user.role is Role.ADMIN:
        return url_for("admin.users")
    return url_for("public.index")


def begin_session(user) -> None:
    """Replace whatever session existed with a fresh one for `user`, keeping the language."""
    locale = session.get(SESSION_LOCALE)
    session.clear()
    login_user(user)
    start_session(user)
    if locale:
        session[SESSION_LOCALE] = locale


@bp.route("/masuk", methods=["GET", "POST"])
@rerender_on_csrf_error
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
    status = 200
    if form.validate_on_submit():
        result = services.sign_in(form.email.data, form.password.data, web_actor())
        db.session.commit()
        if result.user is not None:
            user = result.user
            begin_session(user)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(safe_next(form.next.data) or home_for(user), code=303)
        if result.throttled:
            minutes = max(1, round(result.retry_after.total_seconds() / 60))
            form.form_errors.append(
                _("Too many failed sign-in attempts for this account. Try again in %(n)d minutes.",
                  n=minutes)
            )
            status = 429
        elif result.inactive:
            form.form_errors.append(_("This account has been deactivated. Contact the administrator."))
            status = 403
        else:
            form.form_errors.append(_("The email or password is wrong."))
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/keluar", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        services.sign_out(current_user._get_current_object(), web_actor())
        db.session.commit()
    locale = session.get(SESSION_LOCALE)
    logout_user()
    session.clear()
    if locale:
        session[SESSION_LOCALE] = locale
    flash(_("You have signed out."), "info")
    return redirect(url_for("public.index"), code=303)


@bp.route("/daftar", methods=["GET", "POST"])
@rerender_on_csrf_error
def register():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register_owner(
                web_actor(), email=form.email.data, name=form.name.data, password=form.password.data,
                profile=form.profile_data(),
            )
        except services.EmailTaken:
            form.email.errors.append(
                _("This email is already registered. Sign in, or use another address.")
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
        form.process(data=services.profile_data(business))
    if form.validate_on_submit():
        services.save_business_profile(current_user._get_current_object(), form.profile_data(), web_actor())
        db.session.commit()
        flash(_("Your business profile has been saved."), "success")
        return redirect(url_for("auth.account"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/business.html", form=form), status
