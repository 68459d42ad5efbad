"""Public pages: the home page and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user

from sqlalchemy import select

from participation.auth.services import set_locale
from participation.extensions import db
from participation.models import SessionStatus, ThemedSession
from participation.followup.progress import CHART_BASE, CHART_HEIGHT, CHART_WIDTH, chart_bars, session_progress
from participation.public.results import QUERY_LENGTH, result_cards
from participation.review.services import official_ranking
from participation.i18n import SESSION_LOCALE
from participation.security import safe_next, web_actor

bp = Blueprint("public", __name__)
CHART_SIZE = {"width": CHART_WIDTH, "height": CHART_HEIGHT, "base": CHART_BASE}

@bp.route("/")
def index():
    open_sessions = db.session.scalars(
        select(ThemedSession).where(ThemedSession.status == SessionStatus.OPEN)
        .order_by(ThemedSession.submission_closes_at, ThemedSession.id)).all()
    finalized = db.session.scalars(
        select(ThemedSession).where(ThemedSession.is_published)
        .order_by(ThemedSession.updated_at.desc()).limit(5)).all()
    return render_template("public/index.html", open_sessions=open_sessions, finalized=finalized)


@bp.route("/hasil")
def results():
    themed_sessions = db.session.scalars(
        select(ThemedSession).where(ThemedSession.is_published)
        .order_by(ThemedSession.fiscal_year.desc(), ThemedSession.id.desc())).all()
    return render_template("public/results.html", themed_sessions=themed_sessions)


@bp.route("/hasil/<int:session_id>")
def result(session_id: int):
    """The final ranking of a session: no NIB, phone or attachment, only what the public may see.

    `q` keeps the cards whose receipt number, business or kecamatan contains it; `didanai=1` keeps
    the funded ones. Both are plain GET parameters, so a search works without script and can be shared.
    """
    themed_session = db.get_or_404(ThemedSession, session_id)
    if not themed_session.is_published:
        abort(404)
    official = official_ranking(themed_session)
    if not official.is_final:
        abort(404)
    query = request.args.get("q", "").strip()[:QUERY_LENGTH]
    funded_only = request.args.get("didanai") == "1"
    cards = result_cards(official.snapshot, query, funded_only)
    progress = session_progress(themed_session)
    return render_template("public/result.html", themed_session=themed_session, snapshot=official.snapshot,
                           export=official.payload, cards=cards, query=query, funded_only=funded_only,
                           progress=progress, chart=chart_bars(progress.summary), chart_size=CHART_SIZE)


@bp.route("/bahasa", methods=["POST"])
def set_language():
    locale = request.form.get("locale", "")
    if locale not in current_app.config["LANGUAGES"]:
        abort(400)
    session[SESSION_LOCALE] = locale
    if current_user.is_authenticated:
        set_locale(current_user._get_current_object(), locale, web_actor())
        db.session.commit()
    return redirect(_same_site_referrer() or url_for("public.index"), code=303)


def _same_site_referrer() -> str | None:
    """The page the switch was pressed on, when it is a path on this site (the login `next` rule).

    A Referer of this host is cut to its path and query, which must then pass `safe_next`: a
    path such as "//evil.example" would otherwise redirect to another host.
    """
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.host:
            return None
        referrer = parts.path + (f"?{parts.query}" if parts.query else "")
    return safe_next(referrer)
