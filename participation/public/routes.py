"""Public pages: the home page and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user

from participation.extensions import db
from participation.i18n import SESSION_LOCALE

bp = Blueprint("public", __name__)


@bp.route("/")
def index():
    # Themed sessions arrive with the intake issue; until then the list is honestly empty.
    open_sessions: list = []
    return render_template("public/index.html", open_sessions=open_sessions)


@bp.route("/bahasa", methods=["POST"])
def set_language():
    locale = request.form.get("locale", "")
    if locale not in current_app.config["LANGUAGES"]:
        abort(400)
    session[SESSION_LOCALE] = locale
    if current_user.is_authenticated:
        current_user.locale = locale
        db.session.commit()
    return redirect(_same_site_referrer() or url_for("public.index"), code=303)


def _same_site_referrer() -> str | None:
    """The page the switch was pressed on, when it is on this site."""
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
