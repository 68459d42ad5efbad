"""Sign in, sign out, register, and the account pages."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from participation.auth import services
from participation.auth.forms import BusinessProfileForm, ChangePasswordForm, LoginForm, RegisterForm
from participation.auth.throttle import check_credentials
from participation.extensions import db
from participation.i18n import SESSION_LOCALE
from participation.models import Business, Role
from participation.security import client_ip, record_audit, rerender_on_csrf_error, role_required, start_session

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
        result = check_credentials(form.email.data, form.password.data, client_ip())
        if result.user is not None:
            user = result.user
            record_audit("login.success", actor=user, obj=user, ip=client_ip())
            db.session.commit()
            begin_session(user)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(safe_next(form.next.data) or home_for(user), code=303)
        # Every failed check is audited, with the account when it exists.
        record_audit("login.failure", ip=client_ip(), object_type="User", object_id=result.user_id,
                     after={"reason": result.failure_reason, "email": result.account_key})
        db.session.commit()
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
        user = current_user._get_current_object()
        user.end_all_sessions()
        record_audit("logout", actor=user, obj=user, ip=client_ip())
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
                email=form.email.data, name=form.name.data, password=form.password.data,
                profile=form.profile_data(),
            )
        except services.EmailTaken:
            form.email.errors.append(
                _("This email is already registered. Sign in, or use another address.")
            )
        else:
            record_audit("user.register", actor=user, obj=user, ip=client_ip(),
                         after={"role": user.role.value, "business_id": user.business.id})
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
            services.change_password(user, form.current_password.data, form.password.data)
        except services.WeakPassword as error:
            form.password.errors.extend(error.problems)
        except services.AccountError:
            form.current_password.errors.append(_("The current password is wrong."))
        else:
            record_audit("user.password_changed", actor=user, obj=user, ip=client_ip())
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
        form.process(data=_profile_form_data(business))
    if form.validate_on_submit():
        if business is None:
            business = Business(owner_name=current_user.name, user=current_user)
            db.session.add(business)
        before = _profile_form_data(business) if business.id else None
        services.apply_business_profile(business, form.profile_data())
        db.session.flush()
        record_audit("business.updated", actor=current_user, obj=business, ip=client_ip(),
                     before=_auditable(before), after=_auditable(_profile_form_data(business)))
        db.session.commit()
        flash(_("Your business profile has been saved."), "success")
        return redirect(url_for("auth.account"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/business.html", form=form), status


def _profile_form_data(business: Business) -> dict:
    return {
        "business_name": business.name,
        "nib": business.nib,
        "kbli_codes": ", ".join(business.kbli_list),
        "legal_form": business.legal_form.value if business.legal_form else "",
        "scale": business.scale.value if business.scale else "",
        "capital": business.capital,
        "annual_turnover": business.annual_turnover,
        "workforce_men": business.workforce_men,
        "workforce_women": business.workforce_women,
        "address": business.address,
        "kelurahan": business.kelurahan,
        "kecamatan": business.kecamatan,
        "phone": business.phone,
        "cert_halal": business.cert_halal,
        "cert_pirt": business.cert_pirt,
        "cert_sni": business.cert_sni,
    }


def _auditable(data: dict | None) -> dict | None:
    return None if data is None else {key: value for key, value in data.items() if value not in (None, "")}
