"""The privacy notice, the personal-data download and account deletion (DESIGN §8)."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from participation.auth.routes import refusal_text, refused
from participation.auth.throttle import check_password
from participation.extensions import db
from participation.i18n import clear_session_keeping_language
from participation.privacy import export, services
from participation.privacy.forms import DeleteAccountForm
from participation.security import rerender_on_csrf_error, web_actor

bp = Blueprint("privacy", __name__)


@bp.route("/privasi")
def notice():
    """What is collected, why, for how long, and the rights under UU 27/2022."""
    return render_template("privacy/notice.html",
                           retention_days=services.ip_retention().days)


@bp.route("/akun/data.zip")
@login_required
def download():
    """Everything held about the signed-in user: data.json, a README and their attachments."""
    output = export.build_zip(current_user._get_current_object())
    return send_file(output, mimetype="application/zip", as_attachment=True, download_name="data.zip")


@bp.route("/akun/hapus", methods=["GET", "POST"])
@login_required
@rerender_on_csrf_error
def delete_account():
    """Explain what deleting the account does; a business owner confirms with their password."""
    user = current_user._get_current_object()
    form = DeleteAccountForm()
    if request.method == "GET":
        return _page(form)
    if user.role.is_staff:
        abort(403)  # an administrator deactivates staff accounts; the page says so
    if not form.validate_on_submit():
        return _page(form, 400)
    actor = web_actor()
    result = check_password(user, form.password.data, actor.ip)  # throttled like signing in; commits
    if result.throttled or result.busy:
        form.password.errors.append(refusal_text(result))
        return refused(render_template("privacy/delete.html", form=form), result)
    if result.user is None:
        form.password.errors.append(_("The password is wrong."))
        return _page(form, 400)
    try:
        services.erase_account(result.user, actor)
    except services.ErasureRefused:
        db.session.rollback()
        abort(403)
    db.session.commit()
    logout_user()
    clear_session_keeping_language()
    flash(_("Your account has been deleted and your personal data erased."), "success")
    return redirect(url_for("public.index"), code=303)


def _page(form: DeleteAccountForm, status: int = 200):
    return render_template("privacy/delete.html", form=form), status
